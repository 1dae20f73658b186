/* test_onboarding.c - what `altinn-broker check` concludes from what each
 * step saw (ab_onboarding.c): which step a Maskinporten or Broker error
 * belongs to, its verdict, and a fix that names the client, organisation,
 * system user, scope and resource involved. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ab_onboarding.h"
#include "client_fixtures.h"

static EVP_PKEY *g_pkey;

typedef struct fixture {
  ab_config cfg;
  ab_client_cfg client;
  ab_mount_cfg outbox, inbox;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  f->cfg.environment = "tt02";
  f->cfg.maskinporten_issuer = "https://test.maskinporten.no/";
  f->cfg.token_url = "https://test.maskinporten.no/token";
  f->cfg.platform_url = "https://platform.tt02.altinn.no";
  f->cfg.exchange_url = "https://platform.tt02.altinn.no/authentication/api/v1/exchange/maskinporten";
  f->client.name = "acme";
  f->client.client_id = "0b7c1f4e-2d7a-4a51-9a51-5f3c6b1d2e90";
  f->client.org = "999888777";
  f->client.key_path = "/etc/proftpd/altinn/acme.pem";
  f->client.key = fixture_ab_key(g_pkey, "acme-2026");
  f->outbox.path = "/outbox";
  f->outbox.resource_id = "invoices";
  f->outbox.direction = AB_OUTBOX;
  f->outbox.client = &f->client;
  f->inbox = f->outbox;
  f->inbox.path = "/inbox";
  f->inbox.direction = AB_INBOX;
  *state = f;
  return f->client.key == NULL;
}

static int teardown(void **state) {
  fixture *f = *state;
  ab_key_free(f->client.key);
  free(f);
  return 0;
}

static ab_onboarding_subject subject(fixture *f, ab_mount_cfg *m) {
  ab_onboarding_subject s = { &f->cfg, &f->client, m, "altinn:broker.read altinn:broker.write" };
  return s;
}

static ab_step token_failure(fixture *f, ab_mount_cfg *m, ab_auth_stage stage, int err_no,
                             int status, const char *code, const char *refused,
                             ab_step_result *r) {
  ab_onboarding_subject s = subject(f, m);
  ab_auth_report rep;
  memset(&rep, 0, sizeof(rep));
  rep.stage = stage;
  ab_error err;
  ab_error_set_http(&err, err_no, status, code, "Maskinporten refused the grant for client x: "
                    "something (%s)", code);
  return ab_onboarding_token_failure(&s, &rep, &err, refused, r);
}

static void exit_codes(void **state) {
  (void)state;
  assert_int_equal(ab_check_exit_code(AB_STEP_KEY), 3);
  assert_int_equal(ab_check_exit_code(AB_STEP_EVENTS), 7);
  assert_string_equal(ab_step_name(AB_STEP_RESOURCE), "resource");
  assert_string_equal(ab_verdict_name(AB_VERDICT_UNAVAILABLE), "unavailable");
}

static void key_errors_are_step_1(void **state) {
  fixture *f = *state;
  ab_step_result r;
  assert_int_equal(token_failure(f, &f->outbox, AB_AUTH_STAGE_GRANT, EACCES, 400, "MP-124", "", &r),
                   AB_STEP_KEY);
  assert_int_equal(r.verdict, AB_VERDICT_FAIL);
  assert_non_null(strstr(r.fix, "not the one registered as kid acme-2026"));
  assert_non_null(strstr(r.fix, "openssl pkey -in /etc/proftpd/altinn/acme.pem -pubout"));
  assert_non_null(strstr(r.fix, "sjolvbetjening.test.samarbeid.digdir.no")); /* tt02 -> TEST */
  assert_int_equal(token_failure(f, &f->outbox, AB_AUTH_STAGE_GRANT, EACCES, 400, "MP-121", "", &r),
                   AB_STEP_KEY);
  assert_non_null(strstr(r.fix, "expire a year after upload"));
  /* an expired certificate stops the fetch before any request */
  assert_int_equal(token_failure(f, &f->outbox, AB_AUTH_STAGE_KEY, EKEYEXPIRED, 0, "", "", &r),
                   AB_STEP_KEY);
  assert_non_null(strstr(r.fix, "order a new enterprise certificate"));
}

static void scope_errors_name_the_scope(void **state) {
  fixture *f = *state;
  ab_step_result r;
  assert_int_equal(token_failure(f, &f->outbox, AB_AUTH_STAGE_GRANT, EACCES, 400, "MP-200",
                                 "altinn:broker.write", &r), AB_STEP_MASKINPORTEN);
  assert_non_null(strstr(r.finding, "will not give client acme the scope altinn:broker.write (MP-200)"));
  assert_non_null(strstr(r.fix, "add altinn:broker.write to client 0b7c1f4e"));
  assert_null(strstr(r.finding, "another mount"));
  /* the inbox needs read, which is fine: it is told whose scope is missing */
  token_failure(f, &f->inbox, AB_AUTH_STAGE_GRANT, EACCES, 400, "MP-200", "altinn:broker.write", &r);
  assert_non_null(strstr(r.finding, "needed by another mount of the same client"));
  /* unknown which: the whole set is named */
  token_failure(f, &f->inbox, AB_AUTH_STAGE_GRANT, EACCES, 400, "invalid_scope", "", &r);
  assert_non_null(strstr(r.finding, "the scope altinn:broker.read altinn:broker.write"));
}

static void other_maskinporten_errors(void **state) {
  fixture *f = *state;
  ab_step_result r;
  token_failure(f, &f->outbox, AB_AUTH_STAGE_GRANT, EACCES, 400, "MP-100", "", &r);
  assert_non_null(strstr(r.fix, "check client-id= of client acme"));
  f->client.systemuser_org = "312345678";
  f->client.external_ref = "ref-9";
  token_failure(f, &f->outbox, AB_AUTH_STAGE_GRANT, EACCES, 400, "MP-303", "", &r);
  assert_non_null(strstr(r.fix, "customer 312345678 must accept the system user request of vendor 999888777"));
  assert_non_null(strstr(r.fix, "external-ref=ref-9"));
  f->client.systemuser_org = NULL;
  f->client.external_ref = NULL;
  /* 5xx, 429, network: unavailable, not a finding about the setup */
  assert_int_equal(token_failure(f, &f->outbox, AB_AUTH_STAGE_GRANT, EIO, 503, "", "", &r),
                   AB_STEP_MASKINPORTEN);
  assert_int_equal(r.verdict, AB_VERDICT_UNAVAILABLE);
  assert_int_equal(token_failure(f, &f->outbox, AB_AUTH_STAGE_EXCHANGE, EIO, 502, "", "", &r),
                   AB_STEP_EXCHANGE);
  assert_int_equal(r.verdict, AB_VERDICT_UNAVAILABLE);
  /* the exchange refusing the token: environments do not match */
  token_failure(f, &f->outbox, AB_AUTH_STAGE_EXCHANGE, EACCES, 401, "", "", &r);
  assert_int_equal(r.verdict, AB_VERDICT_FAIL);
  assert_non_null(strstr(r.fix, "TEST pairs with tt02"));
}

static void token_obtained(void **state) {
  fixture *f = *state;
  ab_onboarding_subject s = subject(f, &f->outbox);
  ab_auth_report rep;
  memset(&rep, 0, sizeof(rep));
  rep.stage = AB_AUTH_STAGE_DONE;
  snprintf(rep.granted_scope, sizeof(rep.granted_scope), "altinn:broker.read");
  ab_step_result r;
  ab_onboarding_token_ok(&s, &rep, &r);
  assert_int_equal(r.verdict, AB_VERDICT_FAIL);
  assert_non_null(strstr(r.finding, "but not altinn:broker.write"));
  snprintf(rep.granted_scope, sizeof(rep.granted_scope), "altinn:broker.write altinn:broker.read");
  rep.clock_corrected = 1;
  rep.clock_offset = -300;
  ab_onboarding_token_ok(&s, &rep, &r);
  assert_int_equal(r.verdict, AB_VERDICT_WARN);
  assert_non_null(strstr(r.finding, "300 s ahead of Maskinporten's"));
  rep.clock_corrected = 0;
  rep.grant_ms = 4200;
  ab_onboarding_token_ok(&s, &rep, &r);
  assert_int_equal(r.verdict, AB_VERDICT_WARN);
  assert_non_null(strstr(r.finding, "took 4.2 s"));
  rep.grant_ms = 80;
  ab_onboarding_token_ok(&s, &rep, &r);
  assert_int_equal(r.verdict, AB_VERDICT_OK);
}

static void resource_access(void **state) {
  fixture *f = *state;
  ab_onboarding_subject s = subject(f, &f->outbox);
  ab_step_result r;
  ab_onboarding_resource(&s, NULL, &r);
  assert_int_equal(r.verdict, AB_VERDICT_OK);
  assert_non_null(strstr(r.finding, "organisation 999888777 may send files on resource invoices"));
  ab_error err;
  ab_error_set_http(&err, EACCES, 401, "BRO-00006", "Broker refused search (HTTP 401 BRO-00006)");
  ab_onboarding_resource(&s, &err, &r);
  assert_int_equal(r.verdict, AB_VERDICT_FAIL);
  assert_non_null(strstr(r.fix, "ask the owner of resource invoices for access for organisation 999888777"));
  f->client.systemuser_org = "312345678";
  ab_onboarding_resource(&s, &err, &r);
  assert_non_null(strstr(r.finding, "system user (vendor 999888777, customer 312345678) may not use"));
  assert_non_null(strstr(r.fix, "system user of vendor 999888777 acting for 312345678"));
  f->client.systemuser_org = NULL;
  ab_error_set_http(&err, EACCES, 403, "BRO-00005", "Broker refused search (HTTP 403 BRO-00005)");
  ab_onboarding_resource(&s, &err, &r);
  assert_non_null(strstr(r.finding, "not registered in Altinn's resource registry"));
  ab_error_set_http(&err, EIO, 429, "", "Broker refused search (HTTP 429): rate limit exceeded");
  ab_onboarding_resource(&s, &err, &r);
  assert_int_equal(r.verdict, AB_VERDICT_UNAVAILABLE);
}

int main(void) {
  g_pkey = fixture_rsa_key();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(exit_codes),
    cmocka_unit_test_setup_teardown(key_errors_are_step_1, setup, teardown),
    cmocka_unit_test_setup_teardown(scope_errors_name_the_scope, setup, teardown),
    cmocka_unit_test_setup_teardown(other_maskinporten_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(token_obtained, setup, teardown),
    cmocka_unit_test_setup_teardown(resource_access, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  EVP_PKEY_free(g_pkey);
  return rc;
}
