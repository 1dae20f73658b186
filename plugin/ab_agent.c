/* ab_agent.c - the agent process (see ab_agent.h): a unix socket, one
 * thread per connection running ab_hub_handle, and a tick thread for the
 * hub's background work. The main thread waits for the end: EOF on the
 * daemon's pipe, or SIGTERM/SIGINT. */
#include "ab_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (64 * 1024 * 1024)
/* A previous agent of the same state directory may still be flushing. */
#define START_WAIT_MS 10000

typedef struct agent agent;

typedef struct conn {
  agent *a;
  int fd;
  ab_hub_peer peer;
  struct conn *next;
} conn;

struct agent {
  const ab_agent_options *o;
  ab_hub *hub;
  pthread_mutex_t mu;       /* conns, n_threads, stopping; and log calls */
  pthread_cond_t idle;
  conn *conns;
  int n_threads;
  int stopping;
  unsigned long next_peer;
};

static int stop_pipe[2] = { -1, -1 };

static void on_signal(int sig) {
  (void) sig;
  int saved = errno;
  if (stop_pipe[1] >= 0) {
    (void) !write(stop_pipe[1], "x", 1);
  }
  errno = saved;
}

/* The hub logs from many threads; the gateway's sink need not cope. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static ab_log_fn log_sink;
static void *log_sink_ctx;

static void agent_log(void *ctx, int level, const char *msg) {
  (void) ctx;
  if (log_sink == NULL) {
    return;
  }
  pthread_mutex_lock(&log_mu);
  log_sink(log_sink_ctx, level, msg);
  pthread_mutex_unlock(&log_mu);
}

static void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int level, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  agent_log(NULL, level, line);
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return -1;
    }
    p += w;
    n -= (size_t) w;
  }
  return 0;
}

/* Serves one connection: a request per line, a reply per line. */
static void serve(conn *c) {
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    char *nl = len > 0 ? memchr(buf, '\n', len) : NULL;
    if (nl == NULL) {
      if (len + 65536 > cap) {
        size_t ncap = cap ? cap * 2 : 131072;
        char *grown = ncap <= MAX_REQUEST ? realloc(buf, ncap) : NULL;
        if (grown == NULL) {
          break;
        }
        buf = grown;
        cap = ncap;
      }
      ssize_t n = recv(c->fd, buf + len, cap - len, 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      len += (size_t) n;
      continue;
    }
    *nl = '\0';
    cJSON *req = cJSON_Parse(buf);
    size_t used = (size_t) (nl - buf) + 1;
    memmove(buf, nl + 1, len - used);
    len -= used;
    cJSON *reply = ab_hub_handle(c->a->hub, &c->peer, req);
    cJSON_Delete(req);
    char *text = reply != NULL ? cJSON_PrintUnformatted(reply) : NULL;
    cJSON_Delete(reply);
    int rc = text != NULL ? send_all(c->fd, text, strlen(text)) : -1;
    if (text != NULL) {
      memset(text, 0, strlen(text)); /* may hold a token */
      free(text);
    }
    if (rc < 0 || send_all(c->fd, "\n", 1) < 0) {
      break;
    }
  }
  free(buf);
}

static void *conn_main(void *arg) {
  conn *c = arg;
  agent *a = c->a;
  serve(c);
  pthread_mutex_lock(&a->mu);
  for (conn **pp = &a->conns; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  }
  close(c->fd);
  free(c);
  if (--a->n_threads == 0) {
    pthread_cond_broadcast(&a->idle);
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

static void *tick_main(void *arg) {
  agent *a = arg;
  for (;;) {
    pthread_mutex_lock(&a->mu);
    int stop = a->stopping;
    pthread_mutex_unlock(&a->mu);
    if (stop) {
      return NULL;
    }
    ab_hub_tick(a->hub);
    struct timespec ts = { 1, 0 };
    nanosleep(&ts, NULL);
  }
}

/* Only root and the daemon's User may talk to the agent. */
static int peer_allowed(agent *a, int fd) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
    return 0;
  }
  if (cred.uid == 0 || cred.uid == a->o->allowed_uid) {
    return 1;
  }
  logf_(AB_LOG_ERROR, "agent: refused a connection from uid %u (pid %ld): only root and uid %u may connect",
        (unsigned) cred.uid, (long) cred.pid, (unsigned) a->o->allowed_uid);
  return 0;
}

static void accept_one(agent *a, int lfd) {
  int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) {
    return;
  }
  if (!peer_allowed(a, fd)) {
    close(fd);
    return;
  }
  conn *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    close(fd);
    return;
  }
  c->a = a;
  c->fd = fd;
  pthread_mutex_lock(&a->mu);
  c->peer.id = ++a->next_peer;
  c->next = a->conns;
  a->conns = c;
  a->n_threads++;
  pthread_mutex_unlock(&a->mu);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 1024 * 1024); /* TLS handshakes run here */
  pthread_t t;
  if (pthread_create(&t, &attr, conn_main, c) != 0) {
    pthread_mutex_lock(&a->mu);
    a->conns = c->next;
    a->n_threads--;
    pthread_mutex_unlock(&a->mu);
    close(fd);
    free(c);
  }
  pthread_attr_destroy(&attr);
}

static ab_hub *open_hub(const ab_agent_options *o, ab_error *err) {
  ab_hub_options ho = { .cfg = o->cfg, .log = agent_log };
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    ab_hub *h = ab_hub_new(&ho, err);
    if (h != NULL || err->err_no != EWOULDBLOCK) {
      return h;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > START_WAIT_MS) {
      return NULL;
    }
    struct timespec ts = { 0, 100 * 1000000L };
    nanosleep(&ts, NULL);
  }
}

static int listen_socket(const ab_config *cfg, char *path, size_t pathsz, ab_error *err) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if ((size_t) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", cfg->state_dir, AB_AGENT_SOCKET)
      >= sizeof(sa.sun_path)) {
    return ab_error_set(err, ENAMETOOLONG, "state directory path too long for a socket: %s", cfg->state_dir);
  }
  snprintf(path, pathsz, "%s", sa.sun_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return ab_error_set(err, errno, "cannot create the agent socket: %s", strerror(errno));
  }
  /* We hold the state directory's lock: a socket file left there belongs
   * to an agent that is gone. */
  unlink(sa.sun_path);
  mode_t old = umask(077);
  int rc = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
  umask(old);
  if (rc < 0 || listen(fd, 256) < 0) {
    int e = errno;
    close(fd);
    return ab_error_set(err, e, "cannot listen on %s: %s", sa.sun_path, strerror(e));
  }
  return fd;
}

int ab_agent_run(const ab_agent_options *o, ab_error *err) {
  log_sink = o->log;
  log_sink_ctx = o->log_ctx;
  agent a = { .o = o };
  pthread_mutex_init(&a.mu, NULL);
  pthread_cond_init(&a.idle, NULL);
  if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    return ab_error_set(err, errno, "pipe: %s", strerror(errno));
  }
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGUSR1, SIG_IGN);
  signal(SIGUSR2, SIG_IGN);

  a.hub = open_hub(o, err);
  if (a.hub == NULL) {
    return ab_error_prefix(err, "agent");
  }
  if (ab_hub_start_background(a.hub, err) < 0) {
    ab_hub_free(a.hub);
    return ab_error_prefix(err, "agent");
  }
  char path[128];
  int lfd = listen_socket(o->cfg, path, sizeof(path), err);
  if (lfd < 0) {
    ab_hub_free(a.hub);
    return -1;
  }
  if (o->ready_fd >= 0) {
    (void) !write(o->ready_fd, "r", 1);
    close(o->ready_fd);
  }
  pthread_t ticker;
  int have_ticker = pthread_create(&ticker, NULL, tick_main, &a) == 0;
  logf_(AB_LOG_NOTICE, "agent started (pid %ld): %s, shared state in the %s store%s%s", (long) getpid(),
        path, ab_hub_store_name(a.hub), o->cfg->redis_host ? " at " : "",
        o->cfg->redis_host ? o->cfg->redis_host : "");

  for (;;) {
    struct pollfd p[3] = {
      { .fd = lfd, .events = POLLIN },
      { .fd = stop_pipe[0], .events = POLLIN },
      { .fd = o->parent_fd, .events = POLLIN },
    };
    int n = poll(p, o->parent_fd >= 0 ? 3 : 2, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 || p[1].revents != 0 || (o->parent_fd >= 0 && p[2].revents != 0)) {
      break; /* signal, or the daemon is gone (EOF/HUP on its pipe) */
    }
    if (p[0].revents & POLLIN) {
      accept_one(&a, lfd);
    }
  }

  close(lfd);
  unlink(path);
  pthread_mutex_lock(&a.mu);
  a.stopping = 1;
  for (conn *c = a.conns; c != NULL; c = c->next) {
    shutdown(c->fd, SHUT_RDWR); /* wakes its thread */
  }
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  while (a.n_threads > 0 && pthread_cond_timedwait(&a.idle, &a.mu, &deadline) == 0) {
  }
  int busy = a.n_threads;
  pthread_mutex_unlock(&a.mu);
  if (have_ticker) {
    pthread_join(ticker, NULL);
  }
  if (busy == 0) {
    ab_hub_free(a.hub); /* flushes the embedded store */
  }
  logf_(AB_LOG_NOTICE, "agent stopped (pid %ld)", (long) getpid());
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  stop_pipe[0] = stop_pipe[1] = -1;
  return 0;
}
