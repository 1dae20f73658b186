/* Unit tests: the state store's semantics (plugin/ab_store.h), the same
 * checks against both backends: the embedded store (memory and persisted)
 * and Redis (a real redis-server started here on a free loopback port;
 * skipped only when redis-server is not installed). */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ab_store.h"

static char tmpdir[64];
static pid_t redis_pid = -1;
static int redis_port;
/* A second server, TLS only, with an ACL user (AUTH user password). */
static pid_t tls_pid = -1;
static int tls_port;
static char *tls_ca, *other_ca;
static size_t tls_ca_len, other_ca_len;
static unsigned run_id;

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof(a);
  bind(fd, (struct sockaddr *) &a, sizeof(a));
  getsockname(fd, (struct sockaddr *) &a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static const char *redis_server_path(void) {
  static const char *paths[] = { "/usr/bin/redis-server", "/usr/local/bin/redis-server", NULL };
  for (int i = 0; paths[i] != NULL; i++) {
    if (access(paths[i], X_OK) == 0) {
      return paths[i];
    }
  }
  return NULL;
}

/* Starts redis-server with a password (so AUTH is exercised). */
static void start_redis(void) {
  const char *bin = redis_server_path();
  if (bin == NULL) {
    return;
  }
  redis_port = free_port();
  char port[16];
  snprintf(port, sizeof(port), "%d", redis_port);
  redis_pid = fork();
  if (redis_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the test */
    if (freopen("/dev/null", "w", stdout) == NULL) {
      _exit(127);
    }
    execl(bin, bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
          "--requirepass", "test-secret", "--dir", tmpdir, (char *) NULL);
    _exit(127);
  }
  ab_store_redis_options o = { .host = "127.0.0.1", .port = redis_port,
                               .password = "test-secret", .timeout_ms = 500 };
  for (int i = 0; i < 100; i++) {
    ab_error err;
    ab_store *s = ab_store_redis_open(&o, &err);
    char *v = NULL;
    int rc = s->ops->get(s, "ping", &v, NULL, &err);
    ab_store_close(s);
    if (rc >= 0) {
      return;
    }
    sleep_ms(50);
  }
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    return NULL;
  }
  char *buf = calloc(1, 65536);
  *len = fread(buf, 1, 65535, f);
  fclose(f);
  return buf;
}

/* Test PKIs from the emulator's script: the server's, and an unrelated one. */
static void start_tls_redis(void) {
  const char *bin = redis_server_path();
  const char *src = getenv("top_srcdir");
  if (bin == NULL || src == NULL) {
    return;
  }
  char cmd[512], path[256];
  snprintf(cmd, sizeof(cmd), "%s/tests/emulator/make-test-pki.sh %s/pki >/dev/null 2>&1 && "
           "%s/tests/emulator/make-test-pki.sh %s/other-pki >/dev/null 2>&1", src, tmpdir, src, tmpdir);
  if (system(cmd) != 0) {
    return;
  }
  snprintf(path, sizeof(path), "%s/pki/ca.pem", tmpdir);
  tls_ca = slurp(path, &tls_ca_len);
  snprintf(path, sizeof(path), "%s/other-pki/ca.pem", tmpdir);
  other_ca = slurp(path, &other_ca_len);
  tls_port = free_port();
  char port[16], cert[200], key[200], ca[200];
  snprintf(port, sizeof(port), "%d", tls_port);
  snprintf(cert, sizeof(cert), "%s/pki/server.pem", tmpdir);
  snprintf(key, sizeof(key), "%s/pki/server.key", tmpdir);
  snprintf(ca, sizeof(ca), "%s/pki/ca.pem", tmpdir);
  tls_pid = fork();
  if (tls_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    freopen("/dev/null", "w", stdout);
    execl(bin, bin, "--port", "0", "--tls-port", port, "--bind", "127.0.0.1",
          "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca,
          "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", tmpdir,
          "--user", "default", "off", "--user", "gateway", "on", ">gw-secret", "~*", "&*", "+@all",
          (char *) NULL);
    _exit(127);
  }
  ab_store_redis_options o = { .host = "127.0.0.1", .port = tls_port, .user = "gateway",
                               .password = "gw-secret", .tls = 1, .ca_pem = tls_ca,
                               .ca_pem_len = tls_ca_len, .timeout_ms = 500 };
  for (int i = 0; i < 100; i++) {
    ab_error err;
    ab_store *s = ab_store_redis_open(&o, &err);
    char *v = NULL;
    int rc = s->ops->get(s, "ping", &v, NULL, &err);
    ab_store_close(s);
    if (rc >= 0) {
      return;
    }
    sleep_ms(50);
  }
}

static int group_setup(void **state) {
  (void) state;
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/ab-test-store.XXXXXX");
  if (mkdtemp(tmpdir) == NULL) {
    return -1;
  }
  run_id = (unsigned) getpid();
  start_redis();
  start_tls_redis();
  return 0;
}

static int group_teardown(void **state) {
  (void) state;
  if (redis_pid > 0) {
    kill(redis_pid, SIGTERM);
    waitpid(redis_pid, NULL, 0);
  }
  if (tls_pid > 0) {
    kill(tls_pid, SIGTERM);
    waitpid(tls_pid, NULL, 0);
  }
  free(tls_ca);
  free(other_ca);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
  return system(cmd);
}

typedef enum { MEMORY, PERSISTED, REDIS } backend;

static ab_store *open_backend(backend b, const char *prefix) {
  ab_error err;
  ab_store *s = NULL;
  if (b == MEMORY) {
    s = ab_store_local_open(NULL, &err);
  } else if (b == PERSISTED) {
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/%s", tmpdir, prefix);
    s = ab_store_local_open(dir, &err);
  } else {
    if (redis_pid <= 0) {
      skip();
    }
    char pfx[64];
    snprintf(pfx, sizeof(pfx), "t%u:%s:", run_id, prefix);
    ab_store_redis_options o = { .host = "127.0.0.1", .port = redis_port, .prefix = pfx,
                                 .password = "test-secret", .timeout_ms = 500 };
    s = ab_store_redis_open(&o, &err);
  }
  if (s == NULL) {
    fail_msg("open: %s", err.message);
  }
  return s;
}

static void semantics(backend b, const char *name) {
  ab_store *s = open_backend(b, name);
  ab_error err;
  char *v = NULL;
  assert_int_equal(s->ops->get(s, "absent", &v, NULL, &err), 0);
  assert_int_equal(s->ops->set(s, "k", "{\"a\":1}", 0, &err), 0);
  assert_int_equal(s->ops->get(s, "k", &v, NULL, &err), 1);
  assert_string_equal(v, "{\"a\":1}");
  free(v);
  /* set_nx: only the first claim wins */
  assert_int_equal(s->ops->set_nx(s, "claim", "node-1", 10000, &err), 1);
  assert_int_equal(s->ops->set_nx(s, "claim", "node-2", 10000, &err), 0);
  assert_int_equal(s->ops->get(s, "claim", &v, NULL, &err), 1);
  assert_string_equal(v, "node-1");
  free(v);
  /* del with expect releases only the holder's lock */
  assert_int_equal(s->ops->del(s, "claim", "node-2", &err), 0);
  assert_int_equal(s->ops->del(s, "claim", "node-1", &err), 1);
  assert_int_equal(s->ops->get(s, "claim", &v, NULL, &err), 0);
  assert_int_equal(s->ops->del(s, "claim", NULL, &err), 0);
  /* incr */
  long long out = 0;
  assert_int_equal(s->ops->incr(s, "n", 1, 0, &out, &err), 0);
  assert_int_equal(out, 1);
  assert_int_equal(s->ops->incr(s, "n", 5, 0, &out, &err), 0);
  assert_int_equal(out, 6);
  /* TTL: gone after it passes */
  assert_int_equal(s->ops->set(s, "short", "x", 150, &err), 0);
  assert_int_equal(s->ops->incr(s, "short-n", 1, 150, &out, &err), 0);
  long long ttl = 0;
  assert_int_equal(s->ops->get(s, "short", &v, &ttl, &err), 1);
  assert_true(ttl > 0 && ttl <= 150);
  free(v);
  assert_int_equal(s->ops->get(s, "k", &v, &ttl, &err), 1);
  assert_int_equal(ttl, 0); /* no expiry */
  free(v);
  sleep_ms(300);
  assert_int_equal(s->ops->get(s, "short", &v, NULL, &err), 0);
  assert_int_equal(s->ops->get(s, "short-n", &v, NULL, &err), 0);
  /* lists: newest first, capped */
  for (int i = 0; i < 5; i++) {
    char item[16];
    snprintf(item, sizeof(item), "item-%d", i);
    assert_int_equal(s->ops->list_push(s, "journal", item, 3, 0, &err), 0);
  }
  char **items = NULL;
  size_t n = 0;
  assert_int_equal(s->ops->list_range(s, "journal", 10, &items, &n, &err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(items[0], "item-4");
  assert_string_equal(items[2], "item-2");
  ab_store_free_list(items, n);
  assert_int_equal(s->ops->list_range(s, "journal", 1, &items, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(items[0], "item-4");
  ab_store_free_list(items, n);
  /* members */
  assert_int_equal(s->ops->members(s, "nodes", "a", 10000, &err), 1);
  assert_int_equal(s->ops->members(s, "nodes", "b", 10000, &err), 2);
  assert_int_equal(s->ops->members(s, "nodes", "a", 10000, &err), 2);
  /* bad keys are refused, not sent */
  assert_int_equal(s->ops->set(s, "has space", "x", 0, &err), -1);
  assert_int_equal(err.err_no, EINVAL);
  ab_store_close(s);
}

/* A sliding window admits exactly `limit` takes per window, and says how
 * long until the next one fits. */
static void rate(backend b, const char *name) {
  ab_store *s = open_backend(b, name);
  ab_error err;
  long long retry = -1;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(s->ops->rate_take(s, "search", 3, 400, &retry, &err), 1);
    assert_int_equal(retry, 0);
  }
  assert_int_equal(s->ops->rate_take(s, "search", 3, 400, &retry, &err), 0);
  assert_true(retry > 0 && retry <= 400);
  /* another key has its own window */
  assert_int_equal(s->ops->rate_take(s, "details", 3, 400, &retry, &err), 1);
  sleep_ms(retry > 0 ? retry + 20 : 420);
  assert_int_equal(s->ops->rate_take(s, "search", 3, 400, &retry, &err), 1);
  ab_store_close(s);
}

static void test_memory_semantics(void **state) { (void) state; semantics(MEMORY, "m"); }
static void test_persisted_semantics(void **state) { (void) state; semantics(PERSISTED, "p"); }
static void test_redis_semantics(void **state) { (void) state; semantics(REDIS, "r"); }
static void test_memory_rate(void **state) { (void) state; rate(MEMORY, "mr"); }
static void test_persisted_rate(void **state) { (void) state; rate(PERSISTED, "pr"); }
static void test_redis_rate(void **state) { (void) state; rate(REDIS, "rr"); }

/* What the embedded store held is there again after it is closed and
 * opened (a gateway restart): strings with their TTL, lists, rate windows;
 * deleted and expired keys stay gone. */
static void test_persisted_survives_reopen(void **state) {
  (void) state;
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/reopen", tmpdir);
  ab_error err;
  ab_store *s = ab_store_local_open(dir, &err);
  assert_non_null(s);
  assert_int_equal(s->ops->set(s, "read:999888777:abc", "1", 3600000, &err), 0);
  assert_int_equal(s->ops->set(s, "gone", "1", 0, &err), 0);
  assert_int_equal(s->ops->del(s, "gone", NULL, &err), 1);
  assert_int_equal(s->ops->set(s, "expiring", "1", 100, &err), 0);
  assert_int_equal(s->ops->list_push(s, "j", "first", 0, 0, &err), 0);
  assert_int_equal(s->ops->list_push(s, "j", "second", 0, 0, &err), 0);
  long long retry;
  assert_int_equal(s->ops->rate_take(s, "rate", 1, 60000, &retry, &err), 1);
  /* a second owner is refused while the first holds the directory */
  ab_store *other = ab_store_local_open(dir, &err);
  assert_null(other);
  assert_int_equal(err.err_no, EWOULDBLOCK);
  ab_store_close(s);
  sleep_ms(150);
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);

  s = ab_store_local_open(dir, &err);
  assert_non_null(s);
  char *v = NULL;
  assert_int_equal(s->ops->get(s, "read:999888777:abc", &v, NULL, &err), 1);
  assert_string_equal(v, "1");
  free(v);
  assert_int_equal(s->ops->get(s, "gone", &v, NULL, &err), 0);
  assert_int_equal(s->ops->get(s, "expiring", &v, NULL, &err), 0);
  char **items;
  size_t n;
  assert_int_equal(s->ops->list_range(s, "j", 10, &items, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(items[0], "second");
  ab_store_free_list(items, n);
  assert_int_equal(s->ops->rate_take(s, "rate", 1, 60000, &retry, &err), 0);
  ab_store_close(s);
}

/* A process killed without closing (no compaction) loses nothing written:
 * the log is replayed, and a torn last line is ignored. */
static void test_persisted_log_replay(void **state) {
  (void) state;
  char dir[128], log[160];
  snprintf(dir, sizeof(dir), "%s/crash", tmpdir);
  snprintf(log, sizeof(log), "%s/store.log", dir);
  pid_t pid = fork();
  if (pid == 0) {
    ab_error err;
    ab_store *s = ab_store_local_open(dir, &err);
    s->ops->set(s, "marker", "kept", 0, &err);
    _exit(0); /* no close: like a crash */
  }
  waitpid(pid, NULL, 0);
  FILE *f = fopen(log, "a");
  fputs("S\tbroken", f);
  fclose(f);
  ab_error err;
  ab_store *s = ab_store_local_open(dir, &err);
  assert_non_null(s);
  char *v = NULL;
  assert_int_equal(s->ops->get(s, "marker", &v, NULL, &err), 1);
  assert_string_equal(v, "kept");
  free(v);
  ab_store_close(s);
}

/* A state directory others can read is refused: it holds tokens. */
static void test_open_dir_refused(void **state) {
  (void) state;
  char dir[128];
  snprintf(dir, sizeof(dir), "%s/open", tmpdir);
  mkdir(dir, 0755);
  chmod(dir, 0755);
  ab_error err;
  assert_null(ab_store_local_open(dir, &err));
  assert_int_equal(err.err_no, EACCES);
  assert_non_null(strstr(err.message, "chmod 700"));
}

/* Redis down: operations fail fast with EAGAIN (not "absent"); a wrong
 * password is EACCES and names no secret. */
static void test_redis_unreachable(void **state) {
  (void) state;
  ab_store_redis_options o = { .host = "127.0.0.1", .port = free_port(), .timeout_ms = 300 };
  ab_error err;
  ab_store *s = ab_store_redis_open(&o, &err);
  assert_non_null(s);
  char *v = NULL;
  assert_int_equal(s->ops->get(s, "k", &v, NULL, &err), -1);
  assert_int_equal(err.err_no, EAGAIN);
  time_t t0 = time(NULL);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(s->ops->set(s, "k", "v", 0, &err), -1);
  }
  assert_true(time(NULL) - t0 <= 1); /* backoff: no connect attempt each time */
  ab_store_close(s);
  if (redis_pid <= 0) {
    skip();
  }
  ab_store_redis_options bad = { .host = "127.0.0.1", .port = redis_port,
                                 .password = "wrong-secret", .timeout_ms = 500 };
  s = ab_store_redis_open(&bad, &err);
  assert_int_equal(s->ops->get(s, "k", &v, NULL, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  assert_null(strstr(err.message, "wrong-secret"));
  ab_store_close(s);
}

/* Prefixes separate gateway clusters sharing one Redis. */
static void test_redis_prefix(void **state) {
  (void) state;
  ab_store *a = open_backend(REDIS, "cluster-a");
  ab_store *b = open_backend(REDIS, "cluster-b");
  ab_error err;
  char *v = NULL;
  assert_int_equal(a->ops->set(a, "token", "A", 0, &err), 0);
  assert_int_equal(b->ops->get(b, "token", &v, NULL, &err), 0);
  ab_store_close(a);
  ab_store_close(b);
}

/* TLS with an ACL user: works with the server's CA; another CA, a wrong
 * password or plain TCP to the TLS port are refused with a clear reason. */
static void test_redis_tls_acl(void **state) {
  (void) state;
  if (tls_pid <= 0 || tls_ca == NULL) {
    skip();
  }
  ab_store_redis_options o = { .host = "127.0.0.1", .port = tls_port, .user = "gateway",
                               .password = "gw-secret", .tls = 1, .ca_pem = tls_ca,
                               .ca_pem_len = tls_ca_len, .timeout_ms = 500, .prefix = "tls:" };
  ab_error err;
  ab_store *s = ab_store_redis_open(&o, &err);
  char *v = NULL;
  if (s->ops->set(s, "k", "over-tls", 0, &err) != 0) {
    fail_msg("TLS set: %s", err.message);
  }
  assert_int_equal(s->ops->get(s, "k", &v, NULL, &err), 1);
  assert_string_equal(v, "over-tls");
  free(v);
  long long retry;
  assert_int_equal(s->ops->rate_take(s, "r", 1, 1000, &retry, &err), 1);
  ab_store_close(s);

  o.ca_pem = other_ca;
  o.ca_pem_len = other_ca_len;
  s = ab_store_redis_open(&o, &err);
  assert_int_equal(s->ops->get(s, "k", &v, NULL, &err), -1);
  assert_int_equal(err.err_no, EPROTO);
  assert_non_null(strstr(err.message, "not trusted"));
  ab_store_close(s);

  o.ca_pem = tls_ca;
  o.ca_pem_len = tls_ca_len;
  o.password = "wrong";
  s = ab_store_redis_open(&o, &err);
  assert_int_equal(s->ops->get(s, "k", &v, NULL, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  assert_non_null(strstr(err.message, "as gateway"));
  assert_null(strstr(err.message, "wrong"));
  ab_store_close(s);

  o.tls = 0;
  o.password = "gw-secret";
  s = ab_store_redis_open(&o, &err);
  assert_int_equal(s->ops->get(s, "k", &v, NULL, &err), -1);
  assert_int_equal(err.err_no, EAGAIN);
  ab_store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_memory_semantics),
    cmocka_unit_test(test_persisted_semantics),
    cmocka_unit_test(test_redis_semantics),
    cmocka_unit_test(test_memory_rate),
    cmocka_unit_test(test_persisted_rate),
    cmocka_unit_test(test_redis_rate),
    cmocka_unit_test(test_persisted_survives_reopen),
    cmocka_unit_test(test_persisted_log_replay),
    cmocka_unit_test(test_open_dir_refused),
    cmocka_unit_test(test_redis_unreachable),
    cmocka_unit_test(test_redis_prefix),
    cmocka_unit_test(test_redis_tls_acl),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
