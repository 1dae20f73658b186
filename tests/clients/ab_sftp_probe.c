/* ab_sftp_probe.c - a small SFTP client (libssh) for protocol-level test
 * cases that ordinary clients hide: the raw status of CLOSE, writes in an
 * order of our choosing, a disconnect in the middle of an upload, opens
 * with APPEND or without TRUNC, and the time CLOSE takes.
 *
 *   ab-sftp-probe -p PORT -u USER -i KEY [-H HOST] COMMAND ARGS...
 *
 *   put LOCAL REMOTE [seq|reverse|swap] [CHUNK]
 *       upload LOCAL (O_WRONLY|O_CREAT|O_TRUNC) writing CHUNK-byte blocks
 *       (default 32768) in that order: seq = ascending offsets, reverse =
 *       last block first, swap = each pair of blocks swapped.
 *   resume LOCAL REMOTE OFFSET
 *       open without TRUNC and write LOCAL's bytes from OFFSET on (what a
 *       resuming client does).
 *   append LOCAL REMOTE
 *       open with O_APPEND and write LOCAL.
 *   abort LOCAL REMOTE BYTES
 *       write the first BYTES of LOCAL, then drop the connection without
 *       CLOSE (the client "vanishes").
 *   stat REMOTE        print the size
 *   rename FROM TO
 *
 * Output: one line "status=ok" or "status=error sftp=<code> msg=<server
 * message>" for the step that decides the outcome, and for put/resume/
 * append also "close_ms=<milliseconds from the last acknowledged WRITE to
 * the CLOSE reply>". Exit status: 0 ok, 1 the server refused (an SFTP error
 * status), 2 usage or local errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/sftp.h>

typedef struct probe {
  ssh_session ssh;
  sftp_session sftp;
} probe;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int report_error(probe *p, const char *step) {
  int code = p->sftp != NULL ? sftp_get_error(p->sftp) : -1;
  printf("status=error step=%s sftp=%d msg=%s\n", step, code, ssh_get_error(p->ssh));
  return 1;
}

static int connect_probe(probe *p, const char *host, int port, const char *user,
                         const char *key_path) {
  p->ssh = ssh_new();
  if (p->ssh == NULL) {
    return -1;
  }
  int verbosity = SSH_LOG_NOLOG;
  int nodelay = 1; /* one synchronous WRITE at a time: Nagle would add 40 ms to each */
  unsigned int uport = (unsigned int) port;
  ssh_options_set(p->ssh, SSH_OPTIONS_HOST, host);
  ssh_options_set(p->ssh, SSH_OPTIONS_PORT, &uport);
  ssh_options_set(p->ssh, SSH_OPTIONS_USER, user);
  ssh_options_set(p->ssh, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  ssh_options_set(p->ssh, SSH_OPTIONS_NODELAY, &nodelay);
  if (ssh_connect(p->ssh) != SSH_OK) {
    fprintf(stderr, "connect: %s\n", ssh_get_error(p->ssh));
    return -1;
  }
  /* Test server on loopback with a generated host key: nothing to verify against. */
  ssh_key key = NULL;
  if (ssh_pki_import_privkey_file(key_path, NULL, NULL, NULL, &key) != SSH_OK) {
    fprintf(stderr, "cannot read key %s\n", key_path);
    return -1;
  }
  int rc = ssh_userauth_publickey(p->ssh, NULL, key);
  ssh_key_free(key);
  if (rc != SSH_AUTH_SUCCESS) {
    fprintf(stderr, "auth: %s\n", ssh_get_error(p->ssh));
    return -1;
  }
  p->sftp = sftp_new(p->ssh);
  if (p->sftp == NULL || sftp_init(p->sftp) != SSH_OK) {
    fprintf(stderr, "sftp: %s\n", ssh_get_error(p->ssh));
    return -1;
  }
  return 0;
}

static void disconnect_probe(probe *p) {
  if (p->sftp != NULL) {
    sftp_free(p->sftp);
  }
  if (p->ssh != NULL) {
    ssh_disconnect(p->ssh);
    ssh_free(p->ssh);
  }
}

static unsigned char *read_local(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
  }
  unsigned char *buf = malloc((size_t) st.st_size + 1);
  size_t got = 0;
  while (buf != NULL && got < (size_t) st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
    if (n <= 0) break;
    got += (size_t) n;
  }
  close(fd);
  *len = got;
  return buf;
}

/* Writes block i (of chunk bytes) of data at its own offset. */
static int write_block(sftp_file f, const unsigned char *data, size_t len, size_t chunk,
                       size_t i, off_t base) {
  size_t off = i * chunk;
  size_t n = len - off < chunk ? len - off : chunk;
  if (sftp_seek64(f, (uint64_t) (base + (off_t) off)) < 0) {
    return -1;
  }
  return sftp_write(f, data + off, n) == (ssize_t) n ? 0 : -1;
}

static int upload(probe *p, const char *local, const char *remote, int flags,
                  const char *order, size_t chunk, off_t base, size_t stop_after) {
  size_t len = 0;
  unsigned char *data = read_local(local, &len);
  if (data == NULL) {
    return 2;
  }
  sftp_file f = sftp_open(p->sftp, remote, flags, 0644);
  if (f == NULL) {
    free(data);
    return report_error(p, "open");
  }
  size_t blocks = (len + chunk - 1) / chunk;
  size_t sent = 0;
  int rc = 0;
  for (size_t k = 0; k < blocks && rc == 0; k++) {
    size_t i = k;
    if (strcmp(order, "reverse") == 0) {
      i = blocks - 1 - k;
    } else if (strcmp(order, "swap") == 0) {
      i = (k % 2 == 0) ? (k + 1 < blocks ? k + 1 : k) : k - 1;
    }
    if (stop_after > 0 && sent >= stop_after) {
      /* Vanish: no CLOSE, no SSH disconnect message, just the socket gone. */
      printf("status=ok aborted_after=%zu\n", sent);
      fflush(stdout);
      _exit(0);
    }
    rc = write_block(f, data, len, chunk, i, base);
    sent += chunk;
  }
  free(data);
  if (rc != 0) {
    return report_error(p, "write");
  }
  double t0 = now_ms();
  rc = sftp_close(f);
  double t1 = now_ms();
  printf("close_ms=%.0f\n", t1 - t0);
  if (rc != SSH_OK) {
    return report_error(p, "close");
  }
  printf("status=ok\n");
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: ab-sftp-probe -p PORT -u USER -i KEY [-H HOST] "
          "put|resume|append|abort|stat|rename ARGS...\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *user = NULL, *key = NULL;
  int port = 22, opt;
  while ((opt = getopt(argc, argv, "H:p:u:i:")) != -1) {
    switch (opt) {
    case 'H': host = optarg; break;
    case 'p': port = atoi(optarg); break;
    case 'u': user = optarg; break;
    case 'i': key = optarg; break;
    default: return usage();
    }
  }
  argc -= optind;
  argv += optind;
  if (argc < 2 || user == NULL || key == NULL) {
    return usage();
  }
  probe p = { NULL, NULL };
  if (connect_probe(&p, host, port, user, key) < 0) {
    disconnect_probe(&p);
    return 2;
  }
  const char *cmd = argv[0];
  int rc = 2;
  if (strcmp(cmd, "put") == 0 && argc >= 3) {
    size_t chunk = argc >= 5 ? (size_t) strtoul(argv[4], NULL, 10) : 32768;
    rc = upload(&p, argv[1], argv[2], O_WRONLY | O_CREAT | O_TRUNC,
                argc >= 4 ? argv[3] : "seq", chunk ? chunk : 32768, 0, 0);
  } else if (strcmp(cmd, "resume") == 0 && argc == 4) {
    rc = upload(&p, argv[1], argv[2], O_WRONLY | O_CREAT, "seq", 32768,
                (off_t) strtoll(argv[3], NULL, 10), 0);
  } else if (strcmp(cmd, "append") == 0 && argc == 3) {
    rc = upload(&p, argv[1], argv[2], O_WRONLY | O_CREAT | O_APPEND, "seq", 32768, 0, 0);
  } else if (strcmp(cmd, "abort") == 0 && argc == 4) {
    rc = upload(&p, argv[1], argv[2], O_WRONLY | O_CREAT | O_TRUNC, "seq", 32768, 0,
                (size_t) strtoull(argv[3], NULL, 10));
  } else if (strcmp(cmd, "stat") == 0 && argc == 2) {
    sftp_attributes a = sftp_stat(p.sftp, argv[1]);
    if (a == NULL) {
      rc = report_error(&p, "stat");
    } else {
      printf("size=%llu\nstatus=ok\n", (unsigned long long) a->size);
      sftp_attributes_free(a);
      rc = 0;
    }
  } else if (strcmp(cmd, "rename") == 0 && argc == 3) {
    rc = sftp_rename(p.sftp, argv[1], argv[2]) == SSH_OK ? (printf("status=ok\n"), 0)
                                                        : report_error(&p, "rename");
  } else {
    rc = usage();
  }
  disconnect_probe(&p);
  return rc;
}
