/* Unit tests: the agent process and its protocol (plugin/ab_agent.h), with
 * a real agent forked here on a temporary state directory: who may
 * connect, what a logged-in user may ask for, the rate budget, confirm
 * claims, the journal, and that it exits when its parent's pipe closes.
 * (Tokens need Maskinporten: the integration tests cover them.) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ab_agent.h"

#define ID1 "11111111-2222-4333-8444-555555555555"
#define ID2 "22222222-2222-4333-8444-555555555555"

static char tmpdir[64], state_dir[128], conf_path[160], log_path[160];
static ab_config *cfg;
static pid_t agent_pid = -1;
static int lifeline = -1;

static void file_log(void *ctx, int level, const char *msg) {
  (void) ctx; (void) level;
  FILE *f = fopen(log_path, "a");
  if (f != NULL) {
    fprintf(f, "%s\n", msg);
    fclose(f);
  }
}

static void write_conf(const char *path, const char *client_id) {
  FILE *f = fopen(path, "w");
  fprintf(f, "AltinnBrokerEnvironment tt02\n"
          "AltinnBrokerStateDir %s\n"
          "AltinnBrokerClient acme client-id=%s org=999888777 key=%s/key.pem kid=k1\n"
          "AltinnBrokerClient other client-id=cccccccc org=111222333 key=%s/key.pem kid=k2\n"
          "AltinnBrokerMount /outbox client=acme resource=r1 direction=outbox recipients=0192:312345678\n"
          "AltinnBrokerMount /inbox client=acme resource=r1 direction=inbox\n"
          "AltinnBrokerMount /theirs client=other resource=r2 direction=inbox users=bob\n",
          state_dir, client_id, tmpdir, tmpdir);
  fclose(f);
}

static ab_config *load(const char *path) {
  ab_config *c = ab_config_new();
  ab_error err;
  if (ab_config_load_file(c, path, &err) < 0 || ab_config_load_secrets(c, &err) < 0) {
    fail_msg("config: %s", err.message);
  }
  return c;
}

static int group_setup(void **state) {
  (void) state;
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/ab-test-agent.XXXXXX");
  if (mkdtemp(tmpdir) == NULL) {
    return -1;
  }
  chmod(tmpdir, 0755);
  snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
  snprintf(conf_path, sizeof(conf_path), "%s/proftpd.conf", tmpdir);
  snprintf(log_path, sizeof(log_path), "%s/agent.log", tmpdir);
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
           "-out %s/key.pem 2>/dev/null && chmod 600 %s/key.pem", tmpdir, tmpdir);
  if (system(cmd) != 0) {
    return -1;
  }
  write_conf(conf_path, "aaaaaaaa");
  cfg = load(conf_path);
  int pipefd[2], ready[2];
  if (pipe(pipefd) < 0 || pipe(ready) < 0) {
    return -1;
  }
  agent_pid = fork();
  if (agent_pid == 0) {
    close(pipefd[1]);
    close(ready[0]);
    ab_agent_options o = { .cfg = cfg, .log = file_log, .allowed_uid = 4242,
                           .parent_fd = pipefd[0], .ready_fd = ready[1] };
    ab_error err;
    _exit(ab_agent_run(&o, &err) == 0 ? 0 : 1);
  }
  close(pipefd[0]);
  close(ready[1]);
  lifeline = pipefd[1];
  char c;
  int ok = read(ready[0], &c, 1) == 1;
  close(ready[0]);
  return ok ? 0 : -1;
}

static int group_teardown(void **state) {
  (void) state;
  if (lifeline >= 0) {
    close(lifeline);
  }
  if (agent_pid > 0) {
    kill(agent_pid, SIGTERM);
    waitpid(agent_pid, NULL, 0);
  }
  ab_config_free(cfg);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
  return system(cmd);
}

static ab_shared *connect_as(const char *user) {
  ab_error err;
  ab_shared *s = ab_shared_connect(cfg, &err);
  if (s == NULL) {
    fail_msg("connect: %s", err.message);
  }
  ab_principal who = { .user = user };
  if (ab_shared_login(s, user != NULL ? &who : NULL, &err) < 0) {
    fail_msg("login: %s", err.message);
  }
  return s;
}

static cJSON *req(const char *op, const char *org, const char *id) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "op", op);
  if (org != NULL) cJSON_AddStringToObject(r, "org", org);
  if (id != NULL) cJSON_AddStringToObject(r, "id", id);
  return r;
}

/* Nothing but hello and login before login; one login per connection. */
static void test_login_first(void **state) {
  (void) state;
  ab_error err;
  ab_shared *s = ab_shared_connect(cfg, &err);
  assert_non_null(s);
  assert_null(ab_shared_call(s, req("read_check", "999888777", ID1), &err));
  assert_int_equal(err.err_no, EPERM);
  assert_int_equal(ab_shared_login(s, NULL, &err), 0);
  assert_int_equal(ab_shared_login(s, NULL, &err), -1);
  assert_int_equal(err.err_no, EPERM);
  ab_shared_free(s);
}

/* A user may only act for the organisations and clients of mounts it sees. */
static void test_user_scope(void **state) {
  (void) state;
  ab_error err;
  ab_shared *alice = connect_as("alice");
  assert_int_equal(ab_shared_read_check(alice, "999888777", ID1, &err), 0);
  assert_int_equal(ab_shared_read_check(alice, "111222333", ID1, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  ab_shared_token_ctx tc = { .shared = alice, .client = "other" };
  long long valid = 0;
  assert_null(ab_shared_token(&tc, NULL, &valid, &err));
  assert_int_equal(err.err_no, EACCES);
  ab_shared_free(alice);
  ab_shared *bob = connect_as("bob");
  assert_int_equal(ab_shared_read_check(bob, "111222333", ID1, &err), 0);
  /* ids are checked before they reach a store key */
  assert_int_equal(ab_shared_read_check(bob, "111222333", "../../etc", &err), -1);
  assert_int_equal(err.err_no, EINVAL);
  ab_shared_free(bob);
}

/* Search: 10 per minute for the organisation, whoever asks. */
static void test_budget(void **state) {
  (void) state;
  ab_error err;
  ab_shared *a = connect_as(NULL);
  ab_shared *b = connect_as(NULL);
  long long retry = -1;
  for (int i = 0; i < 10; i++) {
    assert_int_equal(ab_shared_budget(i % 2 ? a : b, "999888777", "search", &retry, &err), 1);
  }
  assert_int_equal(ab_shared_budget(a, "999888777", "search", &retry, &err), 0);
  assert_true(retry > 50000 && retry <= 61000);
  assert_int_equal(ab_shared_budget(b, "999888777", "overview", &retry, &err), 1);
  assert_int_equal(ab_shared_budget(b, "999888777", "frobnicate", &retry, &err), -1);
  assert_int_equal(err.err_no, EINVAL);
  ab_shared_free(a);
  ab_shared_free(b);
}

/* One confirm per file: a second claimant is told to wait; after the
 * confirm everyone is told it is done. */
static void test_confirm_claims(void **state) {
  (void) state;
  ab_error err;
  ab_shared *a = connect_as(NULL);
  ab_shared *b = connect_as(NULL);
  char ca[160], cb[160];
  assert_int_equal(ab_shared_read_mark(a, "999888777", ID1, &err), 0);
  assert_int_equal(ab_shared_read_check(b, "999888777", ID1, &err), 1);
  assert_int_equal(ab_shared_confirm_claim(a, "999888777", ID1, ca, &err), AB_CLAIM_OK);
  assert_int_equal(ab_shared_confirm_claim(b, "999888777", ID1, cb, &err), AB_CLAIM_BUSY);
  /* a failed confirm releases the claim */
  assert_int_equal(ab_shared_confirm_done(a, "999888777", ID1, ca, 0, &err), 0);
  assert_int_equal(ab_shared_confirm_claim(b, "999888777", ID1, cb, &err), AB_CLAIM_OK);
  assert_int_equal(ab_shared_confirm_done(b, "999888777", ID1, cb, 1, &err), 0);
  assert_int_equal(ab_shared_confirm_claim(a, "999888777", ID1, ca, &err), AB_CLAIM_ALREADY_CONFIRMED);
  ab_shared_free(a);
  ab_shared_free(b);
}

/* The inbox listings (ab_hub_feed.c): a version to cache by, only the
 * user's own organisation and inbox resources, events only from the
 * administrator's tools, each event a hint waiting for an overview. */
static void test_inbox(void **state) {
  (void) state;
  ab_error err;
  ab_shared *a = connect_as(NULL);
  unsigned long long v = 0, v2 = 0;
  char *entries = NULL;
  assert_int_equal(ab_shared_inbox_list(a, "999888777", "r1", 0, 0, &v, &entries, &err), 0);
  assert_true(v > 0);
  assert_non_null(entries);
  assert_string_equal(entries, "");             /* nothing listed yet */
  free(entries);
  entries = NULL;
  assert_int_equal(ab_shared_inbox_list(a, "999888777", "r1", v, 0, &v2, &entries, &err), 0);
  assert_null(entries);                         /* unchanged since v */
  assert_true(v2 == v);
  assert_int_equal(ab_shared_inbox_list(a, "999888777", "r2", 0, 0, &v, &entries, &err), -1);
  assert_int_equal(err.err_no, ENOENT);         /* no inbox of that org on r2 */
  ab_shared *bob = connect_as("bob");
  assert_int_equal(ab_shared_inbox_list(bob, "111222333", "r1", 0, 0, &v, &entries, &err), -1);
  assert_int_equal(err.err_no, ENOENT);         /* his org has no inbox on r1 */
  /* A published event for our inbox becomes a transfer waiting for its
   * overview; SFTP users' sessions may not inject events. */
  cJSON *ev = cJSON_Parse("{\"specversion\":\"1.0\",\"id\":\"e1\",\"type\":\"no.altinn.broker.published\","
                          "\"resource\":\"urn:altinn:resource:r1\",\"resourceinstance\":\"" ID2 "\","
                          "\"subject\":\"urn:altinn:organization:identifier-no:999888777\","
                          "\"data\":{\"Role\":\"Recipient\"}}");
  cJSON *r = req("inbox_event", NULL, NULL);
  cJSON_AddItemToObject(r, "event", cJSON_Duplicate(ev, 1));
  assert_null(ab_shared_call(bob, r, &err));
  assert_int_equal(err.err_no, EACCES);
  r = req("inbox_event", NULL, NULL);
  cJSON_AddItemToObject(r, "event", ev);
  cJSON *reply = ab_shared_call(a, r, &err);
  assert_non_null(reply);
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "feeds")), 1);
  cJSON_Delete(reply);
  r = req("inbox_status", "999888777", NULL);
  cJSON_AddStringToObject(r, "resource", "r1");
  reply = ab_shared_call(a, r, &err);
  assert_non_null(reply);
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "pending")), 1);
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "listed")), 0);
  cJSON_Delete(reply);
  ab_shared_free(bob);
  ab_shared_free(a);
}

/* The journal: records by id, updates in place, names a duplicate ref. */
static void test_journal(void **state) {
  (void) state;
  ab_error err;
  ab_shared *s = connect_as(NULL);
  char prev[37];
  cJSON *e = cJSON_Parse("{\"id\":\"" ID1 "\",\"name\":\"a.txt\",\"ref\":\"batch-7\",\"state\":\"initialized\"}");
  assert_int_equal(ab_shared_journal_add(s, "999888777", e, prev, &err), 0);
  assert_string_equal(prev, "");
  cJSON_ReplaceItemInObject(e, "state", cJSON_CreateString("uploaded"));
  assert_int_equal(ab_shared_journal_add(s, "999888777", e, prev, &err), 0);
  cJSON_Delete(e);
  e = cJSON_Parse("{\"id\":\"" ID2 "\",\"name\":\"a.txt\",\"ref\":\"batch-7\",\"state\":\"initialized\"}");
  assert_int_equal(ab_shared_journal_add(s, "999888777", e, prev, &err), 0);
  assert_string_equal(prev, ID1); /* the same sender's reference again */
  cJSON_Delete(e);
  cJSON *r = req("journal_list", "999888777", NULL);
  cJSON *reply = ab_shared_call(s, r, &err);
  assert_non_null(reply);
  cJSON *entries = cJSON_GetObjectItem(reply, "entries");
  assert_int_equal(cJSON_GetArraySize(entries), 2); /* the update added no row */
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 1), "state")),
                      "uploaded");
  cJSON_Delete(reply);
  reply = ab_shared_call(s, req("journal_get", "999888777", ID2), &err);
  assert_non_null(reply);
  cJSON_Delete(reply);
  ab_shared_free(s);
}

/* Another configuration on the same state directory is not served. */
static void test_other_config_refused(void **state) {
  (void) state;
  char other[200];
  snprintf(other, sizeof(other), "%s/other.conf", tmpdir);
  write_conf(other, "bbbbbbbb");
  ab_config *c = load(other);
  ab_error err;
  assert_null(ab_shared_connect(c, &err));
  assert_int_equal(err.err_no, ESTALE);
  ab_config_free(c);
}

/* Only root and the daemon's User may talk to it, even when the socket is
 * reachable. */
static void test_peer_uid_refused(void **state) {
  (void) state;
  if (geteuid() != 0) {
    skip();
  }
  char sock[200];
  snprintf(sock, sizeof(sock), "%s/agent.sock", state_dir);
  chmod(state_dir, 0711);
  chmod(sock, 0666);
  pid_t pid = fork();
  if (pid == 0) {
    if (setuid(65534) < 0) {
      _exit(2);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, sock, strlen(sock) < sizeof(sa.sun_path) ? strlen(sock) + 1 : 0);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
      _exit(3);
    }
    const char hello[] = "{\"op\":\"hello\"}\n";
    (void) !send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf)); /* refused: closed without a reply */
    _exit(n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  chmod(state_dir, 0700);
  chmod(sock, 0600);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  FILE *f = fopen(log_path, "r");
  char line[512];
  int logged = 0;
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    logged |= strstr(line, "refused a connection from uid 65534") != NULL;
  }
  if (f != NULL) fclose(f);
  assert_true(logged);
}

/* The daemon's end of the pipe closes: the agent stops, removes its socket
 * and leaves its store closed (a new owner can take the directory). */
static void test_exits_with_parent(void **state) {
  (void) state;
  close(lifeline);
  lifeline = -1;
  int status = -1;
  for (int i = 0; i < 100 && waitpid(agent_pid, &status, WNOHANG) == 0; i++) {
    struct timespec ts = { 0, 50 * 1000000L };
    nanosleep(&ts, NULL);
  }
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  agent_pid = -1;
  char sock[200];
  snprintf(sock, sizeof(sock), "%s/agent.sock", state_dir);
  assert_int_equal(access(sock, F_OK), -1);
  ab_error err;
  ab_hub_options ho = { .cfg = cfg };
  ab_hub *h = ab_hub_new(&ho, &err); /* the store is free again */
  assert_non_null(h);
  ab_shared *s = ab_shared_in_process(h);
  ab_principal who = { .user = "alice" };
  assert_int_equal(ab_shared_login(s, &who, &err), 0);
  /* and what the agent recorded is there */
  assert_int_equal(ab_shared_read_check(s, "999888777", ID1, &err), 1);
  ab_shared_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_login_first),
    cmocka_unit_test(test_user_scope),
    cmocka_unit_test(test_budget),
    cmocka_unit_test(test_confirm_claims),
    cmocka_unit_test(test_inbox),
    cmocka_unit_test(test_journal),
    cmocka_unit_test(test_other_config_refused),
    cmocka_unit_test(test_peer_uid_refused),
    cmocka_unit_test(test_exits_with_parent),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
