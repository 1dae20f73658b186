/* ab_broker_wire.h - Broker API v1 wire format: URLs, request JSON and
 * reply parsing. Pure functions (no I/O), shared by ab_broker.c and
 * ab_download.c and tested directly. Replies are untrusted: strings are
 * truncated to the fixed buffers of ab_transfer, wrong types count as
 * absent, and ids must be GUID-shaped before they go into any URL.
 */
#ifndef AB_BROKER_WIRE_H
#define AB_BROKER_WIRE_H

#include <stddef.h>

#include "ab_broker.h"
#include "ab_error.h"

/* 1 when id is a GUID in text form (36 chars, hex digits and hyphens in the
 * 8-4-4-4-12 layout), else 0. Only such ids are put into URL paths. */
int ab_broker_valid_id(const char *id);

/* Percent-encodes everything except RFC 3986 unreserved characters.
 * Returns a malloc'ed string or NULL on OOM. */
char *ab_broker_escape(const char *s);

/* "{base}/broker/api/v1/filetransfer" followed by "/{id}" when id is not
 * NULL and then suffix (e.g. "/download") when not NULL; trailing slashes of
 * base are dropped. Returns a malloc'ed URL, or NULL with err set (EINVAL
 * for an id that is not a GUID, ENOMEM). */
char *ab_broker_url(const char *base, const char *id, const char *suffix,
                    ab_error *err);

/* The search URL for q with every value escaped. NULL with err set when
 * resource_id is missing or on OOM. */
char *ab_broker_search_url(const char *base, const ab_search *q, ab_error *err);

/* The initialize request body as a malloc'ed JSON string (free with free()),
 * or NULL with err set (EINVAL when a required field is missing). */
char *ab_broker_init_json(const ab_transfer_init *in, ab_error *err);

/* Reads the fileTransferId from an initialize/upload reply:
 * {"fileTransferId":"<guid>"} or a bare JSON string (pre-2024 form).
 * Returns 0, or -1 with err set (EIO) when there is no valid id. */
int ab_broker_parse_id(const char *body, size_t len, char id[AB_ID_LEN],
                       ab_error *err);

/* Parses an overview reply into out (which is cleared first; free with
 * ab_transfer_clear). Returns 0, or -1 with err set (EIO) when the reply is
 * not an object with a valid fileTransferId. */
int ab_broker_parse_overview(const char *body, size_t len, ab_transfer *out,
                             ab_error *err);

/* Parses a search reply (JSON array of id strings). Entries that are not
 * GUID strings are skipped. *ids is malloc'ed (NULL when n is 0).
 * Returns 0, or -1 with err set (EIO) when the reply is not an array. */
int ab_broker_parse_search(const char *body, size_t len,
                           char (**ids)[AB_ID_LEN], size_t *n, ab_error *err);

#endif
