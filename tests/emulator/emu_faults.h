/* emu_faults.h - injected failures (POST /_emulator/faults).
 *
 * A fault matches an endpoint name ("upload", "token", ... or "*") and fires
 * for the next `count` matching requests. Kinds:
 *   status    answer `status` (ProblemDetails on Broker endpoints) without
 *             touching state: the request "never reached the Broker"
 *   latency   only wait latencyMs, then handle normally (also added to the
 *             other kinds when latencyMs is given)
 *   reset     close the connection without an answer, at once or once
 *             afterBytes of the request body (uploads) or response body
 *             (downloads) went through
 *   truncate  downloads: end the response body after afterBytes bytes
 *   stall     pause latencyMs once afterBytes went through (body either way)
 *   bandwidth cap the body rate at bytesPerSecond (uploads and downloads)
 * With "rate" (0 < rate <= 1) a fault hits each matching request with that
 * probability (an error rate) instead of the next ones; count then limits
 * the hits and defaults to unlimited (until {"clear":true}).
 */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef enum {
  EMU_FAULT_NONE = 0,
  EMU_FAULT_STATUS,
  EMU_FAULT_LATENCY,
  EMU_FAULT_RESET,
  EMU_FAULT_TRUNCATE,
  EMU_FAULT_STALL,
  EMU_FAULT_BANDWIDTH,
} emu_fault_kind;

typedef struct emu_fault {
  emu_fault_kind kind;
  char endpoint[32];
  int status;
  int count;                /* uses left; -1 = until cleared */
  double rate;              /* 0 = every matching request, else the chance each one is hit */
  long latency_ms;
  int64_t after_bytes;
  int64_t bytes_per_second;
} emu_fault;

/* Adds one fault object or an array of them, or clears on {"clear":true}.
 * Returns false with a message in err when the request is malformed. */
bool emu_faults_post(const cJSON *j, char *err, size_t errlen);
void emu_faults_clear(void);

/* Takes one use of the first fault matching endpoint; false if none. */
bool emu_faults_take(const char *endpoint, emu_fault *out);

cJSON *emu_faults_json(void);

/* Body pacing for the stream kinds: called with the byte position before and
 * after a chunk; sleeps for stall/bandwidth and returns false when the
 * connection should be dropped (reset) or the body ended (truncate). */
bool emu_fault_pace(const emu_fault *f, int64_t before, int64_t after, int64_t started_ms);

#endif
