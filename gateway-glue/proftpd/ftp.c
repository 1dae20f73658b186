/* ftp.c - what FTP and FTPS sessions need beyond SFTP.
 *
 * ProFTPD serves FTP through the same FSIO handlers as SFTP, but mod_xfer
 * drives them differently: it closes an upload the same way whether the
 * transfer completed or failed (stor_complete and stor_abort both just
 * close), and it answers a failed close with a bare strerror(). SFTP tells
 * the module about abandoned uploads through POST_CMD_ERR before the close
 * (abp_stor_err); for FTP the session's transfer state must be read at
 * close time instead. */
#include "mod_altinn_broker.h"

static int is_ftp_session(void) {
  const char *proto = pr_session_get_protocol(0);
  return proto != NULL && (strcmp(proto, "ftp") == 0 || strcmp(proto, "ftps") == 0);
}

int abp_ftp_upload_failed(long long bytes_written) {
  if (!is_ftp_session()) {
    return 0;
  }
  if (XFER_ABORTED) {
    return 1;   /* the client sent ABOR */
  }
  if (session.d == NULL) {
    return 1;   /* the data connection never opened, or was torn down */
  }
  if (session.d->instrm != NULL && PR_NETIO_ERRNO(session.d->instrm) != 0) {
    return 1;   /* reset or timed out: a clean end of data leaves no errno */
  }
  /* mod_xfer counts what it read from the network before writing it, so
   * a transfer cut short on our side (MaxStoreFileSize, a failed write)
   * read more than it wrote. ASCII mode rewrites line ends, so the counts
   * can only be compared in binary mode. */
  if (!(session.sf_flags & (SF_ASCII | SF_ASCII_OVERRIDE)) &&
      (long long) session.xfer.total_bytes != bytes_written) {
    return 1;
  }
  return 0;
}

void abp_ftp_reply_error(const char *message) {
  if (is_ftp_session()) {
    /* Queued before mod_xfer's own "550 <file>: <strerror>", so the client
     * reads one multi-line 550 reply that starts with the reason. */
    pr_response_add_err(R_550, "%s", message);
  }
}
