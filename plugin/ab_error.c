/* ab_error.c - errors as values (see ab_error.h). */
#include "ab_error.h"

#include <stdio.h>
#include <string.h>

void ab_error_clear(ab_error *err) {
  if (err != NULL) {
    memset(err, 0, sizeof(*err));
  }
}

/* Keeps a message to one printable line. Messages quote untrusted text (a
 * Broker `detail`, a client's file name): a newline would forge a log line
 * and an escape sequence would drive the terminal of whoever reads the log.
 * Line breaks and tabs become spaces, other control characters '?'. */
static void make_printable(char *s) {
  for (unsigned char *p = (unsigned char *) s; *p != '\0'; p++) {
    if (*p == '\n' || *p == '\r' || *p == '\t') {
      *p = ' ';
    } else if (*p < 0x20 || *p == 0x7f) {
      *p = '?';
    }
  }
}

static void set_message(ab_error *err, const char *fmt, va_list ap) {
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  make_printable(err->message);
}

int ab_error_set(ab_error *err, int err_no, const char *fmt, ...) {
  if (err == NULL) {
    return -1;
  }
  ab_error_clear(err);
  err->err_no = err_no;
  va_list ap;
  va_start(ap, fmt);
  set_message(err, fmt, ap);
  va_end(ap);
  return -1;
}

int ab_error_set_http(ab_error *err, int err_no, int http_status,
                      const char *code, const char *fmt, ...) {
  if (err == NULL) {
    return -1;
  }
  ab_error_clear(err);
  err->err_no = err_no;
  err->http_status = http_status;
  if (code != NULL) {
    snprintf(err->code, sizeof(err->code), "%s", code);
  }
  va_list ap;
  va_start(ap, fmt);
  set_message(err, fmt, ap);
  va_end(ap);
  return -1;
}

int ab_error_prefix(ab_error *err, const char *fmt, ...) {
  if (err == NULL) {
    return -1;
  }
  char prefix[AB_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  char joined[2 * AB_ERROR_MSG_MAX + 2];
  snprintf(joined, sizeof(joined), "%s: %s", prefix, err->message);
  size_t n = strnlen(joined, sizeof(err->message) - 1); /* truncate to fit */
  memcpy(err->message, joined, n);
  err->message[n] = '\0';
  make_printable(err->message);
  return -1;
}
