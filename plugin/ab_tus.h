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

/* A file sent while it is still being written (the outbox's pipelined
 * mode): partial uploads are created for whole ranges of fd as they become
 * ready (one chunk each at first, growing), their PATCHes move on between
 * the client's WRITEs without waiting, and the last range is sent and
 * everything concatenated when the file is complete. */
typedef struct ab_tus_stream ab_tus_stream;

ab_tus_stream *ab_tus_stream_new(ab_broker *b, const char *id, int fd,
                                 const ab_upload_cfg *cfg, ab_error *err);

/* Bytes fd[0, ready) are final: creates the parts they complete and lets
 * the running PATCHes send what the sockets take now. Blocks only for the
 * short create and HEAD requests. -1 with err when a part used up its
 * retries: sending then pauses (later calls return the same error and
 * send nothing) until ab_tus_stream_finish, which retries afresh. */
int ab_tus_stream_pump(ab_tus_stream *s, long long ready, ab_error *err);

/* The end of what PATCHes have read from fd: a write below it would change
 * bytes the Broker may already hold. */
long long ab_tus_stream_sent_upto(const ab_tus_stream *s);

/* The file is complete at size bytes: sends the rest (blocking, with the
 * same retries as ab_tus_upload, renewed for parts that gave up while the
 * file was written) and concatenates. The stream stays the
 * caller's to free. */
int ab_tus_stream_finish(ab_tus_stream *s, long long size, ab_tus_report *report,
                         ab_error *err);

/* Terminates the partial uploads at the Broker (best effort) and frees s.
 * The transfer stays initialized, unpublished, until the Broker expires it. */
void ab_tus_stream_abandon(ab_tus_stream *s);
void ab_tus_stream_free(ab_tus_stream *s);

#endif
