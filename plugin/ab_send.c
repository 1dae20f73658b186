/* ab_send.c - initialize + upload with safe retries (see ab_send.h). */
#include "ab_send.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ab_retry.h"

enum look_result { LOOK_UNKNOWN, LOOK_ACCEPTED, LOOK_OTHER_SIZE, LOOK_RETRY_UPLOAD, LOOK_DEAD };

static int status_is(const char *status, const char *const *set) {
  for (size_t i = 0; set[i] != NULL; i++) {
    if (strcmp(status, set[i]) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Reads the transfer's overview to learn what became of an upload whose
 * outcome we did not hear. */
static enum look_result look(ab_broker *b, long long size, ab_send_result *res) {
  static const char *const accepted[] = {
    "UploadProcessing", "Published", "AllConfirmedDownloaded", NULL
  };
  static const char *const open_for_upload[] = { "Initialized", "UploadStarted", NULL };
  ab_transfer t;
  ab_error err;
  if (ab_broker_overview(b, res->id, &t, &err) < 0) {
    return LOOK_UNKNOWN;
  }
  enum look_result r = LOOK_DEAD;
  snprintf(res->status, sizeof(res->status), "%s", t.status);
  if (status_is(t.status, accepted)) {
    r = t.size == size ? LOOK_ACCEPTED : LOOK_OTHER_SIZE;
  } else if (status_is(t.status, open_for_upload)) {
    r = LOOK_RETRY_UPLOAD;
  }
  ab_transfer_clear(&t);
  return r;
}

/* Starts the message with the cause in the words a user looks for. */
static void name_cause(ab_error *err, const ab_transfer_init *init) {
  if (err->err_no == EACCES) {
    ab_error_prefix(err, "no access: %s may not send with resource %s (or the token lacks "
                    "altinn:broker.write)", init->sender, init->resource_id);
  } else if (err->err_no == EFBIG) {
    ab_error_prefix(err, "size limit of resource %s", init->resource_id);
  } else if (strcmp(err->code, "BRO-00009") == 0) {
    err->err_no = EBADMSG;
    ab_error_prefix(err, "checksum mismatch (the Broker received other bytes than were spooled)");
  }
}

/* The upload itself, by size. */
static int upload(ab_broker *b, const ab_upload_cfg *cfg, int fd, long long size,
                  ab_send_result *res, ab_error *err) {
  if (size >= cfg->tus_above) {
    res->via_tus = 1;
    return ab_tus_upload(b, res->id, fd, size, cfg, &res->tus, err);
  }
  return ab_broker_upload_fd(b, res->id, fd, (off_t) size, err);
}

/* Initializes the transfer into res->id, repeating failures while r
 * allows. Safe to repeat: a transfer made by a lost attempt stays
 * Initialized, holds no bytes and is never published. */
static int initialize(ab_broker *b, const ab_transfer_init *init, ab_retry *r,
                      ab_send_result *res, ab_error *err) {
  while (ab_broker_initialize(b, init, res->id, err) < 0) {
    long long wait = ab_retry_next(r, err);
    if (wait < 0) {
      ab_retry_give_up(r, err);
      name_cause(err, init);
      return -1;
    }
    res->attempts++;
    ab_retry_wait(r, wait);
  }
  res->transfers++;
  return 0;
}

int ab_send_initialize(ab_broker *b, const ab_upload_cfg *cfg, const ab_transfer_init *init,
                       ab_send_result *res, ab_error *err) {
  memset(res, 0, sizeof(*res));
  ab_retry r;
  ab_retry_init(&r, cfg);
  return initialize(b, init, &r, res, err);
}

int ab_send_tus_outcome(ab_broker *b, const ab_transfer_init *init, long long size,
                        int upload_rc, ab_send_result *res, ab_error *err) {
  res->via_tus = 1;
  if (upload_rc < 0) {
    /* The TUS client has done its own retries; only its lost last answer
     * is left to rule out. */
    if (look(b, size, res) == LOOK_ACCEPTED) {
      return 0;
    }
    name_cause(err, init);
    return -1;
  }
  /* TUS checks the MD5 after the fact: report a mismatch the Broker
   * already found; otherwise the receipt follows the outcome. */
  if (look(b, size, res) == LOOK_DEAD && strcmp(res->status, "Failed") == 0) {
    return ab_error_set(err, EBADMSG, "checksum mismatch or storage failure: the Broker "
                        "marked transfer %s Failed after the upload", res->id);
  }
  return 0;
}

int ab_send(ab_broker *b, const ab_upload_cfg *cfg, const ab_transfer_init *init,
            int fd, long long size, ab_send_result *res, ab_error *err) {
  memset(res, 0, sizeof(*res));
  ab_retry r;
  ab_retry_init(&r, cfg);
  for (;;) {
    if (res->id[0] == '\0' && initialize(b, init, &r, res, err) < 0) {
      return -1;
    }
    if (upload(b, cfg, fd, size, res, err) == 0) {
      return res->via_tus ? ab_send_tus_outcome(b, init, size, 0, res, err) : 0;
    }
    ab_failure_kind kind = ab_failure_kind_of(err);
    int conflict = err->http_status == 409;
    if (kind == AB_FAILURE_PERMANENT && !conflict) {
      name_cause(err, init);
      return -1;
    }
    if (res->via_tus) {
      return ab_send_tus_outcome(b, init, size, -1, res, err);
    }
    long long wait = conflict ? ab_retry_backoff(&r) : ab_retry_next(&r, err);
    if (wait < 0) {
      ab_retry_give_up(&r, err);
      name_cause(err, init);
      return -1;
    }
    res->attempts++;
    ab_retry_wait(&r, wait);
    switch (look(b, size, res)) {
    case LOOK_ACCEPTED:
      return 0; /* the earlier attempt got through; we only lost its answer */
    case LOOK_OTHER_SIZE:
      return ab_error_set(err, EIO, "transfer %s was accepted by the Broker with another size "
                          "than the %lld bytes sent; not sending it again", res->id, size);
    case LOOK_DEAD:
      res->id[0] = '\0'; /* Failed: nothing of it can be published; start over */
      break;
    case LOOK_RETRY_UPLOAD:
    case LOOK_UNKNOWN:
      break; /* same transfer again: a repeat after acceptance gets 409 */
    }
  }
}
