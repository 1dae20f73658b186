/* ab_broker.h - client for Altinn 3 Broker API v1 (see reference/broker-api.md).
 *
 * Every call takes a valid token from ab_auth; on HTTP 401 without a Broker
 * code (token rejected) it drops the token and retries once. Errors carry
 * the HTTP status and the ProblemDetails `code` (BRO-000NN) and `detail`.
 * errno mapping: 401 BRO-00006/403 -> EACCES, 404 -> ENOENT, 400 -> EINVAL
 * (EFBIG for BRO-00016), 409 -> EEXIST, 429/5xx/transport -> EIO.
 */
#ifndef AB_BROKER_H
#define AB_BROKER_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ab_auth.h"
#include "ab_error.h"
#include "ab_http.h"

#define AB_ID_LEN 37 /* GUID text + NUL */

/* Called before every request to the Broker with the endpoint's name
 * (initialize, upload, overview, search, confirmdownload, download): the
 * rate budget. Returns 0 to go ahead (after waiting, if it must), -1 with
 * err to give up. */
typedef int (*ab_broker_pace_fn)(void *ctx, const char *endpoint, ab_error *err);

typedef struct ab_broker {
  const char *base_url; /* platform base, e.g. https://platform.tt02.altinn.no */
  ab_http *http;
  ab_auth *auth;
  ab_broker_pace_fn pace; /* optional */
  void *pace_ctx;
} ab_broker;

typedef struct ab_property {
  const char *key;
  const char *value;
} ab_property;

typedef struct ab_transfer_init {
  const char *file_name;
  const char *resource_id;
  const char *sender;             /* "0192:<org>" */
  const char *const *recipients;  /* "0192:<org>" each */
  size_t n_recipients;
  const char *senders_reference;  /* non-empty, <= 500 chars */
  const ab_property *properties;
  size_t n_properties;
  const char *checksum_md5;       /* 32 lower-case hex chars, or NULL */
} ab_transfer_init;

typedef struct ab_recipient_status {
  char recipient[64];
  char status[32];                /* Initialized, DownloadStarted, DownloadConfirmed */
} ab_recipient_status;

typedef struct ab_transfer {
  char id[AB_ID_LEN];
  char resource_id[256];
  char file_name[256];
  char sender[64];
  char status[32];                /* fileTransferStatus */
  char status_text[256];
  char checksum[33];
  long long size;                 /* fileTransferSize; -1 when absent or not a
                                   * non-negative integer (unknown) */
  time_t created;
  time_t published;               /* 0 if not published */
  ab_recipient_status *recipients;
  size_t n_recipients;
  /* Added by the client implementation: the remaining fields of the
   * overview reply (broker-api.md §3.4). properties is malloc'ed like
   * recipients; ab_transfer_clear frees both. */
  char senders_reference[512];    /* sendersFileTransferReference */
  int use_virus_scan;             /* useVirusScan (0/1) */
  time_t status_changed;          /* fileTransferStatusChanged */
  time_t expires;                 /* expirationTime, 0 if absent */
  struct ab_transfer_property *properties; /* propertyList */
  size_t n_properties;
  /* Added for the inbox: `published` with its fraction, in microseconds
   * since the epoch (0 if not published). Search windows (from/to) need
   * sub-second precision to page without gaps. */
  long long published_us;
} ab_transfer;

/* One propertyList entry of an overview (owned strings, see ab_transfer). */
typedef struct ab_transfer_property {
  char *key;
  char *value;
} ab_transfer_property;

typedef struct ab_search {
  const char *resource_id;        /* required */
  const char *status;             /* optional, e.g. "Published" */
  const char *recipient_status;   /* optional, e.g. "Initialized" */
  const char *role;               /* optional, "Sender"/"Recipient" */
  const char *from_iso;           /* optional ISO-8601 */
  int order_ascending;            /* 0 = default (descending) */
  const char *to_iso;             /* added: optional ISO-8601 (with from: inclusive window) */
} ab_search;

/* Frees the recipients and properties of t and zeroes it. */
void ab_transfer_clear(ab_transfer *t);

/* POST /filetransfer. id_out receives the fileTransferId. */
int ab_broker_initialize(ab_broker *b, const ab_transfer_init *in,
                         char id_out[AB_ID_LEN], ab_error *err);

/* POST /filetransfer/{id}/upload streaming `size` bytes of fd from offset 0,
 * with Content-Length. */
int ab_broker_upload_fd(ab_broker *b, const char *id, int fd, off_t size,
                        ab_error *err);

/* GET /filetransfer/{id}. */
int ab_broker_overview(ab_broker *b, const char *id, ab_transfer *out,
                       ab_error *err);

/* GET /filetransfer?... ids_out becomes a malloc'ed array of n ids
 * (free with free()). */
int ab_broker_search(ab_broker *b, const ab_search *q,
                     char (**ids_out)[AB_ID_LEN], size_t *n_out, ab_error *err);

/* POST /filetransfer/{id}/confirmdownload (any 2xx is success). */
int ab_broker_confirm(ab_broker *b, const char *id, ab_error *err);

/* A streamed download: GET /filetransfer/{id}/download from an offset
 * (Range: bytes=offset- when offset > 0). Bytes are pulled as the reader
 * asks for them, with libcurl's multi interface, so memory stays bounded
 * whatever the file size. */
typedef struct ab_download ab_download;

/* Added detail: a 401 without Broker code drops the token and retries the
 * open once; with offset > 0 the reply must be 206 whose Content-Range
 * starts at offset (a 200 is refused rather than mis-positioned); a 416
 * to that range (offset >= file size) opens an empty stream: reading at or
 * past the end gives 0, like pread. */
int ab_download_open(ab_broker *b, const char *id, off_t offset,
                     ab_download **out, ab_error *err);

/* Reads up to len bytes at the stream's current position. Returns the
 * count, 0 at the end of the body, -1 with err on failure (including a
 * body that ended before Content-Length). */
ssize_t ab_download_read(ab_download *d, void *buf, size_t len, ab_error *err);

/* Current position (offset of the next byte ab_download_read returns). */
off_t ab_download_position(const ab_download *d);

/* Added: size of the whole file as the Broker reported it (Content-Length
 * of a 200, the total of a 206's Content-Range), or -1 if unknown. */
off_t ab_download_total(const ab_download *d);

void ab_download_close(ab_download *d);

#endif
