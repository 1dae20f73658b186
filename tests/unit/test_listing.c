/* Unit tests: the inbox listing model (plugin/ab_listing.c): what is
 * shown, under which name, and what events, searches and overviews do. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ab_inbox_wire.h"
#include "ab_listing.h"

#define US "0192:999888777"
#define RES "demo-resource"
#define NOW 1800000000

static const char *ID_A = "aaaaaaaa-0000-4000-8000-000000000001";
static const char *ID_B = "bbbbbbbb-0000-4000-8000-000000000002";
static const char *ID_C = "cccccccc-0000-4000-8000-000000000003";
static const char *ID_D = "dddddddd-0000-4000-8000-000000000004";

static ab_recipient_status rcpt;

/* An overview of a transfer Published for us. */
static ab_transfer overview(const char *id, const char *name, const char *sender) {
  ab_transfer t;
  memset(&t, 0, sizeof(t));
  snprintf(t.id, sizeof(t.id), "%s", id);
  snprintf(t.resource_id, sizeof(t.resource_id), RES);
  snprintf(t.file_name, sizeof(t.file_name), "%s", name);
  snprintf(t.sender, sizeof(t.sender), "%s", sender ? sender : "0192:312345678");
  snprintf(t.status, sizeof(t.status), "Published");
  t.size = 1234;
  t.published_us = 1700000000123456LL;
  t.expires = NOW + 30 * 86400;
  snprintf(rcpt.recipient, sizeof(rcpt.recipient), US);
  snprintf(rcpt.status, sizeof(rcpt.status), "Initialized");
  t.recipients = &rcpt;
  t.n_recipients = 1;
  return t;
}

static void publish(ab_listing *l, const char *id, const char *name, const char *sender) {
  assert_int_equal(ab_listing_hint(l, id, 0, NOW), 1);
  ab_transfer t = overview(id, name, sender);
  assert_int_equal(ab_listing_apply_overview(l, &t, US, RES, NOW), 0);
}

static const char *name_of(ab_listing *l, const char *id) {
  const ab_listing_entry *e = ab_listing_find_id(l, id);
  return e != NULL && e->shown ? e->name : NULL;
}

static void hint_then_overview_lists(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  assert_int_equal(ab_listing_hint(l, ID_A, 0, NOW), 1);
  assert_int_equal(ab_listing_pending(l), 1);
  assert_int_equal(ab_listing_shown(l), 0);            /* not shown before its overview */
  assert_string_equal(ab_listing_next_pending(l, NOW), ID_A);
  ab_transfer t = overview(ID_A, "report.xml", NULL);
  assert_int_equal(ab_listing_apply_overview(l, &t, US, RES, NOW), 0);
  assert_int_equal(ab_listing_pending(l), 0);
  assert_null(ab_listing_next_pending(l, NOW));
  const ab_listing_entry *e = ab_listing_find_name(l, NULL, "report.xml");
  assert_non_null(e);
  assert_string_equal(e->id, ID_A);
  assert_int_equal(e->size, 1234);
  assert_int_equal(e->published_us, 1700000000123456LL);
  assert_string_equal(e->dir, "312345678");
  assert_null(ab_listing_find_name(l, NULL, "REPORT.XML"));   /* lookups are exact */
  assert_int_equal(ab_listing_hint(l, "not-a-guid", 0, NOW), -1);
  ab_listing_free(l);
}

static void collisions_keep_first_names(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "report.xml", NULL);
  publish(l, ID_B, "report.xml", NULL);
  assert_string_equal(name_of(l, ID_A), "report.xml");       /* the first keeps its name */
  assert_string_equal(name_of(l, ID_B), "report~bbbbbbbb.xml");
  publish(l, ID_C, "Report.XML", NULL);                      /* same name for Windows */
  assert_string_equal(name_of(l, ID_C), "Report~cccccccc.XML");
  assert_string_equal(name_of(l, ID_A), "report.xml");       /* nothing was renamed */
  assert_string_equal(name_of(l, ID_B), "report~bbbbbbbb.xml");
  /* A gets confirmed: its name is free again for the next arrival, B keeps its. */
  assert_int_equal(ab_listing_gone(l, ID_A, AB_GONE_CONFIRMED, NOW), 0);
  assert_null(ab_listing_find_name(l, NULL, "report.xml"));
  publish(l, ID_D, "report.xml", NULL);
  assert_string_equal(name_of(l, ID_D), "report.xml");
  assert_string_equal(name_of(l, ID_B), "report~bbbbbbbb.xml");
  assert_int_equal(ab_listing_shown(l), 3);
  ab_listing_free(l);
}

static void look_alikes_collide(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "invoice.pdf", NULL);
  publish(l, ID_B, "\xd1\x96nvoice.pdf", NULL);             /* Cyrillic і */
  assert_string_equal(name_of(l, ID_B), "\xd1\x96nvoice~bbbbbbbb.pdf");
  publish(l, ID_C, "invoice\xe2\x80\x8b.pdf", NULL);         /* zero-width space removed */
  assert_string_equal(name_of(l, ID_C), "invoice~cccccccc.pdf");
  ab_listing_free(l);
}

static void crafted_suffix_names(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "report.xml", NULL);
  publish(l, ID_C, "report~bbbbbbbb.xml", NULL);             /* a sender guessed B's suffix */
  publish(l, ID_B, "report.xml", NULL);
  assert_string_equal(name_of(l, ID_C), "report~bbbbbbbb.xml");
  assert_string_equal(name_of(l, ID_B), "report~bbbbbbbb-000.xml");
  ab_listing_free(l);
}

static void grouped_names_per_sender(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "data.csv", "0192:312345678");
  publish(l, ID_B, "data.csv", "urn:altinn:organization:identifier-no:111222333");
  publish(l, ID_C, "data.csv", "0192:312345678");
  const ab_listing_entry *b = ab_listing_find_id(l, ID_B);
  assert_string_equal(b->dir, "111222333");
  assert_string_equal(b->gname, "data.csv");                 /* alone in its directory */
  assert_string_equal(b->name, "data~bbbbbbbb.csv");         /* not alone in the flat view */
  assert_string_equal(ab_listing_find_id(l, ID_C)->gname, "data~cccccccc.csv");
  assert_ptr_equal(ab_listing_find_name(l, "111222333", "data.csv"), b);
  assert_null(ab_listing_find_name(l, "111222333", "data~cccccccc.csv"));
  char dir[64];
  ab_listing_sender_dir("../../x", dir, sizeof(dir));
  assert_string_equal(dir, "_._.._x");
  ab_listing_free(l);
}

static void overview_decides(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  /* Confirmed by us already: a tombstone, not shown. */
  ab_listing_hint(l, ID_A, 0, NOW);
  ab_transfer t = overview(ID_A, "a.txt", NULL);
  snprintf(rcpt.status, sizeof(rcpt.status), "DownloadConfirmed");
  ab_listing_apply_overview(l, &t, US, RES, NOW);
  assert_int_equal(ab_listing_find_id(l, ID_A)->state, AB_ENTRY_GONE);
  assert_int_equal(ab_listing_find_id(l, ID_A)->reason, AB_GONE_CONFIRMED);
  /* Not a recipient / another resource: not ours. */
  ab_listing_hint(l, ID_B, 0, NOW);
  t = overview(ID_B, "b.txt", NULL);
  snprintf(rcpt.recipient, sizeof(rcpt.recipient), "0192:123123123");
  ab_listing_apply_overview(l, &t, US, RES, NOW);
  assert_int_equal(ab_listing_find_id(l, ID_B)->reason, AB_GONE_NOT_OURS);
  ab_listing_hint(l, ID_C, 0, NOW);
  t = overview(ID_C, "c.txt", NULL);
  snprintf(t.resource_id, sizeof(t.resource_id), "other");
  ab_listing_apply_overview(l, &t, US, RES, NOW);
  assert_int_equal(ab_listing_find_id(l, ID_C)->reason, AB_GONE_NOT_OURS);
  /* Still being scanned: neither shown nor a tombstone; checked again later. */
  ab_listing_hint(l, ID_D, 0, NOW);
  t = overview(ID_D, "d.txt", NULL);
  snprintf(t.status, sizeof(t.status), "UploadProcessing");
  ab_listing_apply_overview(l, &t, US, RES, NOW);
  assert_int_equal(ab_listing_find_id(l, ID_D)->state, AB_ENTRY_PENDING);
  assert_int_equal(ab_listing_shown(l), 0);
  assert_null(ab_listing_next_pending(l, NOW));
  /* Then published: listed. Then purged: gone. */
  t = overview(ID_D, "d.txt", NULL);
  ab_listing_apply_overview(l, &t, US, RES, NOW);
  assert_string_equal(name_of(l, ID_D), "d.txt");
  ab_listing_hint(l, ID_D, 1, NOW);
  assert_string_equal(name_of(l, ID_D), "d.txt");             /* shown while re-checked */
  snprintf(t.status, sizeof(t.status), "Purged");
  ab_listing_apply_overview(l, &t, US, RES, NOW);
  assert_null(name_of(l, ID_D));
  assert_int_equal(ab_listing_find_id(l, ID_D)->reason, AB_GONE_PURGED);
  assert_null(ab_listing_find_name(l, NULL, "d.txt"));
  ab_listing_free(l);
}

static void events_out_of_order_or_twice(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  /* downloadconfirmed (by us, recorded) before the late published event */
  assert_int_equal(ab_listing_gone(l, ID_A, AB_GONE_CONFIRMED, NOW), 0);
  assert_int_equal(ab_listing_hint(l, ID_A, 0, NOW), 0);
  assert_int_equal(ab_listing_hint(l, ID_A, 1, NOW), 0);     /* tombstones are not re-checked */
  assert_int_equal(ab_listing_pending(l), 0);
  /* published twice: one pending id, one overview */
  assert_int_equal(ab_listing_hint(l, ID_B, 0, NOW), 1);
  assert_int_equal(ab_listing_hint(l, ID_B, 0, NOW), 1);
  assert_int_equal(ab_listing_pending(l), 1);
  publish(l, ID_C, "c.txt", NULL);
  assert_int_equal(ab_listing_hint(l, ID_C, 0, NOW), 0);     /* already listed */
  assert_int_equal(ab_listing_pending(l), 1);
  ab_listing_free(l);
}

static void overview_failures(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  ab_listing_hint(l, ID_A, 0, NOW);
  ab_error err = { .err_no = EIO, .http_status = 429 };
  ab_listing_overview_failed(l, ID_A, &err, NOW);
  assert_null(ab_listing_next_pending(l, NOW));               /* backs off */
  assert_null(ab_listing_next_pending(l, NOW + 4));
  assert_string_equal(ab_listing_next_pending(l, NOW + 5), ID_A);
  ab_listing_overview_failed(l, ID_A, &err, NOW + 5);
  assert_null(ab_listing_next_pending(l, NOW + 14));
  assert_non_null(ab_listing_next_pending(l, NOW + 15));
  ab_error nf = { .err_no = ENOENT, .http_status = 404, .code = "BRO-00001" };
  ab_listing_overview_failed(l, ID_A, &nf, NOW + 15);
  assert_int_equal(ab_listing_find_id(l, ID_A)->state, AB_ENTRY_GONE);
  assert_int_equal(ab_listing_pending(l), 0);
  ab_listing_free(l);
}

static void sweeps_recheck_what_search_lost(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "a.txt", NULL);
  publish(l, ID_B, "b.txt", NULL);
  ab_listing_mark_seen(l, ID_A, 7);
  assert_int_equal(ab_listing_recheck_unseen(l, 7, NOW + 1, NOW + 1), 1);
  assert_string_equal(ab_listing_next_pending(l, NOW + 1), ID_B);
  assert_string_equal(name_of(l, ID_B), "b.txt");
  /* Listed after the sweep began: not expected in it. */
  publish(l, ID_C, "c.txt", NULL);
  assert_int_equal(ab_listing_recheck_unseen(l, 8, NOW, NOW), 0);
  assert_int_equal(ab_listing_newest_published(l), 1700000000123456LL);
  ab_listing_free(l);
}

static void expiry_and_tombstones(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "a.txt", NULL);
  ab_listing_gone(l, ID_B, AB_GONE_PURGED, NOW);
  ab_listing_expire(l, NOW + 30 * 86400);                     /* A's expirationTime */
  assert_int_equal(ab_listing_find_id(l, ID_A)->state, AB_ENTRY_PENDING);
  assert_null(ab_listing_find_id(l, ID_B));                   /* tombstone forgotten */
  assert_string_equal(name_of(l, ID_A), "a.txt");
  assert_non_null(ab_listing_find_name(l, NULL, "a.txt"));    /* indexes rebuilt */
  ab_listing_free(l);
}

static void json_round_trip(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "report.xml", NULL);
  publish(l, ID_B, "report.xml", NULL);
  ab_listing_gone(l, ID_C, AB_GONE_CONFIRMED, NOW);
  ab_listing_hint(l, ID_D, 0, NOW);
  cJSON *j = ab_listing_to_json(l);
  assert_non_null(j);
  ab_listing *r = ab_listing_from_json(j);
  assert_non_null(r);
  assert_string_equal(name_of(r, ID_A), "report.xml");
  assert_string_equal(name_of(r, ID_B), "report~bbbbbbbb.xml");
  assert_int_equal(ab_listing_find_id(r, ID_C)->state, AB_ENTRY_GONE);
  assert_int_equal(ab_listing_pending(r), 1);
  assert_int_equal(ab_listing_shown(r), 2);
  assert_int_equal(ab_listing_find_id(r, ID_A)->published_us, 1700000000123456LL);
  ab_listing_free(r);
  /* A tampered file: a name with '/' and two entries with one name. */
  cJSON *a = cJSON_GetArrayItem(j, 0);
  cJSON_ReplaceItemInObject(a, "name", cJSON_CreateString("../../etc/passwd"));
  cJSON *b = cJSON_GetArrayItem(j, 1);
  cJSON_ReplaceItemInObject(b, "name", cJSON_CreateString("report.xml"));
  cJSON_AddItemToArray(j, cJSON_CreateString("junk"));
  r = ab_listing_from_json(j);
  assert_string_equal(name_of(r, ID_A), "report.xml");
  assert_string_equal(name_of(r, ID_B), "report~bbbbbbbb.xml");
  ab_listing_free(r);
  cJSON_Delete(j);
  ab_listing_free(l);
}

static void five_thousand(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  char id[AB_ID_LEN], name[64];
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof(id), "%08x-0000-4000-8000-000000000000", i);
    snprintf(name, sizeof(name), i % 2 ? "file-%d.txt" : "same.txt", i);
    publish(l, id, name, NULL);
  }
  assert_int_equal(ab_listing_shown(l), 5000);
  assert_non_null(ab_listing_find_name(l, NULL, "same.txt"));
  assert_non_null(ab_listing_find_name(l, NULL, "same~00000002.txt"));
  assert_non_null(ab_listing_find_name(l, NULL, "file-4999.txt"));
  ab_listing_free(l);
}

/* The listing as the agent sends it to sessions (ab_inbox_wire.h): every
 * shown entry once, with its final names, size and publish time; gone and
 * pending ones left out; broken lines skipped, not misread. */
static void wire_round_trip(void **state) {
  (void) state;
  ab_listing *l = ab_listing_new();
  publish(l, ID_A, "report.xml", NULL);
  publish(l, ID_B, "Report.xml", "0192:987654321");
  publish(l, ID_C, "gone.txt", NULL);
  assert_int_equal(ab_listing_gone(l, ID_C, AB_GONE_CONFIRMED, NOW), 0);
  assert_int_equal(ab_listing_hint(l, ID_D, 0, NOW), 1);   /* pending: no name yet */
  char *text = ab_inbox_wire_encode(l);
  assert_non_null(text);
  char *cursor = text;
  ab_inbox_wire_row row;
  assert_int_equal(ab_inbox_wire_next(&cursor, &row), 1);
  assert_string_equal(row.id, ID_A);
  assert_string_equal(row.name, "report.xml");
  assert_string_equal(row.gname, "report.xml");
  assert_string_equal(row.dir, "312345678");
  assert_int_equal(row.size, 1234);
  assert_int_equal(row.mtime, 1700000000);
  assert_int_equal(ab_inbox_wire_next(&cursor, &row), 1);
  assert_string_equal(row.id, ID_B);
  assert_string_equal(row.name, name_of(l, ID_B));
  assert_string_not_equal(row.name, "report.xml");       /* made unique in the flat view */
  assert_string_equal(row.gname, "Report.xml");          /* alone in its sender's directory */
  assert_string_equal(row.dir, "987654321");
  assert_int_equal(ab_inbox_wire_next(&cursor, &row), 0);
  assert_int_equal(ab_inbox_wire_next(&cursor, &row), 0);
  free(text);
  ab_listing_free(l);

  l = ab_listing_new();
  text = ab_inbox_wire_encode(l);
  assert_string_equal(text, "");                         /* empty, not an error */
  free(text);
  ab_listing_free(l);

  char broken[] =
      "short-id\ta\ta\td\t1\t2\n"                       /* id not a GUID */
      "aaaaaaaa-0000-4000-8000-000000000001\ta\ta\td\t-1\t2\n"                          /* negative size */
      "aaaaaaaa-0000-4000-8000-000000000001\ta\ta\td\t1\n"                               /* a field missing */
      "aaaaaaaa-0000-4000-8000-000000000001\ta\ta\td\t1\t2\textra\n"                   /* a field too many */
      "aaaaaaaa-0000-4000-8000-000000000001\ta\ta\td\t1x\t2\n"                          /* not a number */
      "\n"
      "bbbbbbbb-0000-4000-8000-000000000002\tb.txt\tb.txt\t312345678\t7\t8";            /* good, no final LF */
  cursor = broken;
  assert_int_equal(ab_inbox_wire_next(&cursor, &row), 1);
  assert_string_equal(row.id, ID_B);
  assert_string_equal(row.name, "b.txt");
  assert_int_equal(row.size, 7);
  assert_int_equal(row.mtime, 8);
  assert_int_equal(ab_inbox_wire_next(&cursor, &row), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(hint_then_overview_lists),
    cmocka_unit_test(collisions_keep_first_names),
    cmocka_unit_test(look_alikes_collide),
    cmocka_unit_test(crafted_suffix_names),
    cmocka_unit_test(grouped_names_per_sender),
    cmocka_unit_test(overview_decides),
    cmocka_unit_test(events_out_of_order_or_twice),
    cmocka_unit_test(overview_failures),
    cmocka_unit_test(sweeps_recheck_what_search_lost),
    cmocka_unit_test(expiry_and_tombstones),
    cmocka_unit_test(json_round_trip),
    cmocka_unit_test(five_thousand),
    cmocka_unit_test(wire_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
