/* ab_redis.c - a Redis connection with TLS and deadlines (see ab_redis.h). */
#include "ab_redis.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct ab_redis {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
  redisReader *reader;
  int timeout_ms;
  char where[300];   /* "host:port", for messages */
};

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - mono_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    struct pollfd p = { .fd = fd, .events = events };
    int n = poll(&p, 1, (int) left);
    if (n > 0) {
      return 0;
    }
    if (n < 0 && errno != EINTR) {
      return -1;
    }
  }
}

static int tcp_connect(ab_redis *r, const char *host, int port, long long deadline,
                       ab_error *err) {
  char portstr[16];
  snprintf(portstr, sizeof(portstr), "%d", port);
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(host, portstr, &hints, &res);
  if (gai != 0) {
    return ab_error_set(err, EAGAIN, "Redis %s: cannot resolve the host: %s", r->where,
                        gai_strerror(gai));
  }
  int last = ECONNREFUSED;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
      last = errno;
      close(fd);
      continue;
    }
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (wait_fd(fd, POLLOUT, deadline) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
      last = soerr != 0 ? soerr : errno;
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    r->fd = fd;
    freeaddrinfo(res);
    return 0;
  }
  freeaddrinfo(res);
  return ab_error_set(err, EAGAIN, "Redis %s: cannot connect: %s", r->where, strerror(last));
}

static const char *ssl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
  return why != NULL ? why : "TLS failure";
}

/* One SSL I/O step with the deadline: returns the SSL call's result > 0,
 * or -1 (errno set). */
static int ssl_step(ab_redis *r, int rc, long long deadline) {
  int e = SSL_get_error(r->ssl, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    return wait_fd(r->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) < 0 ? -1 : 0;
  }
  errno = e == SSL_ERROR_ZERO_RETURN ? ECONNRESET : EPROTO;
  return -1;
}

static int tls_start(ab_redis *r, const ab_redis_options *o, long long deadline,
                     ab_error *err) {
  r->ctx = SSL_CTX_new(TLS_client_method());
  if (r->ctx == NULL) {
    return ab_error_set(err, ENOMEM, "Redis %s: cannot create a TLS context", r->where);
  }
  SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
  if (o->ca_pem != NULL) {
    BIO *bio = BIO_new_mem_buf(o->ca_pem, (int) o->ca_pem_len);
    STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;
    X509_STORE *store = SSL_CTX_get_cert_store(r->ctx);
    int added = 0;
    for (int i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
      X509_INFO *xi = sk_X509_INFO_value(infos, i);
      if (xi->x509 != NULL && X509_STORE_add_cert(store, xi->x509) == 1) {
        added++;
      }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(bio);
    if (added == 0) {
      return ab_error_set(err, EINVAL, "Redis %s: the CA file holds no certificate", r->where);
    }
  } else {
    SSL_CTX_set_default_verify_paths(r->ctx);
  }
  r->ssl = SSL_new(r->ctx);
  if (r->ssl == NULL || SSL_set_fd(r->ssl, r->fd) != 1) {
    return ab_error_set(err, ENOMEM, "Redis %s: cannot create a TLS session", r->where);
  }
  SSL_set_tlsext_host_name(r->ssl, o->host);
  /* Names the peer must present: a DNS name or an IP address SAN. */
  X509_VERIFY_PARAM *param = SSL_get0_param(r->ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, o->host) != 1) {
    SSL_set1_host(r->ssl, o->host);
  }
  for (;;) {
    int rc = SSL_connect(r->ssl);
    if (rc == 1) {
      return 0;
    }
    if (ssl_step(r, rc, deadline) < 0) {
      long vr = SSL_get_verify_result(r->ssl);
      if (vr != X509_V_OK) {
        ab_error_set(err, EPROTO, "Redis %s: TLS certificate not trusted: %s", r->where,
                     X509_verify_cert_error_string(vr));
      } else {
        ab_error_set(err, errno == ETIMEDOUT ? EAGAIN : EPROTO, "Redis %s: TLS handshake "
                     "failed: %s", r->where, errno == ETIMEDOUT ? "timed out" : ssl_reason());
      }
      ERR_clear_error();
      return -1;
    }
  }
}

static int send_all(ab_redis *r, const char *buf, size_t len, long long deadline) {
  while (len > 0) {
    ssize_t n;
    if (r->ssl != NULL) {
      int rc = SSL_write(r->ssl, buf, (int) len);
      if (rc <= 0) {
        if (ssl_step(r, rc, deadline) < 0) {
          return -1;
        }
        continue;
      }
      n = rc;
    } else {
      n = send(r->fd, buf, len, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          if (wait_fd(r->fd, POLLOUT, deadline) < 0) {
            return -1;
          }
          continue;
        }
        return -1;
      }
    }
    buf += n;
    len -= (size_t) n;
  }
  return 0;
}

/* Reads some bytes into buf: > 0, or -1 (errno set; ECONNRESET at EOF). */
static ssize_t recv_some(ab_redis *r, char *buf, size_t cap, long long deadline) {
  for (;;) {
    if (r->ssl != NULL) {
      int rc = SSL_read(r->ssl, buf, (int) cap);
      if (rc > 0) {
        return rc;
      }
      if (ssl_step(r, rc, deadline) < 0) {
        return -1;
      }
      continue;
    }
    ssize_t n = recv(r->fd, buf, cap, 0);
    if (n > 0) {
      return n;
    }
    if (n == 0) {
      errno = ECONNRESET;
      return -1;
    }
    if (errno != EAGAIN && errno != EINTR) {
      return -1;
    }
    if (wait_fd(r->fd, POLLIN, deadline) < 0) {
      return -1;
    }
  }
}

redisReply *ab_redis_command(ab_redis *r, int argc, const char **argv, ab_error *err) {
  size_t *lens = calloc((size_t) argc, sizeof(size_t));
  if (lens == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  for (int i = 0; i < argc; i++) {
    lens[i] = strlen(argv[i]);
  }
  char *cmd = NULL;
  int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
  free(lens);
  if (len < 0) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  long long deadline = mono_ms() + r->timeout_ms;
  int rc = send_all(r, cmd, (size_t) len, deadline);
  redisFreeCommand(cmd);
  void *reply = NULL;
  while (rc == 0) {
    if (redisReaderGetReply(r->reader, &reply) != REDIS_OK) {
      ab_error_set(err, EAGAIN, "Redis %s: malformed reply", r->where);
      return NULL;
    }
    if (reply != NULL) {
      return reply;
    }
    char buf[16384];
    ssize_t n = recv_some(r, buf, sizeof(buf), deadline);
    if (n < 0 || redisReaderFeed(r->reader, buf, (size_t) n) != REDIS_OK) {
      rc = -1;
    }
  }
  ab_error_set(err, EAGAIN, "Redis %s: %s", r->where,
               errno == ETIMEDOUT ? "no reply in time" : strerror(errno));
  ERR_clear_error();
  return NULL;
}

static int authenticate(ab_redis *r, const ab_redis_options *o, ab_error *err) {
  const char *argv[3] = { "AUTH" };
  int argc = 1;
  if (o->user != NULL) {
    argv[argc++] = o->user;
  }
  argv[argc++] = o->password;
  redisReply *rep = ab_redis_command(r, argc, argv, err);
  if (rep == NULL) {
    return -1;
  }
  int ok = rep->type == REDIS_REPLY_STATUS;
  if (!ok) {
    /* The server's reply names no secret ("WRONGPASS invalid username-password pair"). */
    ab_error_set(err, EACCES, "Redis %s refused AUTH%s%s: %.200s", r->where,
                 o->user ? " as " : "", o->user ? o->user : "",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
  }
  freeReplyObject(rep);
  return ok ? 0 : -1;
}

ab_redis *ab_redis_connect(const ab_redis_options *o, ab_error *err) {
  ab_redis *r = calloc(1, sizeof(*r));
  if (r == NULL || (r->reader = redisReaderCreate()) == NULL) {
    free(r);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  r->fd = -1;
  r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1000;
  snprintf(r->where, sizeof(r->where), "%s:%d", o->host, o->port);
  long long deadline = mono_ms() + r->timeout_ms;
  if (tcp_connect(r, o->host, o->port, deadline, err) < 0 ||
      (o->tls && tls_start(r, o, deadline, err) < 0) ||
      (o->password != NULL && authenticate(r, o, err) < 0)) {
    ab_redis_close(r);
    return NULL;
  }
  return r;
}

void ab_redis_close(ab_redis *r) {
  if (r == NULL) {
    return;
  }
  if (r->ssl != NULL) {
    SSL_free(r->ssl);
  }
  SSL_CTX_free(r->ctx);
  if (r->fd >= 0) {
    close(r->fd);
  }
  if (r->reader != NULL) {
    redisReaderFree(r->reader);
  }
  free(r);
}
