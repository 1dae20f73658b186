/* ab_spool.c - the upload spool with incremental MD5 (see ab_spool.h). */
#include "ab_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* More disjoint written ranges than this means a client writing in a
 * pattern no real client uses; refuse rather than grow without bound. */
#define AB_SPOOL_MAX_RANGES 65536
#define AB_SPOOL_READ_CHUNK ((size_t) 256 * 1024)

typedef struct range {
  long long start, end; /* [start, end) */
} range;

struct ab_spool {
  int fd;
  char *dir_name;
  long long limit;
  char *limit_message;
  long long size;
  range *ranges;        /* written, sorted, disjoint, not adjacent */
  size_t n_ranges, cap_ranges;
  EVP_MD_CTX *md5;
  long long hashed;     /* MD5 covers [0, hashed) */
  int rehash;           /* a write changed hashed bytes: full pass at the end */
  int finished;
  char md5_hex[33];
  long long reread;
  struct hasher *bg;    /* hashing in a helper thread (ab_spool_hash_behind) */
};

/* The helper thread's side. While it runs, hashed, rehash and reread are
 * shared under mu; md5 is the thread's alone. */
struct hasher {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  long long avail;        /* [0, avail) is written without a gap */
  long long reading_upto; /* the thread may have read [0, reading_upto) */
  int stop;
};

ab_spool *ab_spool_new(int dirfd, const char *dir_name, long long limit,
                       const char *limit_message, ab_error *err) {
  ab_spool *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  s->fd = -1;
  s->limit = limit;
  s->dir_name = strdup(dir_name ? dir_name : "");
  s->limit_message = strdup(limit_message ? limit_message : "the file is too large");
  s->md5 = EVP_MD_CTX_new();
  if (s->dir_name == NULL || s->limit_message == NULL || s->md5 == NULL ||
      EVP_DigestInit_ex(s->md5, EVP_md5(), NULL) != 1) {
    ab_spool_free(s);
    ab_error_set(err, ENOMEM, "out of memory (or MD5 unavailable from OpenSSL)");
    return NULL;
  }
  /* O_TMPFILE: the spool file has no name, so nothing is left behind when
   * the session dies, and no other session can see it. */
  s->fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (s->fd < 0) {
    ab_error_set(err, errno == ENOSPC ? ENOSPC : EIO, "cannot create a spool file in %s: %s",
                 s->dir_name, strerror(errno));
    ab_spool_free(s);
    return NULL;
  }
  return s;
}

static void hasher_stop(ab_spool *s);

void ab_spool_free(ab_spool *s) {
  if (s == NULL) {
    return;
  }
  hasher_stop(s);
  if (s->fd >= 0) {
    close(s->fd);
  }
  EVP_MD_CTX_free(s->md5);
  free(s->ranges);
  free(s->dir_name);
  free(s->limit_message);
  free(s);
}

int ab_spool_fd(const ab_spool *s) {
  return s->fd;
}

long long ab_spool_size(const ab_spool *s) {
  return s->size;
}

long long ab_spool_reread_bytes(const ab_spool *s) {
  return s->reread;
}

long long ab_spool_first_gap(const ab_spool *s) {
  if (s->size == 0) {
    return -1;
  }
  if (s->n_ranges == 0 || s->ranges[0].start > 0) {
    return 0;
  }
  return s->ranges[0].end < s->size ? s->ranges[0].end : -1;
}

long long ab_spool_written_prefix(const ab_spool *s) {
  return s->n_ranges > 0 && s->ranges[0].start == 0 ? s->ranges[0].end : 0;
}

/* Records [a, b) as written. */
static int add_range(ab_spool *s, long long a, long long b) {
  size_t lo = 0, hi = s->n_ranges;
  while (lo < hi) { /* first range that ends at or after a */
    size_t mid = (lo + hi) / 2;
    if (s->ranges[mid].end < a) lo = mid + 1; else hi = mid;
  }
  size_t i = lo;
  if (i == s->n_ranges || s->ranges[i].start > b) {
    if (s->n_ranges == AB_SPOOL_MAX_RANGES) {
      return -1;
    }
    if (s->n_ranges == s->cap_ranges) {
      size_t cap = s->cap_ranges ? 2 * s->cap_ranges : 8;
      range *grown = realloc(s->ranges, cap * sizeof(*grown));
      if (grown == NULL) {
        return -1;
      }
      s->ranges = grown;
      s->cap_ranges = cap;
    }
    memmove(&s->ranges[i + 1], &s->ranges[i], (s->n_ranges - i) * sizeof(range));
    s->ranges[i] = (range) { a, b };
    s->n_ranges++;
    return 0;
  }
  /* Overlaps or touches ranges i..j-1: merge them into one. */
  long long start = s->ranges[i].start < a ? s->ranges[i].start : a;
  long long end = b;
  size_t j = i;
  while (j < s->n_ranges && s->ranges[j].start <= b) {
    if (s->ranges[j].end > end) end = s->ranges[j].end;
    j++;
  }
  s->ranges[i] = (range) { start, end };
  memmove(&s->ranges[i + 1], &s->ranges[j], (s->n_ranges - j) * sizeof(range));
  s->n_ranges -= j - i - 1;
  return 0;
}

/* Hashes [s->hashed, upto) by reading it back from the spool. */
static int hash_from_disk(ab_spool *s, long long upto, ab_error *err) {
  if (s->hashed >= upto) {
    return 0;
  }
  unsigned char *buf = malloc(AB_SPOOL_READ_CHUNK);
  if (buf == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  int rc = 0;
  while (s->hashed < upto) {
    size_t want = upto - s->hashed < (long long) AB_SPOOL_READ_CHUNK
                ? (size_t) (upto - s->hashed) : AB_SPOOL_READ_CHUNK;
    ssize_t n = pread(s->fd, buf, want, (off_t) s->hashed);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = ab_error_set(err, EIO, "cannot read back the spool file in %s: %s", s->dir_name,
                        n < 0 ? strerror(errno) : "shorter than written");
      break;
    }
    EVP_DigestUpdate(s->md5, buf, (size_t) n);
    s->hashed += n;
    s->reread += n;
  }
  free(buf);
  return rc;
}

ssize_t ab_spool_pwrite(ab_spool *s, const void *buf, size_t len, off_t off,
                        ab_error *err) {
  if (off < 0) {
    return ab_error_set(err, EINVAL, "negative write offset");
  }
  long long end = (long long) off + (long long) len;
  if (s->limit > 0 && end > s->limit) {
    return ab_error_set(err, EFBIG, "%s", s->limit_message);
  }
  if (len == 0) {
    return 0;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(s->fd, (const char *) buf + done, len - done, off + (off_t) done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      return ab_error_set(err, e == ENOSPC || e == EDQUOT ? ENOSPC : EIO,
                          "cannot write to the spool in %s: %s", s->dir_name, strerror(e));
    }
    done += (size_t) n;
  }
  if (add_range(s, (long long) off, end) < 0) {
    return ab_error_set(err, ENOMEM, "the upload was written in more than %d separate pieces; "
                        "write it in order", AB_SPOOL_MAX_RANGES);
  }
  if (end > s->size) {
    s->size = end;
  }
  if (s->finished) {
    s->finished = 0;
    s->rehash = 1; /* the digest was finalized: start over at the end */
  }
  if (s->bg != NULL) {
    struct hasher *h = s->bg;
    pthread_mutex_lock(&h->mu);
    if ((long long) off < h->reading_upto) {
      s->rehash = 1; /* the thread may have hashed the old bytes */
    }
    h->avail = ab_spool_written_prefix(s);
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return (ssize_t) len;
  }
  if (s->rehash) {
    return (ssize_t) len;
  }
  if ((long long) off < s->hashed) {
    s->rehash = 1; /* bytes already hashed were overwritten */
  } else if ((long long) off == s->hashed) {
    EVP_DigestUpdate(s->md5, buf, len);
    s->hashed = end;
    /* Earlier out-of-order writes may now continue the prefix. */
    if (s->ranges[0].start == 0 && hash_from_disk(s, s->ranges[0].end, err) < 0) {
      return -1;
    }
  }
  return (ssize_t) len;
}

static void *hasher_main(void *arg) {
  ab_spool *s = arg;
  struct hasher *h = s->bg;
  unsigned char *buf = malloc(AB_SPOOL_READ_CHUNK);
  pthread_mutex_lock(&h->mu);
  while (buf != NULL) {
    while (!h->stop && !s->rehash && s->hashed >= h->avail) {
      pthread_cond_wait(&h->cv, &h->mu);
    }
    if (s->rehash || s->hashed >= h->avail) {
      break; /* stopping, caught up; or a rewrite: the final pass redoes it */
    }
    long long from = s->hashed;
    long long upto = h->avail - from < (long long) AB_SPOOL_READ_CHUNK
                   ? h->avail : from + (long long) AB_SPOOL_READ_CHUNK;
    h->reading_upto = upto;
    pthread_mutex_unlock(&h->mu);
    ssize_t n;
    do {
      n = pread(s->fd, buf, (size_t) (upto - from), (off_t) from);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      EVP_DigestUpdate(s->md5, buf, (size_t) n);
    }
    pthread_mutex_lock(&h->mu);
    if (n <= 0) {
      break; /* ab_spool_md5 reads the rest itself and reports the error */
    }
    s->hashed = from + n;
    s->reread += n;
  }
  pthread_mutex_unlock(&h->mu);
  free(buf);
  return NULL;
}

int ab_spool_hash_behind(ab_spool *s) {
  if (s->bg != NULL || s->rehash || s->finished) {
    return s->bg != NULL ? 0 : -1;
  }
  struct hasher *h = calloc(1, sizeof(*h));
  if (h == NULL) {
    return -1;
  }
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  h->avail = ab_spool_written_prefix(s);
  h->reading_upto = s->hashed;
  s->bg = h;
  /* The gateway's signals (timers, shutdown) stay with its own thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&h->thread, &attr, hasher_main, s);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    s->bg = NULL;
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
    return -1;
  }
  return 0;
}

/* Lets the thread catch up with what is written, and ends it. */
static void hasher_stop(ab_spool *s) {
  struct hasher *h = s->bg;
  if (h == NULL) {
    return;
  }
  pthread_mutex_lock(&h->mu);
  h->stop = 1;
  pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
  pthread_join(h->thread, NULL);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  free(h);
  s->bg = NULL;
}

int ab_spool_md5(ab_spool *s, char md5[33], ab_error *err) {
  hasher_stop(s);
  if (s->finished) {
    memcpy(md5, s->md5_hex, 33);
    return 0;
  }
  long long gap = ab_spool_first_gap(s);
  if (gap >= 0) {
    return ab_error_set(err, ENODATA, "bytes from offset %lld on were never written "
                        "(a resumed or incomplete upload); upload the whole file again", gap);
  }
  if (s->rehash) {
    if (EVP_DigestInit_ex(s->md5, EVP_md5(), NULL) != 1) {
      return ab_error_set(err, EIO, "MD5 computation failed");
    }
    s->hashed = 0;
    s->rehash = 0;
  }
  if (hash_from_disk(s, s->size, err) < 0) {
    return -1;
  }
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(s->md5, d, &n) != 1 || n != 16) {
    return ab_error_set(err, EIO, "MD5 computation failed");
  }
  for (unsigned i = 0; i < 16; i++) {
    snprintf(s->md5_hex + 2 * i, 3, "%02x", d[i]);
  }
  s->finished = 1;
  memcpy(md5, s->md5_hex, 33);
  return 0;
}
