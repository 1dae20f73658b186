/* ab_http_internal.h - what other client files (ab_download.c) borrow from
 * ab_http.c. Not part of the public API: the gateway glue never sees it.
 */
#ifndef AB_HTTP_INTERNAL_H
#define AB_HTTP_INTERNAL_H

#include <stddef.h>

#include <curl/curl.h>

#include "ab_error.h"
#include "ab_http.h"

/* Largest buffered response body. */
#define AB_HTTP_MAX_BODY ((size_t)16 * 1024 * 1024)

/* Applies the context's fixed settings (TLS verification, CA blob, timeouts,
 * allowed protocols, shared TLS session/DNS cache, no signals) to an easy
 * handle, e.g. one used with a multi handle. errbuf (CURL_ERROR_SIZE bytes)
 * must outlive the transfer. Returns 0, or -1 with err set. */
int ab_http_configure_easy(const ab_http *h, CURL *c, char *errbuf, ab_error *err);

/* Builds a curl header list from a NULL-terminated "Name: value" array (may
 * be NULL), always adding "Expect:" so libcurl never waits for
 * 100-continue, and "Accept:" (no Accept header at all, instead of
 * libcurl's catch-all) unless the array has one. Returns NULL on OOM. */
struct curl_slist *ab_http_header_list(const char *const *headers);

/* Records one raw response header line into resp (status lines reset the
 * captured headers, so the final response after 1xx/redirects wins). */
void ab_http_capture_header(ab_http_response *resp, const char *line, size_t len);

/* Sets err (EIO) for a libcurl failure on method url, naming the host and
 * the cause; TLS verification failures say so explicitly. err->code is
 * "curl-<CURLcode>" (e.g. "curl-28" for a timeout). Returns -1. */
int ab_http_transport_error(ab_error *err, const char *method, const char *url,
                            CURLcode rc, const char *errbuf);

#endif
