/* ab_error.h - errors as values.
 *
 * Every core function that can fail returns 0 on success or -1 and fills an
 * ab_error supplied by the caller. The error carries what the gateway needs
 * to answer its client (an errno), what a human needs to act (one line of
 * text), and, where the Broker said so, the HTTP status and the Broker's
 * "BRO-000NN" code. Messages never contain tokens, assertions or key material.
 */
#ifndef AB_ERROR_H
#define AB_ERROR_H

#include <stdarg.h>

#define AB_ERROR_MSG_MAX 512

typedef struct ab_error {
  int err_no;                     /* errno for the gateway (EIO, EACCES, ...) */
  int http_status;                /* HTTP status of the failing call, 0 if none */
  char code[24];                  /* "BRO-00006", "MP-200", "invalid_grant" or "" */
  int retry_after_s;              /* Retry-After (seconds) of a 429/503 reply, 0 if none */
  char message[AB_ERROR_MSG_MAX]; /* one human-readable line, no trailing newline */
} ab_error;

/* Resets err to "no error". */
void ab_error_clear(ab_error *err);

/* Sets errno and a printf-style message; clears status and code. Returns -1
 * so callers can write `return ab_error_set(err, EIO, "...")`. err may be NULL. */
int ab_error_set(ab_error *err, int err_no, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* As ab_error_set, also recording the HTTP status and a service error code
 * (code may be NULL or ""). */
int ab_error_set_http(ab_error *err, int err_no, int http_status,
                      const char *code, const char *fmt, ...)
  __attribute__((format(printf, 5, 6)));

/* Prepends "context: " to the message, keeping errno, status and code.
 * Returns -1. */
int ab_error_prefix(ab_error *err, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
