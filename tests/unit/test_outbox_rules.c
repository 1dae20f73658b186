/* Unit tests: the outbox's pure rules - upload settings (mount options,
 * AltinnBrokerUpload), naming conventions (temporary names, recipient
 * directories, sidecars, reference templates), receipts, and the retry
 * policy's decisions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "ab_addressing.h"
#include "ab_config.h"
#include "ab_receipts.h"
#include "ab_retry.h"

static int mount(ab_config *cfg, const char *line, ab_error *err) {
  char copy[1024];
  snprintf(copy, sizeof(copy), "%s", line);
  const char *argv[32];
  int argc = 0;
  for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
    argv[argc++] = t;
  }
  return ab_config_directive(cfg, argv[0], argc - 1, argv + 1, "test:1", err);
}

static void sizes_and_durations(void **state) {
  (void) state;
  assert_int_equal(ab_parse_size("500"), 500);
  assert_int_equal(ab_parse_size("64K"), 65536);
  assert_int_equal(ab_parse_size("64M"), 64LL << 20);
  assert_int_equal(ab_parse_size("2G"), 2LL << 30);
  assert_int_equal(ab_parse_size("1TB"), 1LL << 40);
  assert_int_equal(ab_parse_size("-1"), -1);
  assert_int_equal(ab_parse_size("12X"), -1);
  assert_int_equal(ab_parse_size("99999999999999999999"), -1);
  assert_int_equal(ab_parse_duration_ms("500ms"), 500);
  assert_int_equal(ab_parse_duration_ms("30"), 30000);
  assert_int_equal(ab_parse_duration_ms("5m"), 300000);
  assert_int_equal(ab_parse_duration_ms("24h"), 86400000);
  assert_int_equal(ab_parse_duration_ms("7d"), 7LL * 86400000);
  assert_int_equal(ab_parse_duration_ms("1w"), -1);
  assert_int_equal(ab_parse_duration_ms(""), -1);
}

static void mount_options(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = ab_config_new();
  assert_int_equal(ab_config_directive(cfg, "AltinnBrokerClient", 5,
    (const char *[]) { "c", "client-id=x", "org=999888777", "key=/k.pem", "kid=k" }, "t:1", &err), 0);
  assert_int_equal(mount(cfg, "AltinnBrokerMount /o client=c resource=r direction=outbox "
                              "recipients=312345678", &err), 0);
  const ab_outbox_cfg *d = &cfg->mounts[0].outbox;
  assert_int_equal(d->max_size, 0);
  assert_int_equal(d->resend, AB_RESEND_ALLOW);
  assert_int_equal(d->duplicates, AB_DUPLICATES_SEND);
  assert_int_equal(d->duplicate_window_s, 86400);
  assert_int_equal(d->n_temp_patterns, 2);
  assert_int_equal(d->receipts, 1);
  assert_string_equal(d->reference, "sftp:%u:%t:%n");
  assert_int_equal(mount(cfg, "AltinnBrokerMount /p client=c resource=r direction=outbox "
                              "recipient-dirs=0192:312345678,998877665 max-size=10M resend=refuse "
                              "duplicates=refuse duplicate-window=2h temp-names=*.tmp sidecars=yes "
                              "reference=%i:%n receipts=no", &err), 0);
  const ab_outbox_cfg *p = &cfg->mounts[1].outbox;
  assert_int_equal(p->recipient_dirs, AB_RECIPIENT_DIRS_LISTED);
  assert_string_equal(p->recipient_dir_orgs[0], "312345678");
  assert_int_equal(p->max_size, 10LL << 20);
  assert_int_equal(p->resend, AB_RESEND_REFUSE);
  assert_int_equal(p->duplicates, AB_DUPLICATES_REFUSE);
  assert_int_equal(p->duplicate_window_s, 7200);
  assert_string_equal(p->temp_patterns[0], "*.tmp");
  assert_int_equal(p->sidecars, 1);
  assert_int_equal(p->receipts, 0);
  /* refusals name the setting */
  assert_int_equal(mount(cfg, "AltinnBrokerMount /q client=c resource=r direction=outbox "
                              "recipients=312345678 max-size=lots", &err), -1);
  assert_non_null(strstr(err.message, "max-size=lots is not valid"));
  assert_int_equal(mount(cfg, "AltinnBrokerMount /q client=c resource=r direction=outbox "
                              "recipient-dirs=12345", &err), -1);
  assert_int_equal(mount(cfg, "AltinnBrokerMount /q client=c resource=r direction=outbox "
                              "recipients=312345678 reference=%x", &err), -1);
  assert_int_equal(mount(cfg, "AltinnBrokerMount /q client=c resource=r direction=outbox", &err), -1);
  assert_non_null(strstr(err.message, "recipient-dirs="));
  assert_int_equal(mount(cfg, "AltinnBrokerMount /q client=c resource=r direction=inbox "
                              "max-size=1M", &err), -1);
  assert_non_null(strstr(err.message, "only applies to direction=outbox"));
  ab_config_free(cfg);
}

static void upload_directive(void **state) {
  (void) state;
  ab_error err;
  ab_config *cfg = ab_config_new();
  assert_int_equal(cfg->upload.tus_above, 64LL << 20);
  assert_int_equal(cfg->upload.parallel, 4);
  assert_int_equal(cfg->upload.pipeline, 0); /* spool mode is the default */
  const char *ok[] = { "tus-above=1G", "chunk=8M", "parallel=8", "retries=0",
                       "retry-delay=250ms", "stall-timeout=2m", "pipeline=on" };
  assert_int_equal(ab_config_directive(cfg, "AltinnBrokerUpload", 7, ok, "t:2", &err), 0);
  assert_int_equal(cfg->upload.pipeline, 1);
  assert_int_equal(cfg->upload.tus_above, 1LL << 30);
  assert_int_equal(cfg->upload.chunk, 8LL << 20);
  assert_int_equal(cfg->upload.retries, 0);
  assert_int_equal(cfg->upload.retry_delay_ms, 250);
  assert_int_equal(cfg->upload.stall_timeout_ms, 120000);
  const char *bad[][1] = { { "chunk=1K" }, { "parallel=0" }, { "retries=99" },
                           { "stall-timeout=10ms" }, { "speed=fast" }, { "tus-above" },
                           { "pipeline=yes" } };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(ab_config_directive(cfg, "AltinnBrokerUpload", 1, bad[i], "t:3", &err), -1);
    assert_non_null(strstr(err.message, "t:3: AltinnBrokerUpload"));
  }
  ab_config_free(cfg);
}

static void names(void **state) {
  (void) state;
  ab_outbox_cfg o;
  assert_int_equal(ab_outbox_cfg_init(&o), 0);
  assert_true(ab_is_temp_name(&o, "report.xml.filepart"));
  assert_true(ab_is_temp_name(&o, ".in.report.xml."));   /* ProFTPD HiddenStores */
  assert_true(ab_is_temp_name(&o, ".in.report.xml"));    /* lftp */
  assert_false(ab_is_temp_name(&o, "report.xml"));
  assert_false(ab_is_temp_name(&o, "in.report.xml"));
  size_t base;
  assert_false(ab_is_sidecar_name(&o, "a.properties", &base)); /* sidecars=no */
  o.sidecars = 1;
  assert_true(ab_is_sidecar_name(&o, "a.xml.properties", &base));
  assert_int_equal(base, 5);
  assert_false(ab_is_sidecar_name(&o, ".properties", &base));
  char party[16];
  ab_error err;
  assert_int_equal(ab_recipient_dir(&o, "312345678", party, &err), -1); /* recipient-dirs=no */
  assert_int_equal(err.err_no, ENOENT);
  o.recipient_dirs = AB_RECIPIENT_DIRS_ANY;
  assert_int_equal(ab_recipient_dir(&o, "312345678", party, &err), 0);
  assert_string_equal(party, "0192:312345678");
  assert_int_equal(ab_recipient_dir(&o, "31234567", party, &err), -1);
  assert_int_equal(ab_recipient_dir(&o, "31234567x", party, &err), -1);
  ab_outbox_cfg_free(&o);
}

static void sidecars(void **state) {
  (void) state;
  ab_sidecar sc;
  ab_error err;
  const char *good = "# comment\n\n caseNumber = 42 \r\nsendersFileTransferReference=ref 1\n"
                     "tekst=Årsrapport\n";
  assert_int_equal(ab_sidecar_parse(good, strlen(good), &sc, &err), 0);
  assert_int_equal(sc.n_props, 2);
  assert_string_equal(sc.props[0].key, "caseNumber");
  assert_string_equal(sc.props[0].value, "42");
  assert_string_equal(sc.props[1].value, "Årsrapport");
  assert_string_equal(sc.reference, "ref 1");
  ab_sidecar_free(&sc);
  char many[400] = "";
  for (int i = 0; i < 11; i++) {
    snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%d=v\n", i);
  }
  assert_int_equal(ab_sidecar_parse(many, strlen(many), &sc, &err), -1);
  assert_non_null(strstr(err.message, "line 11: the Broker takes at most 10 properties"));
  char longkey[100];
  memset(longkey, 'k', 51);
  snprintf(longkey + 51, sizeof(longkey) - 51, "=v\n");
  assert_int_equal(ab_sidecar_parse(longkey, strlen(longkey), &sc, &err), -1);
  assert_int_equal(ab_sidecar_parse("a=1\na=2\n", 8, &sc, &err), -1);
  assert_non_null(strstr(err.message, "given twice"));
  assert_int_equal(ab_sidecar_parse("just text\n", 10, &sc, &err), -1);
  assert_non_null(strstr(err.message, "line 1"));
  assert_int_equal(ab_sidecar_parse("a=\x01\n", 4, &sc, &err), -1);
  assert_int_equal(ab_sidecar_parse("a=b\0c", 5, &sc, &err), -1);
}

static void reference_template(void **state) {
  (void) state;
  char out[600];
  ab_reference_expand("sftp:%u:%t:%n:%i:%%", "alice", "a.xml", 1787053251, "00ff", out, sizeof(out));
  assert_string_equal(out, "sftp:alice:20260818T114051Z:a.xml:00ff:%");
  /* cut at 500 bytes, never inside a character */
  char name[300];
  for (int i = 0; i < 149; i++) memcpy(name + 2 * i, "\xc3\xa5", 2); /* å */
  name[298] = '\0';
  ab_reference_expand("%n%n", "u", name, 0, "", out, sizeof(out));
  assert_true(strlen(out) <= 500);
  assert_int_equal(strlen(out) % 2, 0);
}

static void receipts(void **state) {
  (void) state;
  ab_journal_entry list[3];
  memset(list, 0, sizeof(list));
  snprintf(list[0].name, sizeof(list[0].name), "a.xml");
  snprintf(list[0].id, sizeof(list[0].id), "aaaaaaaa-0000-4000-8000-000000000001");
  snprintf(list[1].name, sizeof(list[1].name), "b.xml");
  snprintf(list[1].id, sizeof(list[1].id), "bbbbbbbb-0000-4000-8000-000000000002");
  snprintf(list[2].name, sizeof(list[2].name), "a.xml");
  snprintf(list[2].id, sizeof(list[2].id), "cccccccc-0000-4000-8000-000000000003");
  char name[300];
  ab_receipt_name(list, 3, 0, name, sizeof(name));
  assert_string_equal(name, "a.xml.json");
  ab_receipt_name(list, 3, 2, name, sizeof(name));
  assert_string_equal(name, "a.xml~cccccccc.json");
  assert_int_equal(ab_receipt_find(list, 3, "a.xml~cccccccc.json"), 2);
  assert_int_equal(ab_receipt_find(list, 3, "b.xml.json"), 1);
  assert_int_equal(ab_receipt_find(list, 3, "c.xml.json"), -1);

  ab_journal_entry *e = &list[0];
  snprintf(e->dir, sizeof(e->dir), "312345678");
  snprintf(e->recipients, sizeof(e->recipients), "0192:312345678,0192:998877665");
  e->sent = 1000;
  assert_true(ab_receipt_stale(e, 1000 + AB_RECEIPT_REFRESH_S));
  ab_recipient_status rs[2] = { { "0192:312345678", "DownloadConfirmed" },
                                { "0192:998877665", "Initialized" } };
  ab_transfer t;
  memset(&t, 0, sizeof(t));
  snprintf(t.status, sizeof(t.status), "Published");
  snprintf(t.status_text, sizeof(t.status_text), "Ready for download");
  t.recipients = rs;
  t.n_recipients = 2;
  ab_receipt_apply(e, &t, 2000);
  assert_false(ab_receipt_stale(e, 2001));
  char *text = ab_receipt_render(e, "/outbox");
  cJSON *j = cJSON_Parse(text);
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItem(j, "path")->valuestring, "/outbox/312345678/a.xml");
  assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "Published");
  cJSON *r = cJSON_GetObjectItem(j, "recipients");
  assert_int_equal(cJSON_GetArraySize(r), 2);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "status")->valuestring,
                      "DownloadConfirmed");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "final")));
  cJSON_Delete(j);
  free(text);
  snprintf(e->status, sizeof(e->status), "Failed");
  assert_false(ab_receipt_stale(e, 99999)); /* final: never read again */
}

static void retry_decisions(void **state) {
  (void) state;
  ab_upload_cfg cfg;
  ab_upload_cfg_init(&cfg);
  cfg.retries = 3;
  cfg.retry_delay_ms = 1000;
  cfg.retry_max_wait_ms = 3000;
  ab_retry r;
  ab_retry_init(&r, &cfg);
  ab_error err;
  ab_error_set_http(&err, EIO, 503, "BRO-00021", "x");
  assert_int_equal(ab_failure_kind_of(&err), AB_FAILURE_SERVER);
  long long w1 = ab_retry_next(&r, &err), w2 = ab_retry_next(&r, &err), w3 = ab_retry_next(&r, &err);
  assert_in_range(w1, 500, 1000);
  assert_in_range(w2, 1000, 2000);
  assert_in_range(w3, 1500, 3000);       /* capped */
  assert_int_equal(ab_retry_next(&r, &err), -1); /* used up */
  ab_retry_give_up(&r, &err);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "keeps failing (gave up after 4 attempts"));

  ab_retry_init(&r, &cfg);
  ab_error_set_http(&err, EIO, 429, "", "x");
  err.retry_after_s = 2;
  assert_in_range(ab_retry_next(&r, &err), 2000, 2250);
  err.retry_after_s = 10;                /* longer than retry-max-wait */
  assert_int_equal(ab_retry_next(&r, &err), -1);
  ab_retry_give_up(&r, &err);
  assert_int_equal(err.err_no, EAGAIN);

  ab_retry_init(&r, &cfg);
  ab_error_set(&err, EIO, "timed out");
  snprintf(err.code, sizeof(err.code), "curl-28");
  assert_int_equal(ab_failure_kind_of(&err), AB_FAILURE_TIMEOUT);
  ab_retry_next(&r, &err);
  ab_retry_give_up(&r, &err);
  assert_int_equal(err.err_no, ETIMEDOUT);
  snprintf(err.code, sizeof(err.code), "curl-7");
  assert_int_equal(ab_failure_kind_of(&err), AB_FAILURE_TRANSPORT);
  ab_retry_give_up(&r, &err);
  assert_int_equal(err.err_no, EHOSTDOWN);

  ab_retry_init(&r, &cfg);
  ab_error_set_http(&err, EACCES, 401, "BRO-00006", "denied");
  assert_int_equal(ab_retry_next(&r, &err), -1);   /* never repeated */
  ab_retry_give_up(&r, &err);
  assert_int_equal(err.err_no, EACCES);            /* unchanged */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(sizes_and_durations),
    cmocka_unit_test(mount_options),
    cmocka_unit_test(upload_directive),
    cmocka_unit_test(names),
    cmocka_unit_test(sidecars),
    cmocka_unit_test(reference_template),
    cmocka_unit_test(receipts),
    cmocka_unit_test(retry_decisions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
