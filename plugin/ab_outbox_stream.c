/* ab_outbox_stream.c - pipeline=on: a file is sent while the client is
 * still writing it.
 *
 * In the default (spool) mode CLOSE does all the Broker's work: the
 * transfer is initialized with the file's MD5, which the Broker then
 * checks, duplicates are refused before anything is sent, and a client
 * that gives up mid-file leaves nothing behind at the Broker. The cost is
 * that the whole upload to the Broker waits for CLOSE.
 *
 * With pipeline=on, once tus-above bytes have arrived from the start of
 * the file without a gap, the transfer is initialized (without checksum:
 * it is not known yet) and the bytes go out by TUS partial uploads between
 * the client's WRITEs, from the same spool file; CLOSE sends only the last
 * part and concatenates. What that gives up, and why it is not the
 * default:
 *  - the Broker cannot check the MD5 (the gateway still computes it, logs
 *    it and keeps it in the receipt; TLS protects the bytes on the way);
 *  - a duplicate (duplicates=refuse) or a name already sent
 *    (resend=refuse) by another session meanwhile is found only at CLOSE;
 *  - a client that disconnects or fails mid-file leaves an initialized
 *    transfer that is never published (the Broker has no cancel; it marks
 *    it Failed after 24 h without activity), its partial uploads deleted.
 * A WRITE below what was already sent (a client rewriting bytes) ends the
 * pipelining for that file: the first transfer is abandoned and CLOSE
 * sends the file the ordinary way. Temporary names and sidecars are never
 * pipelined: they are not sent at CLOSE. The MD5 of a pipelined file is
 * computed in a helper thread (ab_spool_hash_behind), so that the
 * session's thread, which now also sends, only receives and writes.
 */
#include "ab_outbox_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_send.h"
#include "ab_spool.h"

/* Moving the PATCHes on costs a poll of their sockets; every 256 KiB keeps
 * loopback send buffers (MBs) full without a call per 32 KiB WRITE. */
#define PUMP_EVERY ((long long) 256 * 1024)

struct ob_stream {
  ob_transfer t;
  ab_tus_stream *tus;     /* NULL until the transfer is initialized */
  char id[AB_ID_LEN];
  long long pumped;       /* ready bytes at the last pump */
  int off;                /* not pipelined any more: sent at CLOSE the ordinary way */
};

ob_stream *ob_stream_open(ab_file *f) {
  const ab_upload_cfg *uc = &f->vfs->cfg->upload;
  const ab_outbox_cfg *oc = &f->mount->cfg->outbox;
  size_t base_len;
  if (!uc->pipeline || ab_is_temp_name(oc, f->name) ||
      ab_is_sidecar_name(oc, f->name, &base_len)) {
    return NULL;
  }
  ob_stream *s = calloc(1, sizeof(ob_stream));
  if (s != NULL) {
    /* The session's thread will send the bytes too: the MD5 moves to a
     * helper thread (if none starts, the WRITEs hash as usual). */
    ab_spool_hash_behind(f->spool);
  }
  return s;
}

static void log_stop(ab_file *f, const char *why, const ab_error *err) {
  char shown[600];
  ab_outbox_display(f->mount, f->dir, f->name, shown, sizeof(shown));
  const char *id = f->stream->id;
  ab_vfs_logf(f->vfs, AB_LOG_NOTICE, "%s: %s%s%s; %s%s%sthe file is sent at CLOSE as usual",
              shown, why, err ? ": " : "", err ? err->message : "", id[0] ? "transfer " : "", id,
              id[0] ? " stays unpublished and " : "");
}

/* Initializes the transfer and opens its TUS stream. */
static int start(ab_file *f, ab_error *err) {
  ob_stream *s = f->stream;
  ab_mount *m = f->mount;
  char party[16] = "";
  if (f->dir[0] != '\0' && ab_recipient_dir(&m->cfg->outbox, f->dir, party, err) < 0) {
    return -1;
  }
  if (ob_transfer_prepare(f->vfs, m, f->dir, party, f->name, &s->t, err) < 0) {
    return -1;
  }
  ab_send_result res;
  if (ab_send_initialize(&m->client->broker, &f->vfs->cfg->upload, &s->t.init, &res, err) < 0) {
    return -1;
  }
  snprintf(s->id, sizeof(s->id), "%s", res.id);
  /* The sidecar's properties went with initialize; its entry may move. */
  s->t.init.properties = NULL;
  s->t.init.n_properties = 0;
  s->tus = ab_tus_stream_new(&m->client->broker, s->id, f->fd, &f->vfs->cfg->upload, err);
  return s->tus ? 0 : -1;
}

void ob_stream_wrote(ab_file *f, off_t off, size_t len) {
  ob_stream *s = f->stream;
  (void) len;
  if (s == NULL || s->off) {
    return;
  }
  if (s->tus != NULL && off < ab_tus_stream_sent_upto(s->tus)) {
    s->off = 1;
    log_stop(f, "a write changed bytes already sent", NULL);
    return;
  }
  const ab_upload_cfg *uc = &f->vfs->cfg->upload;
  long long ready = ab_spool_written_prefix(f->spool);
  if (ready - s->pumped < PUMP_EVERY) {
    return;
  }
  ab_error err;
  if (s->tus == NULL) {
    long long threshold = uc->tus_above > uc->chunk ? uc->tus_above : uc->chunk;
    if (ready < threshold) {
      return;
    }
    if (start(f, &err) < 0) {
      s->off = 1;
      log_stop(f, "could not start sending while written", &err);
      return;
    }
  }
  s->pumped = ready;
  /* A failure is kept by the stream and reported by CLOSE. */
  ab_tus_stream_pump(s->tus, ready, &err);
}

static void stream_free(ab_file *f) {
  ob_stream *s = f->stream;
  ob_transfer_clear(&s->t);
  free(s);
  f->stream = NULL;
}

void ob_stream_abandon(ab_file *f) {
  ob_stream *s = f->stream;
  if (s == NULL) {
    return;
  }
  if (s->tus != NULL) {
    ab_tus_stream_abandon(s->tus);
    s->tus = NULL;
    char shown[600];
    ab_outbox_display(f->mount, f->dir, f->name, shown, sizeof(shown));
    ab_vfs_logf(f->vfs, AB_LOG_NOTICE, "%s was not completed: transfer %s, initialized while it "
                "was written, stays unpublished (the Broker expires it)", shown, s->id);
  }
  stream_free(f);
}

int ob_stream_close(ab_file *f, char id[AB_ID_LEN], ab_error *err) {
  ob_stream *s = f->stream;
  if (s == NULL) {
    return 1;
  }
  if (s->tus == NULL || s->off) {
    if (s->tus != NULL) {
      ab_tus_stream_abandon(s->tus);
      s->tus = NULL;
    }
    stream_free(f);
    return 1;
  }
  snprintf(id, AB_ID_LEN, "%s", s->id);
  int rc = ab_outbox_commit_streamed(f->vfs, f->mount, &s->t, s->tus, s->id, f->spool, err);
  if (rc < 0) {
    ab_tus_stream_abandon(s->tus);
  } else {
    ab_tus_stream_free(s->tus);
  }
  s->tus = NULL;
  stream_free(f);
  return rc;
}
