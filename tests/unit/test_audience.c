/* Unit tests: which mounts a user sees (plugin/ab_audience.c) and the
 * configuration rules that keep one organisation's paths from another's:
 * users= and groups=, the same path for disjoint audiences, overlaps refused
 * at startup or at login; and reading the config as ProFTPD does (Include of
 * a directory or pattern, continued lines). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ab_audience.h"
#include "ab_config.h"

static char tmpdir[64];

static int setup(void **state) {
  (void) state;
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/ab-test-audience.XXXXXX");
  return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void) state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
  return system(cmd);
}

static const char *write_file(const char *name, const char *text) {
  static char path[256];
  snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static int load(const char *text, ab_error *err, ab_config **out) {
  const char *path = write_file("proftpd.conf", text);
  ab_config *cfg = ab_config_new();
  int rc = ab_config_load_file(cfg, path, err);
  if (out != NULL && rc == 0) {
    *out = cfg;
  } else {
    ab_config_free(cfg);
  }
  return rc;
}

#define HEAD "AltinnBrokerEnvironment tt02\n" \
  "AltinnBrokerClient a client-id=a org=111111111 key=/a.pem kid=a\n" \
  "AltinnBrokerClient b client-id=b org=222222222 key=/b.pem kid=b\n"

/* Two organisations, each with /outbox and /inbox, one bound by user name
 * and one by group: each principal sees exactly its own two mounts. */
static void two_organisations_same_paths(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = NULL;
  int rc = load(HEAD
                "AltinnBrokerMount /outbox client=a resource=r direction=outbox recipients=222222222 users=alice\n"
                "AltinnBrokerMount /inbox  client=a resource=r direction=inbox users=alice\n"
                "AltinnBrokerMount /outbox client=b resource=r direction=outbox recipients=111111111 groups=org-b\n"
                "AltinnBrokerMount /inbox  client=b resource=r direction=inbox groups=org-b\n",
                &err, &cfg);
  if (rc != 0) fail_msg("%s", err.message);
  const ab_mount_cfg *seen[4];
  size_t n = 0;
  ab_principal alice = { .user = "alice" };
  assert_int_equal(ab_audience_mounts(cfg, &alice, seen, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(seen[0]->client->org, "111111111");
  assert_string_equal(seen[1]->client->org, "111111111");
  const char *groups_b[] = { "staff", "org-b" };
  ab_principal bob = { .user = "bob", .groups = groups_b, .n_groups = 2 };
  assert_int_equal(ab_audience_mounts(cfg, &bob, seen, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(seen[0]->client->org, "222222222");
  assert_string_equal(seen[1]->path, "/inbox");
  const char *groups_m[] = { "staff" };
  ab_principal mallory = { .user = "mallory", .groups = groups_m, .n_groups = 1 };
  assert_int_equal(ab_audience_mounts(cfg, &mallory, seen, &n, &err), 0);
  assert_int_equal(n, 0);
  /* A user in both audiences cannot log in: /outbox would be ambiguous. */
  const char *groups_x[] = { "org-b" };
  ab_principal both = { .user = "alice", .groups = groups_x, .n_groups = 1 };
  assert_int_equal(ab_audience_mounts(cfg, &both, seen, &n, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  assert_non_null(strstr(err.message, "would see two mounts at /outbox"));
  assert_non_null(strstr(err.message, "proftpd.conf:4"));
  /* The admin without -u/-g must choose. */
  assert_int_equal(ab_audience_mounts(cfg, NULL, seen, &n, &err), -1);
  assert_non_null(strstr(err.message, "-u USER or -g GROUP"));
  ab_config_free(cfg);
}

static void visibility(void **state) {
  (void) state;
  char *users[] = { "alice" };
  char *groups[] = { "org-a" };
  ab_mount_cfg open_mount = { .path = "/o" };
  ab_mount_cfg by_user = { .path = "/u", .users = users, .n_users = 1 };
  ab_mount_cfg by_group = { .path = "/g", .groups = groups, .n_groups = 1 };
  const char *in_a[] = { "org-a" };
  ab_principal nobody = { .user = "eve" };
  ab_principal member = { .user = "carol", .groups = in_a, .n_groups = 1 };
  assert_true(ab_mount_visible_to(&open_mount, &nobody));
  assert_false(ab_mount_visible_to(&by_user, &nobody));
  assert_false(ab_mount_visible_to(&by_group, &nobody));
  assert_true(ab_mount_visible_to(&by_group, &member));
  assert_false(ab_mount_visible_to(&by_user, &member));
  assert_true(ab_mount_visible_to(&by_user, NULL));
  /* A group named like a user does not let the user in. */
  const char *named_alice[] = { "alice" };
  ab_principal imposter = { .user = "eve", .groups = named_alice, .n_groups = 1 };
  assert_false(ab_mount_visible_to(&by_user, &imposter));
  assert_true(ab_mount_paths_clash("/a", "/a"));
  assert_true(ab_mount_paths_clash("/a", "/a/b"));
  assert_false(ab_mount_paths_clash("/a", "/ab"));
}

/* Overlaps provable from the config are refused at startup, naming both
 * directives. */
static void overlaps_refused(void **state) {
  (void) state;
  static const struct { const char *text; const char *expect; } cases[] = {
    { HEAD "AltinnBrokerMount /in client=a resource=r direction=inbox\n"
           "AltinnBrokerMount /in client=b resource=r direction=inbox users=bob\n", "declared twice" },
    { HEAD "AltinnBrokerMount /in client=a resource=r direction=inbox users=alice,bob\n"
           "AltinnBrokerMount /in client=b resource=r direction=inbox users=bob\n", "declared twice" },
    { HEAD "AltinnBrokerMount /in client=a resource=r direction=inbox groups=g1\n"
           "AltinnBrokerMount /in/sub client=b resource=r direction=inbox groups=g2,g1\n", "nest" },
    { HEAD "AltinnBrokerMount /in client=a resource=r direction=inbox users=\n", "expected key=value" },
    { HEAD "AltinnBrokerMount /in client=a resource=r direction=inbox groups=,\n", "names nobody" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ab_error err;
    assert_int_equal(load(cases[i].text, &err, NULL), -1);
    if (strstr(err.message, cases[i].expect) == NULL || strstr(err.message, "proftpd.conf:") == NULL) {
      fail_msg("case %zu: message '%s' lacks '%s' or the file:line", i, err.message, cases[i].expect);
    }
  }
  ab_error err;
  /* Nested paths for disjoint audiences are fine. */
  assert_int_equal(load(HEAD "AltinnBrokerMount /in client=a resource=r direction=inbox users=alice\n"
                        "AltinnBrokerMount /in/b client=b resource=r direction=inbox users=bob\n",
                        &err, NULL), 0);
}

/* Debian's proftpd.conf ends with `Include /etc/proftpd/conf.d/`; the CLI
 * must read the gateway's config the way ProFTPD does. */
static void include_directory_and_continuation(void **state) {
  (void) state;
  char dir[128], path[256], text[512];
  snprintf(dir, sizeof(dir), "%s/conf.d", tmpdir);
  assert_int_equal(mkdir(dir, 0755), 0);
  write_file("conf.d/20-mounts.conf",
             "AltinnBrokerMount /inbox client=a resource=r \\\n"
             "    direction=inbox users=alice\n");
  write_file("conf.d/10-clients.conf", HEAD);
  write_file("conf.d/30-broken.conf~", "AltinnBrokerFrobnicate yes\n");
  write_file("conf.d/40-broken.conf.swp", "AltinnBrokerFrobnicate yes\n");
  snprintf(text, sizeof(text), "ServerName x\nInclude %s/\n", dir);
  ab_error err;
  ab_config *cfg = NULL;
  if (load(text, &err, &cfg) != 0) fail_msg("%s", err.message);
  assert_int_equal(cfg->n_mounts, 1);
  assert_int_equal(cfg->mounts[0].direction, AB_INBOX);
  assert_string_equal(cfg->mounts[0].users[0], "alice");
  snprintf(path, sizeof(path), "%s/20-mounts.conf:2", dir);
  assert_string_equal(cfg->mounts[0].source, path);
  ab_config_free(cfg);
  /* A pattern, and an error inside an included file names that file. */
  write_file("conf.d/25-bad.conf", "AltinnBrokerMount /x client=a resource=r direction=up\n");
  snprintf(text, sizeof(text), "Include %s/*.conf\n", dir);
  assert_int_equal(load(text, &err, NULL), -1);
  snprintf(path, sizeof(path), "%s/25-bad.conf:1", dir);
  if (strstr(err.message, path) == NULL) fail_msg("%s lacks %s", err.message, path);
  snprintf(text, sizeof(text), "Include %s/missing.conf\n", dir);
  assert_int_equal(load(text, &err, NULL), -1);
  assert_non_null(strstr(err.message, "proftpd.conf:1: Include"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(two_organisations_same_paths),
    cmocka_unit_test(visibility),
    cmocka_unit_test(overlaps_refused),
    cmocka_unit_test(include_directory_and_continuation),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
