/* test_broker_wire.c - Broker URLs, query escaping, initialize JSON, and
 * parsing of initialize/overview/search replies including hostile ones. */
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

#include "ab_broker_wire.h"
#include "ab_json.h"

#define ID "0b6b4c5e-1234-4abc-8def-0123456789ab"

static void test_urls(void **state) {
  (void)state;
  ab_error err;
  char *u = ab_broker_url("https://platform.tt02.altinn.no", NULL, NULL, &err);
  assert_string_equal(u, "https://platform.tt02.altinn.no/broker/api/v1/filetransfer");
  free(u);
  u = ab_broker_url("https://h:8443//", ID, "/download", &err);
  assert_string_equal(u, "https://h:8443/broker/api/v1/filetransfer/" ID "/download");
  free(u);
  u = ab_broker_url("https://h", ID, NULL, &err);
  assert_string_equal(u, "https://h/broker/api/v1/filetransfer/" ID);
  free(u);
  /* ids are never path-injected */
  assert_null(ab_broker_url("https://h", "../../serviceowner", NULL, &err));
  assert_int_equal(err.err_no, EINVAL);
  assert_null(ab_broker_url("https://h", "0b6b4c5e-1234-4abc-8def-0123456789a/", NULL, &err));
  assert_null(ab_broker_url("https://h", "", NULL, &err));
  assert_null(ab_broker_url("", NULL, NULL, &err));
  assert_null(ab_broker_url(NULL, NULL, NULL, &err));
}

static void test_valid_id(void **state) {
  (void)state;
  assert_true(ab_broker_valid_id(ID));
  assert_true(ab_broker_valid_id("0B6B4C5E-1234-4ABC-8DEF-0123456789AB"));
  assert_false(ab_broker_valid_id("0b6b4c5e12344abc8def0123456789ab"));
  assert_false(ab_broker_valid_id("0b6b4c5e-1234-4abc-8def-0123456789abc"));
  assert_false(ab_broker_valid_id("0b6b4c5e-1234-4abc-8def-0123456789ag"));
  assert_false(ab_broker_valid_id("0b6b4c5e-1234-4abc-8def_0123456789ab"));
  assert_false(ab_broker_valid_id(NULL));
}

static void test_escape(void **state) {
  (void)state;
  char *e = ab_broker_escape("a b&c=d/e?f#g+h%i~j.k-l_m");
  assert_string_equal(e, "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25i~j.k-l_m");
  free(e);
  e = ab_broker_escape("2026-08-18T11:40:51+00:00");
  assert_string_equal(e, "2026-08-18T11%3A40%3A51%2B00%3A00");
  free(e);
  e = ab_broker_escape("\xc3\xa6\xc3\xb8");
  assert_string_equal(e, "%C3%A6%C3%B8");
  free(e);
}

static void test_search_url(void **state) {
  (void)state;
  ab_error err;
  ab_search q = { .resource_id = "my resource&x=1" };
  char *u = ab_broker_search_url("https://h/", &q, &err);
  assert_string_equal(u, "https://h/broker/api/v1/filetransfer?resourceId=my%20resource%26x%3D1");
  free(u);
  q = (ab_search){ .resource_id = "r", .status = "Published", .recipient_status = "Initialized",
                   .role = "Recipient", .from_iso = "2026-01-01T00:00:00+01:00",
                   .order_ascending = 1 };
  u = ab_broker_search_url("https://h", &q, &err);
  assert_string_equal(u, "https://h/broker/api/v1/filetransfer?resourceId=r&status=Published"
                         "&recipientStatus=Initialized&role=Recipient"
                         "&from=2026-01-01T00%3A00%3A00%2B01%3A00&orderAscending=true");
  free(u);
  q = (ab_search){ .resource_id = "" };
  assert_null(ab_broker_search_url("https://h", &q, &err));
  assert_int_equal(err.err_no, EINVAL);
}

static void test_init_json(void **state) {
  (void)state;
  ab_error err;
  const char *recips[] = { "0192:986252932", "0192:910753614" };
  ab_property props[] = { { "caseNumber", "123" }, { "quote", "a\"b" } };
  ab_transfer_init in = {
    .file_name = "report.zip", .resource_id = "my-res", .sender = "0192:991825827",
    .recipients = recips, .n_recipients = 2, .senders_reference = "ref-1",
    .properties = props, .n_properties = 2,
    .checksum_md5 = "d41d8cd98f00b204e9800998ecf8427e",
  };
  char *json = ab_broker_init_json(&in, &err);
  assert_non_null(json);
  cJSON *o = cJSON_Parse(json);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "fileName")->valuestring, "report.zip");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "resourceId")->valuestring, "my-res");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "sender")->valuestring, "0192:991825827");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "sendersFileTransferReference")->valuestring, "ref-1");
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "recipients");
  assert_int_equal(cJSON_GetArraySize(r), 2);
  assert_string_equal(cJSON_GetArrayItem(r, 1)->valuestring, "0192:910753614");
  const cJSON *pl = cJSON_GetObjectItemCaseSensitive(o, "propertyList");
  assert_true(cJSON_IsObject(pl));
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(pl, "quote")->valuestring, "a\"b");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "checksum")->valuestring,
                      "d41d8cd98f00b204e9800998ecf8427e");
  cJSON_Delete(o);
  free(json);

  /* no properties, no checksum: the fields are absent */
  in.n_properties = 0;
  in.checksum_md5 = NULL;
  json = ab_broker_init_json(&in, &err);
  o = cJSON_Parse(json);
  assert_null(cJSON_GetObjectItemCaseSensitive(o, "propertyList"));
  assert_null(cJSON_GetObjectItemCaseSensitive(o, "checksum"));
  assert_int_equal(cJSON_GetArraySize(o), 5);
  cJSON_Delete(o);
  free(json);

  in.senders_reference = "";
  assert_null(ab_broker_init_json(&in, &err));
  assert_int_equal(err.err_no, EINVAL);
  in.senders_reference = "x";
  in.n_recipients = 0;
  assert_null(ab_broker_init_json(&in, &err));
}

static void test_parse_id(void **state) {
  (void)state;
  ab_error err;
  char id[AB_ID_LEN];
  const char *b = "{\"fileTransferId\":\"" ID "\"}";
  assert_int_equal(ab_broker_parse_id(b, strlen(b), id, &err), 0);
  assert_string_equal(id, ID);
  b = "\"" ID "\""; /* pre-2024 bare string */
  assert_int_equal(ab_broker_parse_id(b, strlen(b), id, &err), 0);
  assert_string_equal(id, ID);
  const char *bad[] = { "", "{}", "{\"fileTransferId\":5}", "{\"fileTransferId\":\"../x\"}",
                        "\"not-a-guid\"", "[\"" ID "\"]", "{\"fileTransferId\":\"" ID };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(ab_broker_parse_id(bad[i], strlen(bad[i]), id, &err), -1);
    assert_int_equal(err.err_no, EIO);
    assert_string_equal(id, "");
  }
}

static const char overview[] =
  "{\"fileTransferId\":\"" ID "\",\"resourceId\":\"my-broker-resource\","
  "\"fileName\":\"report.zip\",\"sendersFileTransferReference\":\"archiveno-20425\","
  "\"checksum\":\"d41d8cd98f00b204e9800998ecf8427e\",\"useVirusScan\":true,"
  "\"fileTransferSize\":12345,\"fileTransferStatus\":\"Published\","
  "\"fileTransferStatusText\":\"Ready for download\","
  "\"fileTransferStatusChanged\":\"2026-08-18T11:40:51.123+00:00\","
  "\"created\":\"2026-08-18T11:40:00.000+00:00\","
  "\"expirationTime\":\"2026-09-17T11:40:00.000+00:00\",\"sender\":\"0192:991825827\","
  "\"recipients\":[{\"recipient\":\"0192:986252932\","
  "\"currentRecipientFileTransferStatusCode\":\"Initialized\","
  "\"currentRecipientFileTransferStatusText\":\"Initialized\","
  "\"currentRecipientFileTransferStatusChanged\":\"2026-08-18T11:40:00.000+00:00\"}],"
  "\"propertyList\":{\"caseNumber\":\"123\"},\"published\":\"2026-08-18T11:40:51.123Z\"}";

static void test_parse_overview(void **state) {
  (void)state;
  ab_error err;
  ab_transfer t;
  assert_int_equal(ab_broker_parse_overview(overview, strlen(overview), &t, &err), 0);
  assert_string_equal(t.id, ID);
  assert_string_equal(t.resource_id, "my-broker-resource");
  assert_string_equal(t.file_name, "report.zip");
  assert_string_equal(t.sender, "0192:991825827");
  assert_string_equal(t.status, "Published");
  assert_string_equal(t.status_text, "Ready for download");
  assert_string_equal(t.checksum, "d41d8cd98f00b204e9800998ecf8427e");
  assert_string_equal(t.senders_reference, "archiveno-20425");
  assert_int_equal(t.size, 12345);
  assert_int_equal(t.use_virus_scan, 1);
  assert_int_equal(t.created, 1787053200);        /* 2026-08-18T11:40:00Z */
  assert_int_equal(t.published, 1787053251);
  assert_int_equal(t.status_changed, 1787053251);
  assert_int_equal(t.expires, 1787053200 + 30 * 86400);
  assert_int_equal(t.n_recipients, 1);
  assert_string_equal(t.recipients[0].recipient, "0192:986252932");
  assert_string_equal(t.recipients[0].status, "Initialized");
  assert_int_equal(t.n_properties, 1);
  assert_string_equal(t.properties[0].key, "caseNumber");
  assert_string_equal(t.properties[0].value, "123");
  ab_transfer_clear(&t);
  assert_null(t.recipients);
}

/* Wrong types, nulls, missing fields: absent, never a crash. */
static void test_parse_overview_hostile(void **state) {
  (void)state;
  ab_error err;
  ab_transfer t;
  const char *b =
    "{\"fileTransferId\":\"" ID "\",\"fileName\":7,\"sender\":null,\"checksum\":\"abc\","
    "\"fileTransferSize\":-5,\"created\":\"yesterday\",\"published\":null,"
    "\"recipients\":[5,\"x\",{\"recipient\":[]},null],\"propertyList\":[\"a\"],"
    "\"useVirusScan\":\"true\"}";
  assert_int_equal(ab_broker_parse_overview(b, strlen(b), &t, &err), 0);
  assert_string_equal(t.file_name, "");
  assert_string_equal(t.sender, "");
  assert_string_equal(t.checksum, "");
  assert_int_equal(t.size, -1); /* a negative size is unknown, not empty */
  assert_int_equal(t.created, 0);
  assert_int_equal(t.published, 0);
  assert_int_equal(t.use_virus_scan, 0);
  assert_int_equal(t.n_recipients, 1); /* only the object entry */
  assert_string_equal(t.recipients[0].recipient, "");
  assert_int_equal(t.n_properties, 0);
  ab_transfer_clear(&t);

  const char *bad[] = { "", "null", "[]", "{}", "{\"fileTransferId\":\"x\"}", "{\"fileTransferId\":1}" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(ab_broker_parse_overview(bad[i], strlen(bad[i]), &t, &err), -1);
    assert_int_equal(err.err_no, EIO);
    ab_transfer_clear(&t);
  }
  /* size beyond long long and huge floats are rejected */
  b = "{\"fileTransferId\":\"" ID "\",\"fileTransferSize\":1e300}";
  assert_int_equal(ab_broker_parse_overview(b, strlen(b), &t, &err), 0);
  assert_int_equal(t.size, -1);
  ab_transfer_clear(&t);
}

/* Strings far longer than the fields are truncated, UTF-8 kept whole. */
static void test_parse_overview_huge_strings(void **state) {
  (void)state;
  size_t n = 200000;
  char *big = malloc(n * 2 + 1);
  for (size_t i = 0; i < n; i++) {
    memcpy(big + 2 * i, "\xc3\xa6", 2); /* 'æ', two bytes */
  }
  big[2 * n] = '\0';
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "fileTransferId", ID);
  cJSON_AddStringToObject(o, "fileName", big);
  cJSON_AddStringToObject(o, "sender", big);
  cJSON_AddStringToObject(o, "fileTransferStatusText", big);
  cJSON *rs = cJSON_AddArrayToObject(o, "recipients");
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "recipient", big);
  cJSON_AddStringToObject(r, "currentRecipientFileTransferStatusCode", big);
  cJSON_AddItemToArray(rs, r);
  char *json = cJSON_PrintUnformatted(o);
  ab_error err;
  ab_transfer t;
  assert_int_equal(ab_broker_parse_overview(json, strlen(json), &t, &err), 0);
  assert_int_equal(strlen(t.file_name), 254); /* 255 bytes would split an 'æ' */
  assert_int_equal(strlen(t.sender) % 2, 0);
  assert_true(strlen(t.sender) < sizeof(t.sender));
  assert_true(strlen(t.recipients[0].recipient) < sizeof(t.recipients[0].recipient));
  assert_true(strlen(t.recipients[0].status) < sizeof(t.recipients[0].status));
  ab_transfer_clear(&t);
  cJSON_free(json);
  cJSON_Delete(o);
  free(big);
}

static void test_parse_search(void **state) {
  (void)state;
  ab_error err;
  char (*ids)[AB_ID_LEN] = NULL;
  size_t n = 0;
  const char *b = "[\"" ID "\",\"0b6b4c5e-1234-4abc-8def-0123456789ac\"]";
  assert_int_equal(ab_broker_parse_search(b, strlen(b), &ids, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(ids[0], ID);
  assert_string_equal(ids[1], "0b6b4c5e-1234-4abc-8def-0123456789ac");
  free(ids);

  assert_int_equal(ab_broker_parse_search("[]", 2, &ids, &n, &err), 0);
  assert_int_equal(n, 0);
  assert_null(ids);

  /* junk entries skipped */
  b = "[1,null,\"../etc\",{\"id\":\"" ID "\"},\"" ID "\"]";
  assert_int_equal(ab_broker_parse_search(b, strlen(b), &ids, &n, &err), 0);
  assert_int_equal(n, 1);
  free(ids);

  const char *bad[] = { "", "{}", "\"" ID "\"", "[", "null" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(ab_broker_parse_search(bad[i], strlen(bad[i]), &ids, &n, &err), -1);
    assert_null(ids);
    assert_int_equal(n, 0);
  }
}

static void test_time_parsing(void **state) {
  (void)state;
  time_t t;
  assert_int_equal(ab_json_parse_time("1970-01-01T00:00:00Z", &t), 0);
  assert_int_equal(t, 0);
  assert_int_equal(ab_json_parse_time("2026-08-18T11:40:51.1234567+02:00", &t), 0);
  assert_int_equal(t, 1787053251 - 7200);
  assert_int_equal(ab_json_parse_time("2026-08-18T11:40:51-0130", &t), 0);
  assert_int_equal(t, 1787053251 + 5400);
  assert_int_equal(ab_json_parse_time("2026-08-18T11:40:51", &t), 0);
  const char *bad[] = { "", "2026-08-18", "2026-13-01T00:00:00Z", "2026-08-18T11:40:51Zx",
                        "2026-08-18T11:40:51.Z", "2026-08-18T25:00:00Z", "x026-08-18T11:40:51Z" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(ab_json_parse_time(bad[i], &t), -1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_urls),
    cmocka_unit_test(test_valid_id),
    cmocka_unit_test(test_escape),
    cmocka_unit_test(test_search_url),
    cmocka_unit_test(test_init_json),
    cmocka_unit_test(test_parse_id),
    cmocka_unit_test(test_parse_overview),
    cmocka_unit_test(test_parse_overview_hostile),
    cmocka_unit_test(test_parse_overview_huge_strings),
    cmocka_unit_test(test_parse_search),
    cmocka_unit_test(test_time_parsing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
