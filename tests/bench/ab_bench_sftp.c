/* ab_bench_sftp.c - the benchmarks' own SFTP client (libssh), so that what
 * is timed is exactly one SFTP operation, not ssh's login or a client's
 * progress meter.
 *
 *   ab-bench-sftp -p PORT -u USER -i KEY [-H HOST] [-c CHUNK] [-w WINDOW]
 *                 [-x HOLD_MS] COMMAND ARGS...
 *
 *   put LOCAL REMOTE    upload LOCAL with sequential CHUNK-byte WRITEs
 *                       (libssh 0.10 has no pipelined write; every client
 *                       of the comparison pays the same round trips)
 *   get REMOTE LOCAL    download with WINDOW pipelined CHUNK-byte READs
 *   ls DIR [N [GAP_MS]] list DIR (OPENDIR, READDIR until EOF, CLOSE) N times
 *                       in this session, GAP_MS apart
 *   wait DIR NAME TIMEOUT_MS [GAP_MS]
 *                       list DIR every GAP_MS until NAME appears
 *
 * Output, one "key=value ..." line per operation:
 *   put: op=put bytes= secs= mbps= close_ms=   (close_ms: from the reply
 *        to the last WRITE to the reply to CLOSE)
 *   get: op=get bytes= secs= mbps=
 *   ls:  op=ls entries= ms=
 *   wait: op=wait found=0|1 at_ms=<CLOCK_REALTIME ms when seen> polls=
 * secs/ms cover OPEN..CLOSE (or OPENDIR..CLOSE), not the login. With -x the
 * session stays open HOLD_MS after the last operation (the benchmark reads
 * the server's session process meanwhile). Exit status: 0 ok, 1 the server
 * refused or the operation failed, 2 usage or local errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#define MAX_WINDOW 64

typedef struct bench_opts {
  const char *host;
  int port;
  const char *user;
  const char *key;
  size_t chunk;
  int window;
  long hold_ms;
} bench_opts;

typedef struct bench_conn {
  ssh_session ssh;
  sftp_session sftp;
} bench_conn;

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static long long real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* Prints what the server said about the last failed SFTP request. */
static int server_error(bench_conn *c, const char *what) {
  fprintf(stderr, "ab-bench-sftp: %s: sftp status %d: %s\n", what,
          sftp_get_error(c->sftp), ssh_get_error(c->ssh));
  return 1;
}

static int connect_session(const bench_opts *o, bench_conn *c) {
  c->ssh = ssh_new();
  if (c->ssh == NULL) {
    return 2;
  }
  int verbosity = SSH_LOG_NOLOG;
  /* Without TCP_NODELAY every synchronous WRITE waits out delayed ACKs
   * (40 ms each on Linux loopback). */
  int nodelay = 1;
  ssh_options_set(c->ssh, SSH_OPTIONS_HOST, o->host);
  ssh_options_set(c->ssh, SSH_OPTIONS_PORT, &o->port);
  ssh_options_set(c->ssh, SSH_OPTIONS_USER, o->user);
  ssh_options_set(c->ssh, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  ssh_options_set(c->ssh, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(c->ssh, SSH_OPTIONS_NODELAY, &nodelay);
  if (ssh_connect(c->ssh) != SSH_OK) {
    fprintf(stderr, "ab-bench-sftp: connect: %s\n", ssh_get_error(c->ssh));
    return 1;
  }
  ssh_key key = NULL;
  if (ssh_pki_import_privkey_file(o->key, NULL, NULL, NULL, &key) != SSH_OK) {
    fprintf(stderr, "ab-bench-sftp: cannot read key %s\n", o->key);
    return 2;
  }
  int rc = ssh_userauth_publickey(c->ssh, NULL, key);
  ssh_key_free(key);
  if (rc != SSH_AUTH_SUCCESS) {
    fprintf(stderr, "ab-bench-sftp: authentication failed: %s\n", ssh_get_error(c->ssh));
    return 1;
  }
  c->sftp = sftp_new(c->ssh);
  if (c->sftp == NULL || sftp_init(c->sftp) != SSH_OK) {
    fprintf(stderr, "ab-bench-sftp: sftp subsystem: %s\n", ssh_get_error(c->ssh));
    return 1;
  }
  return 0;
}

static void disconnect_session(bench_conn *c) {
  if (c->sftp != NULL) {
    sftp_free(c->sftp);
  }
  if (c->ssh != NULL) {
    ssh_disconnect(c->ssh);
    ssh_free(c->ssh);
  }
}

static void print_rate(const char *op, long long bytes, double ms, const char *extra) {
  double secs = ms / 1000.0;
  printf("op=%s bytes=%lld secs=%.3f mbps=%.1f%s\n", op, bytes, secs,
         secs > 0 ? (double) bytes / 1e6 / secs : 0.0, extra);
}

static int cmd_put(const bench_opts *o, bench_conn *c, const char *local, const char *remote) {
  int fd = open(local, O_RDONLY);
  if (fd < 0) {
    fprintf(stderr, "ab-bench-sftp: %s: %s\n", local, strerror(errno));
    return 2;
  }
  char *buf = malloc(o->chunk);
  if (buf == NULL) {
    close(fd);
    return 2;
  }
  int rc = 0;
  long long total = 0;
  double start = mono_ms();
  sftp_file f = sftp_open(c->sftp, remote, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (f == NULL) {
    rc = server_error(c, "open");
  }
  double last_write = start;
  while (rc == 0) {
    ssize_t n = read(fd, buf, o->chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fprintf(stderr, "ab-bench-sftp: %s: %s\n", local, strerror(errno));
      rc = 2;
      break;
    }
    if (n == 0) break;
    if (sftp_write(f, buf, (size_t) n) != n) {
      rc = server_error(c, "write");
      break;
    }
    total += n;
    last_write = mono_ms();
  }
  if (f != NULL) {
    if (sftp_close(f) != SSH_OK && rc == 0) {
      rc = server_error(c, "close");
    }
  }
  double end = mono_ms();
  if (rc == 0) {
    char extra[64];
    snprintf(extra, sizeof(extra), " close_ms=%.1f", end - last_write);
    print_rate("put", total, end - start, extra);
  }
  free(buf);
  close(fd);
  return rc;
}

/* One outstanding READ: its request id and the offset it asked for. */
typedef struct pending_read {
  int id;
  uint64_t off;
  uint32_t len;
} pending_read;

static int cmd_get(const bench_opts *o, bench_conn *c, const char *remote, const char *local) {
  int fd = open(local, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    fprintf(stderr, "ab-bench-sftp: %s: %s\n", local, strerror(errno));
    return 2;
  }
  char *buf = malloc(o->chunk);
  if (buf == NULL) {
    close(fd);
    return 2;
  }
  int rc = 0;
  long long total = 0;
  double start = mono_ms();
  sftp_file f = sftp_open(c->sftp, remote, O_RDONLY, 0);
  sftp_attributes a = NULL;
  if (f == NULL) {
    rc = server_error(c, "open");
  } else if ((a = sftp_fstat(f)) == NULL) {
    rc = server_error(c, "fstat");
  }
  uint64_t size = a != NULL ? a->size : 0;
  sftp_attributes_free(a);
  /* A ring of WINDOW requests in flight; answers are taken in order. */
  pending_read ring[MAX_WINDOW];
  int head = 0, count = 0;
  uint64_t next = 0;
  while (rc == 0 && (count > 0 || next < size)) {
    while (count < o->window && next < size) {
      uint32_t len = (uint32_t) (size - next < o->chunk ? size - next : o->chunk);
      int id = sftp_async_read_begin(f, len);
      if (id < 0) {
        rc = server_error(c, "read request");
        break;
      }
      pending_read *p = &ring[(head + count) % MAX_WINDOW];
      p->id = id;
      p->off = next;
      p->len = len;
      next += len;
      count++;
    }
    if (rc != 0 || count == 0) break;
    pending_read *p = &ring[head];
    int n = sftp_async_read(f, buf, p->len, (uint32_t) p->id);
    head = (head + 1) % MAX_WINDOW;
    count--;
    if (n < 0) {
      rc = server_error(c, "read");
      break;
    }
    if ((uint32_t) n != p->len) {
      /* A short answer would leave a hole; the size came from fstat, so
       * this is the server's error, not an end of file. */
      fprintf(stderr, "ab-bench-sftp: read at %llu returned %d of %u bytes\n",
              (unsigned long long) p->off, n, p->len);
      rc = 1;
      break;
    }
    if (pwrite(fd, buf, (size_t) n, (off_t) p->off) != n) {
      fprintf(stderr, "ab-bench-sftp: %s: %s\n", local, strerror(errno));
      rc = 2;
      break;
    }
    total += n;
  }
  /* Answers still owed are read and dropped, so libssh frees them. */
  while (count > 0) {
    sftp_async_read(f, buf, ring[head].len, (uint32_t) ring[head].id);
    head = (head + 1) % MAX_WINDOW;
    count--;
  }
  if (f != NULL && sftp_close(f) != SSH_OK && rc == 0) {
    rc = server_error(c, "close");
  }
  double end = mono_ms();
  if (rc == 0) {
    print_rate("get", total, end - start, "");
  }
  free(buf);
  close(fd);
  return rc;
}

/* Lists dir once; *found tells whether `want` (may be NULL) was listed. */
static int list_once(bench_conn *c, const char *dir, const char *want, long *entries, int *found) {
  *entries = 0;
  *found = 0;
  sftp_dir d = sftp_opendir(c->sftp, dir);
  if (d == NULL) {
    return server_error(c, "opendir");
  }
  sftp_attributes a;
  while ((a = sftp_readdir(c->sftp, d)) != NULL) {
    if (strcmp(a->name, ".") != 0 && strcmp(a->name, "..") != 0) {
      (*entries)++;
      if (want != NULL && strcmp(a->name, want) == 0) {
        *found = 1;
      }
    }
    sftp_attributes_free(a);
  }
  int rc = sftp_dir_eof(d) ? 0 : server_error(c, "readdir");
  if (sftp_closedir(d) != SSH_OK && rc == 0) {
    rc = server_error(c, "closedir");
  }
  return rc;
}

static int cmd_ls(bench_conn *c, const char *dir, int times, long gap_ms) {
  for (int i = 0; i < times; i++) {
    if (i > 0) sleep_ms(gap_ms);
    long entries;
    int found;
    double start = mono_ms();
    int rc = list_once(c, dir, NULL, &entries, &found);
    if (rc != 0) return rc;
    printf("op=ls entries=%ld ms=%.1f\n", entries, mono_ms() - start);
    fflush(stdout);
  }
  return 0;
}

static int cmd_wait(bench_conn *c, const char *dir, const char *name, long timeout_ms, long gap_ms) {
  double deadline = mono_ms() + (double) timeout_ms;
  int polls = 0;
  for (;;) {
    long entries;
    int found;
    int rc = list_once(c, dir, name, &entries, &found);
    polls++;
    if (rc != 0) return rc;
    if (found) {
      printf("op=wait found=1 at_ms=%lld polls=%d\n", real_ms(), polls);
      return 0;
    }
    if (mono_ms() >= deadline) {
      printf("op=wait found=0 at_ms=%lld polls=%d\n", real_ms(), polls);
      return 1;
    }
    sleep_ms(gap_ms);
  }
}

static int usage(void) {
  fprintf(stderr,
          "usage: ab-bench-sftp -p PORT -u USER -i KEY [-H HOST] [-c CHUNK] [-w WINDOW] [-x HOLD_MS]\n"
          "       put LOCAL REMOTE | get REMOTE LOCAL | ls DIR [N [GAP_MS]] |\n"
          "       wait DIR NAME TIMEOUT_MS [GAP_MS]\n");
  return 2;
}

int main(int argc, char **argv) {
  bench_opts o = { .host = "127.0.0.1", .chunk = 32768, .window = 16 };
  int opt;
  while ((opt = getopt(argc, argv, "H:p:u:i:c:w:x:")) != -1) {
    switch (opt) {
    case 'H': o.host = optarg; break;
    case 'p': o.port = atoi(optarg); break;
    case 'u': o.user = optarg; break;
    case 'i': o.key = optarg; break;
    case 'c': o.chunk = (size_t) strtoul(optarg, NULL, 10); break;
    case 'w': o.window = atoi(optarg); break;
    case 'x': o.hold_ms = atol(optarg); break;
    default: return usage();
    }
  }
  if (o.port <= 0 || o.user == NULL || o.key == NULL || optind >= argc ||
      o.chunk == 0 || o.chunk > 256 * 1024 || o.window < 1 || o.window > MAX_WINDOW) {
    return usage();
  }
  const char *cmd = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;
  int known = (strcmp(cmd, "put") == 0 && nargs == 2) || (strcmp(cmd, "get") == 0 && nargs == 2) ||
              (strcmp(cmd, "ls") == 0 && nargs >= 1 && nargs <= 3) ||
              (strcmp(cmd, "wait") == 0 && nargs >= 3 && nargs <= 4);
  if (!known) {
    return usage();
  }
  bench_conn c = { NULL, NULL };
  int rc = connect_session(&o, &c);
  if (rc == 0) {
    if (strcmp(cmd, "put") == 0) {
      rc = cmd_put(&o, &c, args[0], args[1]);
    } else if (strcmp(cmd, "get") == 0) {
      rc = cmd_get(&o, &c, args[0], args[1]);
    } else if (strcmp(cmd, "ls") == 0) {
      rc = cmd_ls(&c, args[0], nargs >= 2 ? atoi(args[1]) : 1, nargs >= 3 ? atol(args[2]) : 0);
    } else {
      rc = cmd_wait(&c, args[0], args[1], atol(args[2]), nargs >= 4 ? atol(args[3]) : 200);
    }
    fflush(stdout);
    if (o.hold_ms > 0) {
      sleep_ms(o.hold_ms);
    }
  }
  disconnect_session(&c);
  return rc;
}
