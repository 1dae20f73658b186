/* ab_send.h - one complete file becomes one Broker file transfer.
 *
 * initialize, then the bytes: one streamed POST below the TUS threshold,
 * resumable TUS (ab_tus.h) above it. Failures are retried only where that
 * is safe (ab_retry.h), and a transfer is never initialized again while
 * the Broker may have accepted the earlier one: after an ambiguous failure
 * (a dropped connection, a timeout, a 5xx, a 409 on a retry) the transfer's
 * overview decides. Published or UploadProcessing with our size means the
 * bytes did arrive (success); Initialized or UploadStarted means the upload
 * may simply be repeated; only Failed (the Broker threw the transfer away)
 * allows a new transfer. So there is at most one transfer that can be
 * published, whatever happens on the way.
 */
#ifndef AB_SEND_H
#define AB_SEND_H

#include "ab_broker.h"
#include "ab_config_outbox.h"
#include "ab_error.h"
#include "ab_tus.h"

typedef struct ab_send_result {
  char id[AB_ID_LEN];   /* the transfer that holds the file */
  char status[32];      /* its status when last seen, "" if not looked at */
  int via_tus;
  ab_tus_report tus;
  int attempts;         /* requests that failed and were repeated */
  int transfers;        /* transfers initialized (more than 1 only after a Failed one) */
} ab_send_result;

/* Sends size bytes of fd as the transfer described by init (whose
 * checksum_md5 must be the file's MD5). Returns 0 when the Broker has
 * accepted every byte, -1 with err otherwise. err's errno says why:
 * EACCES no access (401 BRO-00006, 403), EFBIG the resource's size limit
 * (400 BRO-00016, 413), EBADMSG checksum mismatch (400 BRO-00009),
 * EAGAIN rate limited beyond the longest wait, ETIMEDOUT the Broker
 * stalled, EHOSTDOWN the Broker cannot be reached, EIO it kept failing
 * (5xx) or another refusal; the message starts with the cause in words. */
int ab_send(ab_broker *b, const ab_upload_cfg *cfg, const ab_transfer_init *init,
            int fd, long long size, ab_send_result *res, ab_error *err);

/* The steps of ab_send for a file sent while it is being written
 * (ab_tus_stream): initialize res->id (res is reset) with the same
 * retries, and later, with the stream's result upload_rc, decide the
 * outcome the way ab_send does after a TUS upload. */
int ab_send_initialize(ab_broker *b, const ab_upload_cfg *cfg, const ab_transfer_init *init,
                       ab_send_result *res, ab_error *err);
int ab_send_tus_outcome(ab_broker *b, const ab_transfer_init *init, long long size,
                        int upload_rc, ab_send_result *res, ab_error *err);

#endif
