/* ab_tus.h - resumable upload of a spooled file to an initialized Broker
 * transfer (TUS 1.0.0, broker-api.md §4).
 *
 * The file is sent in PATCH requests of at most `chunk` bytes, read from
 * the spool file with pread(), so memory stays flat for any file size.
 * Large files are split into up to `parallel` partial uploads that run
 * side by side over libcurl's multi interface and are then concatenated
 * by the Broker (Upload-Concat: final). A PATCH that fails with a dropped
 * connection, a timeout or a 5xx is resumed from the offset the Broker
 * reports (HEAD), after a backoff with jitter; each success renews the
 * retry budget, so a long upload survives many separate hiccups.
 * Upload-Checksum is never sent (the service rejects it); the whole-file
 * MD5 given at initialize is what the Broker checks.
 */
#ifndef AB_TUS_H
#define AB_TUS_H

#include "ab_broker.h"
#include "ab_config_outbox.h"
#include "ab_error.h"

typedef struct ab_tus_report {
  int parts;            /* partial uploads used (1 = a single upload) */
  int resumes;          /* PATCHes repeated after a failure */
  long long waited_ms;  /* time spent in backoff */
} ab_tus_report;

/* How many partial uploads a file of `size` bytes is split into: one per
 * four chunks at least, at most cfg->parallel. */
int ab_tus_part_count(long long size, const ab_upload_cfg *cfg);

/* Uploads fd[0, size) to transfer `id`. Returns 0 once the Broker holds
 * every byte (the single upload reached its length, or every part did and
 * the final concatenation was accepted); -1 with err otherwise (after
 * ab_retry_give_up for failures worth retrying). report may be NULL. */
int ab_tus_upload(ab_broker *b, const char *id, int fd, long long size,
                  const ab_upload_cfg *cfg, ab_tus_report *report, ab_error *err);

#endif
