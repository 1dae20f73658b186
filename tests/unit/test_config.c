/* Unit tests: the AltinnBroker* directives (plugin/ab_config.c). Every bad
 * line must be refused with its location and a reason. */
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

#include "ab_config.h"

static char tmpdir[64];

static int setup(void **state) {
  (void) state;
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/ab-test-config.XXXXXX");
  return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void) state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
  return system(cmd);
}

static char *write_file(const char *name, const char *text, mode_t mode) {
  static char path[128];
  snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
  return path;
}

static int load(const char *text, ab_error *err, ab_config **out) {
  char *path = write_file("proftpd.conf", text, 0644);
  ab_config *cfg = ab_config_new();
  int rc = ab_config_load_file(cfg, path, err);
  if (out != NULL && rc == 0) {
    *out = cfg;
  } else {
    ab_config_free(cfg);
  }
  return rc;
}

#define GOOD_CLIENT "AltinnBrokerClient gw client-id=abc org=999888777 key=/k.pem kid=k1\n"

static void valid_config(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = NULL;
  int rc = load("ServerName x\n<IfModule mod_altinn_broker.c>\n"
                "AltinnBrokerEnvironment tt02\n" GOOD_CLIENT
                "AltinnBrokerMount /outbox/ client=gw resource=urn:altinn:resource:res1 direction=outbox "
                "recipients=312345678,0192:111222333,urn:altinn:organization:identifier-no:444555666\n"
                "AltinnBrokerMount /inbox client=gw resource=res1 direction=inbox users=\"alice,bob\"\n"
                "</IfModule>\n", &err, &cfg);
  assert_int_equal(rc, 0);
  assert_string_equal(cfg->platform_url, "https://platform.tt02.altinn.no");
  assert_string_equal(cfg->maskinporten_issuer, "https://test.maskinporten.no/");
  assert_string_equal(cfg->token_url, "https://test.maskinporten.no/token");
  assert_string_equal(cfg->exchange_url,
                      "https://platform.tt02.altinn.no/authentication/api/v1/exchange/maskinporten");
  assert_int_equal(cfg->n_mounts, 2);
  assert_string_equal(cfg->mounts[0].path, "/outbox");
  assert_string_equal(cfg->mounts[0].resource_id, "res1");
  assert_int_equal(cfg->mounts[0].n_recipients, 3);
  assert_string_equal(cfg->mounts[0].recipients[0], "0192:312345678");
  assert_string_equal(cfg->mounts[0].recipients[2], "0192:444555666");
  assert_ptr_equal(cfg->mounts[1].client, &cfg->clients[0]);
  assert_int_equal(cfg->mounts[1].n_users, 2);
  assert_string_equal(cfg->mounts[1].users[1], "bob");
  /* Without events= and without the Events scope: search only. */
  char *scope = ab_config_client_scope(cfg, &cfg->clients[0]);
  assert_string_equal(scope, "altinn:broker.read altinn:broker.write");
  free(scope);
  assert_int_equal(cfg->mounts[1].events, 2);
  assert_int_equal(cfg->mounts[1].confirm, AB_CONFIRM_ON_RM);
  assert_int_equal(cfg->mounts[1].by_sender, 0);
  assert_int_equal(ab_config_rate_limit(cfg, "search"), 0);   /* Altinn's limit */
  ab_config_free(cfg);
}

#define TT02 "AltinnBrokerEnvironment tt02\n" GOOD_CLIENT

static void inbox_options(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = NULL;
  assert_int_equal(load(TT02 "AltinnBrokerMount /in client=gw resource=r direction=inbox events=off "
                        "confirm=after-read layout=by-sender\n"
                        "AltinnBrokerMount /in2 client=gw resource=r direction=inbox events=webhook "
                        "confirm=never layout=flat\n"
                        "AltinnBrokerRateLimit search=5 overview=60\n", &err, &cfg), 0);
  assert_int_equal(cfg->mounts[0].events, 2);
  assert_int_equal(cfg->mounts[0].confirm, AB_CONFIRM_AFTER_READ);
  assert_int_equal(cfg->mounts[0].by_sender, 1);
  assert_int_equal(cfg->mounts[1].events, 1);
  assert_int_equal(cfg->mounts[1].confirm, AB_CONFIRM_NEVER);
  assert_int_equal(cfg->mounts[1].by_sender, 0);
  assert_int_equal(ab_config_rate_limit(cfg, "search"), 5);
  assert_int_equal(ab_config_rate_limit(cfg, "overview"), 60);
  assert_int_equal(ab_config_rate_limit(cfg, "download"), 0);
  assert_int_equal(ab_config_rate_limit(cfg, "events"), 0);
  ab_config_free(cfg);
  /* events=pull asks for the Events scope; a client whose scope= has it
   * pulls events without events=. */
  assert_int_equal(load(TT02 "AltinnBrokerMount /in client=gw resource=r direction=inbox "
                        "events=pull\n", &err, &cfg), 0);
  char *scope = ab_config_client_scope(cfg, &cfg->clients[0]);
  assert_string_equal(scope, "altinn:broker.read altinn:events.subscribe");
  free(scope);
  ab_config_free(cfg);
  assert_int_equal(load("AltinnBrokerEnvironment tt02\n"
                        "AltinnBrokerClient gw client-id=abc org=999888777 key=/k.pem kid=k1 "
                        "scope=\"altinn:broker.read altinn:events.subscribe\"\n"
                        "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", &err, &cfg), 0);
  assert_int_equal(cfg->mounts[0].events, 0);
  ab_config_free(cfg);
  /* Mistakes name the setting and what is allowed. */
  assert_int_equal(load(TT02 "AltinnBrokerMount /in client=gw resource=r direction=inbox "
                        "confirm=sometimes\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "confirm must be on-rm, after-read or never"));
  assert_int_equal(load(TT02 "AltinnBrokerMount /in client=gw resource=r direction=inbox "
                        "events=push\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "events must be pull, webhook or off"));
  assert_int_equal(load(TT02 "AltinnBrokerMount /in client=gw resource=r direction=inbox "
                        "layout=tree\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "layout must be flat or by-sender"));
  assert_int_equal(load(TT02 "AltinnBrokerMount /o client=gw resource=r direction=outbox "
                        "recipients=312345678 layout=by-sender\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "only apply to direction=inbox"));
  assert_int_equal(load(TT02 "AltinnBrokerMount /in client=gw resource=r direction=inbox\n"
                        "AltinnBrokerRateLimit searches=5\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "unknown endpoint"));
  assert_int_equal(load(TT02 "AltinnBrokerMount /in client=gw resource=r direction=inbox\n"
                        "AltinnBrokerRateLimit search=0\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "calls per minute"));
}

static void production_and_custom(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = NULL;
  assert_int_equal(load("AltinnBrokerEnvironment production\n" GOOD_CLIENT
                        "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", &err, &cfg), 0);
  assert_string_equal(cfg->platform_url, "https://platform.altinn.no");
  assert_string_equal(cfg->maskinporten_issuer, "https://maskinporten.no/");
  ab_config_free(cfg);
  assert_int_equal(load("AltinnBrokerEnvironment custom\n"
                        "AltinnBrokerPlatformURL https://127.0.0.1:8443/\n"
                        "AltinnBrokerMaskinportenURL https://127.0.0.1:8443\n" GOOD_CLIENT
                        "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", &err, &cfg), 0);
  assert_string_equal(cfg->platform_url, "https://127.0.0.1:8443");
  assert_string_equal(cfg->maskinporten_issuer, "https://127.0.0.1:8443/");
  assert_string_equal(cfg->token_url, "https://127.0.0.1:8443/token");
  ab_config_free(cfg);
}

/* Each bad line: the error names file:line and says what is wrong. */
static void bad_lines(void **state) {
  (void) state;
  static const struct { const char *text; const char *expect; } cases[] = {
    { "AltinnBrokerEnvironment staging\n", "must be tt02, production or custom" },
    { "AltinnBrokerPlatformURL http://x\n", "must be an https:// URL" },
    { "AltinnBrokerSpoolDir relative/dir\n", "absolute path" },
    { "AltinnBrokerClient gw client-id=a org=12345 key=/k kid=k\n", "9-digit organisation number" },
    { "AltinnBrokerClient gw client-id=a org=999888777 key=/k\n", "key= needs kid=" },
    { "AltinnBrokerClient gw client-id=a org=999888777\n", "missing key= (with kid=), jwk= or p12=" },
    { "AltinnBrokerClient gw client-id=a org=999888777 key=/k kid=k p12=/p\n", "exactly one of key=" },
    { "AltinnBrokerClient gw client-id=a org=999888777 p12=/p kid=k\n", "drop kid=" },
    { "AltinnBrokerClient gw client-id=a org=999888777 jwk=/j cert=/c\n", "cert= goes with key=" },
    { "AltinnBrokerClient gw client-id=a org=999888777 p12=/p key-password-file=/f\n", "goes with key=" },
    { "AltinnBrokerClient gw client-id=a org=999888777 key=/k kid=k p12-password-file=/f\n", "goes with p12=" },
    { "AltinnBrokerClient gw client-id=a org=999888777 key=/k kid=k alg=ES256\n", "RS256, RS384 and RS512" },
    { "AltinnBrokerClient gw client-id=a org=999888777 p12=p.p12\n", "p12= must be an absolute path" },
    { "AltinnBrokerClient gw client-id=a org=999888777 jwk=/j external-ref=x\n", "add systemuser-org=" },
    { "AltinnBrokerClient gw client-id=a org=999888777 jwk=/j systemuser-org=1234\n", "9-digit" },
    { "AltinnBrokerClient gw client-id=a org=999888777 key=k.pem kid=k\n", "absolute path" },
    { "AltinnBrokerClient gw colour=blue\n", "unknown setting 'colour'" },
    { GOOD_CLIENT GOOD_CLIENT, "defined twice" },
    { "AltinnBrokerMount relative client=gw resource=r direction=inbox\n", "must be absolute" },
    { "AltinnBrokerMount /o client=gw resource=r direction=sideways\n", "'outbox' or 'inbox'" },
    { "AltinnBrokerMount /o client=gw resource=r direction=outbox\n", "needs recipients" },
    { "AltinnBrokerMount /o client=gw resource=r direction=outbox recipients=12\n", "not an organisation number" },
    { "AltinnBrokerMount /o client=gw direction=inbox\n", "missing resource=" },
    { "AltinnBrokerMount /o client=gw resource=r direction=inbox noequals\n", "expected key=value" },
    { "AltinnBrokerFrobnicate on\n", "unknown directive" },
    { "AltinnBrokerMount /o client=gw resource=\"r direction=inbox\n", "unterminated quote" },
    { "AltinnBrokerRedis localhost\n", "must be host:port" },
    { "AltinnBrokerRedis localhost:99999\n", "must be host:port" },
    { "AltinnBrokerRedisTLS maybe\n", "must be on or off" },
    { "AltinnBrokerRedisCA ca.pem\n", "absolute path" },
    { "AltinnBrokerRedisPassword file:secret.txt\n", "absolute path" },
    { "AltinnBrokerRedisTimeout 5s\n", "between 10 and 60000" },
    { "AltinnBrokerRedisPrefix \"a b\"\n", "without spaces" },
    { "AltinnBrokerRedisFlavour x\n", "unknown directive" },
    { "AltinnBrokerAgent sometimes\n", "must be on, off or external" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ab_error err;
    assert_int_equal(load(cases[i].text, &err, NULL), -1);
    if (strstr(err.message, cases[i].expect) == NULL || strstr(err.message, "proftpd.conf:") == NULL) {
      fail_msg("case %zu: message '%s' lacks '%s' or the file:line", i, err.message, cases[i].expect);
    }
  }
}

static void cross_checks(void **state) {
  (void) state;
  ab_error err;
  assert_int_equal(load("AltinnBrokerEnvironment tt02\n" GOOD_CLIENT "AltinnBrokerMount /in client=other resource=r direction=inbox\n",
                        &err, NULL), -1);
  if (strstr(err.message, "proftpd.conf:3") == NULL) fail_msg("%s", err.message);
  assert_non_null(strstr(err.message, "no AltinnBrokerClient has that name"));
  assert_int_equal(load("AltinnBrokerEnvironment tt02\n" GOOD_CLIENT "AltinnBrokerMount /a client=gw resource=r direction=inbox\n"
                        "AltinnBrokerMount /a/b client=gw resource=r direction=inbox\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "may not nest"));
  assert_int_equal(load("AltinnBrokerEnvironment tt02\n" GOOD_CLIENT, &err, NULL), -1);
  assert_non_null(strstr(err.message, "no AltinnBrokerMount"));
  assert_int_equal(load("AltinnBrokerEnvironment custom\n" GOOD_CLIENT
                        "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "needs AltinnBrokerPlatformURL"));
}

/* Redis settings: parsed, defaulted, and the password file read like a key
 * (owner-only) and wiped with the keys. */
static void redis_settings(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = NULL;
  assert_int_equal(load("AltinnBrokerEnvironment tt02\n" GOOD_CLIENT
                        "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", &err, &cfg), 0);
  assert_null(cfg->redis_host);
  assert_string_equal(cfg->redis_prefix, "altinn-broker:");
  assert_int_equal(cfg->redis_timeout_ms, 500);
  assert_int_equal(cfg->agent_off, 0);
  ab_config_free(cfg);

  char *pw = write_file("redis.pass", "s3cret\n", 0640);
  char pwpath[128], keypath[128], conf[1024], cmd[512];
  snprintf(pwpath, sizeof(pwpath), "%s", pw);
  snprintf(keypath, sizeof(keypath), "%s/redis-test-key.pem", tmpdir);
  snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
           "-out %s 2>/dev/null && chmod 600 %s", keypath, keypath);
  assert_int_equal(system(cmd), 0);
  snprintf(conf, sizeof(conf), "AltinnBrokerEnvironment tt02\n"
           "AltinnBrokerClient gw client-id=abc org=999888777 key=%s kid=k1\n"
           "AltinnBrokerMount /in client=gw resource=r direction=inbox\n"
           "AltinnBrokerRedis [::1]:6380\nAltinnBrokerRedisUser gateway\n"
           "AltinnBrokerRedisPassword file:%s\nAltinnBrokerRedisTLS on\n"
           "AltinnBrokerRedisPrefix ab:prod:\nAltinnBrokerRedisTimeout 250\nAltinnBrokerAgent off\n",
           keypath, pwpath);
  assert_int_equal(load(conf, &err, &cfg), 0);
  assert_string_equal(cfg->redis_host, "::1");
  assert_int_equal(cfg->redis_port, 6380);
  assert_string_equal(cfg->redis_user, "gateway");
  assert_int_equal(cfg->redis_tls, 1);
  assert_string_equal(cfg->redis_prefix, "ab:prod:");
  assert_int_equal(cfg->redis_timeout_ms, 250);
  assert_int_equal(cfg->agent_off, 1);
  assert_int_equal(ab_config_load_secrets(cfg, &err), -1);
  assert_non_null(strstr(err.message, "proftpd.conf:6: AltinnBrokerRedisPassword"));
  assert_non_null(strstr(err.message, "chmod 600"));
  chmod(pwpath, 0600);
  assert_int_equal(ab_config_load_secrets(cfg, &err), 0);
  assert_string_equal(cfg->redis_password, "s3cret");
  assert_non_null(cfg->clients[0].key);
  ab_config_wipe_secrets(cfg);
  assert_null(cfg->redis_password);
  assert_null(cfg->clients[0].key);
  ab_config_free(cfg);

  /* settings without a server are a mistake worth stopping for */
  assert_int_equal(load("AltinnBrokerEnvironment tt02\n" GOOD_CLIENT
                        "AltinnBrokerMount /in client=gw resource=r direction=inbox\n"
                        "AltinnBrokerRedisTLS on\n", &err, NULL), -1);
  assert_non_null(strstr(err.message, "no AltinnBrokerRedis host:port"));
}

static void key_permissions(void **state) {
  (void) state;
  ab_error err;
  char conf[512];
  char keypath[128];
  snprintf(keypath, sizeof(keypath), "%s/key.pem", tmpdir);
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
           "-out %s 2>/dev/null", keypath);
  assert_int_equal(system(cmd), 0);
  chmod(keypath, 0640);
  snprintf(conf, sizeof(conf), "AltinnBrokerEnvironment tt02\n"
           "AltinnBrokerClient gw client-id=a org=999888777 key=%s kid=k\n"
           "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", keypath);
  ab_config *cfg = NULL;
  assert_int_equal(load(conf, &err, &cfg), 0);
  assert_int_equal(ab_config_load_secrets(cfg, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  assert_non_null(strstr(err.message, "readable by group or others"));
  assert_non_null(strstr(err.message, "chmod 600"));
  assert_non_null(strstr(err.message, "proftpd.conf:2: AltinnBrokerClient gw"));
  chmod(keypath, 0600);
  assert_int_equal(ab_config_load_secrets(cfg, &err), 0);
  assert_non_null(cfg->clients[0].key);
  assert_string_equal(ab_key_kid(cfg->clients[0].key), "k");
  ab_config_free(cfg);
  /* A symlink is not followed: the key must be the file itself. */
  char link[160];
  snprintf(link, sizeof(link), "%s/link.pem", tmpdir);
  assert_int_equal(symlink(keypath, link), 0);
  snprintf(conf, sizeof(conf), "AltinnBrokerEnvironment tt02\n"
           "AltinnBrokerClient gw client-id=a org=999888777 key=%s kid=k\n"
           "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", link);
  assert_int_equal(load(conf, &err, &cfg), 0);
  assert_int_equal(ab_config_load_secrets(cfg, &err), -1);
  assert_non_null(strstr(err.message, "symbolic link"));
  ab_config_free(cfg);
}

/* New client settings reach the auth configuration. */
static void client_settings(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = NULL;
  assert_int_equal(load("AltinnBrokerEnvironment tt02\n"
                        "AltinnBrokerClient gw client-id=abc org=999888777 p12=/etc/gw.p12 "
                        "p12-password-file=/etc/gw.pass alg=RS512 resource=https://api.example/ "
                        "systemuser-org=312345678 external-ref=ref-1\n"
                        "AltinnBrokerMount /in client=gw resource=r direction=inbox\n", &err, &cfg), 0);
  ab_auth_config ac;
  ab_config_auth(cfg, &cfg->clients[0], "altinn:broker.read", &ac);
  assert_string_equal(ac.client_id, "abc");
  assert_string_equal(ac.audience, "https://test.maskinporten.no/");
  assert_string_equal(ac.resource, "https://api.example/");
  assert_string_equal(ac.systemuser_org, "312345678");
  assert_string_equal(ac.external_ref, "ref-1");
  assert_string_equal(ac.scope, "altinn:broker.read");
  ab_key_source ks = ab_config_key_source(&cfg->clients[0]);
  assert_string_equal(ks.p12_path, "/etc/gw.p12");
  assert_string_equal(ks.p12_password_path, "/etc/gw.pass");
  assert_string_equal(ks.alg, "RS512");
  assert_null(ks.kid);
  ab_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(valid_config),
    cmocka_unit_test(inbox_options),
    cmocka_unit_test(production_and_custom),
    cmocka_unit_test(bad_lines),
    cmocka_unit_test(cross_checks),
    cmocka_unit_test(key_permissions),
    cmocka_unit_test(client_settings),
    cmocka_unit_test(redis_settings),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
