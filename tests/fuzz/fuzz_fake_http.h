/* fuzz_fake_http.h - the HTTP layer and the token source replaced at link
 * time, so the fuzz targets can drive the real Broker and Maskinporten
 * clients with any reply (status, headers, body) and no network.
 *
 * The fuzz targets link fuzz_fake_http.c before the core archive; the
 * linker then never pulls ab_http.o or ab_auth.o from it. */
#ifndef FUZZ_FAKE_HTTP_H
#define FUZZ_FAKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ab_error.h"

/* Sets the reply every following request gets. `shape` picks the status
 * (or a transport failure), the Content-Type and Retry-After from a table;
 * body is copied. */
void fuzz_http_set_reply(uint8_t shape_status, uint8_t shape_headers,
                         const uint8_t *body, size_t len);

/* Number of requests made since the last fuzz_http_set_reply. */
int fuzz_http_requests(void);

/* Aborts (a finding) unless err holds a usable error: errno set, a
 * non-empty message of one line without control characters. */
void fuzz_check_error(const ab_error *err);

/* Aborts unless s is NUL-terminated within size bytes. */
void fuzz_check_terminated(const char *s, size_t size);

#endif
