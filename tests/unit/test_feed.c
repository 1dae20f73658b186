/* Unit tests: the inbox freshness engine (plugin/ab_feed.c) against a
 * scripted Broker and Events in memory: paging beyond 100, events in and
 * out of order, purges, budget refusals, persistence mid-sweep. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ab_feed.h"
#include "ab_json.h"

#define ORG "999888777"
#define RES "demo-resource"
#define NOW 1800000000
#define MAXT 6000
#define MAXE 20000

typedef struct fake_transfer {
  char id[AB_ID_LEN];
  char name[64];
  long long published_us;
  char status[32];        /* Published, Purged, ... */
  char mine[32];          /* our recipient status */
} fake_transfer;

typedef struct fake {
  fake_transfer t[MAXT];
  size_t n;
  ab_event ev[64];        /* scripted events */
  size_t n_ev;
  int calls[AB_CALL_CLASSES];
  unsigned refuse;        /* classes the budget refuses */
  int events_status;      /* non-zero: the events call fails with this HTTP status */
} fake;

static fake *F;

static void add_transfer(int i, const char *name, long long pub) {
  fake_transfer *t = &F->t[F->n++];
  snprintf(t->id, sizeof(t->id), "%08x-0000-4000-8000-%012x", i, i);
  snprintf(t->name, sizeof(t->name), "%s", name);
  t->published_us = pub;
  snprintf(t->status, sizeof(t->status), "Published");
  snprintf(t->mine, sizeof(t->mine), "Initialized");
}

static void add_event(const char *type, const char *id) {
  ab_event *e = &F->ev[F->n_ev];
  memset(e, 0, sizeof(*e));
  snprintf(e->id, sizeof(e->id), "ev-%zu", F->n_ev);
  snprintf(e->type, sizeof(e->type), "no.altinn.broker.%s", type);
  snprintf(e->resource, sizeof(e->resource), "urn:altinn:resource:" RES);
  snprintf(e->transfer_id, sizeof(e->transfer_id), "%s", id);
  snprintf(e->subject, sizeof(e->subject), "urn:altinn:organization:identifier-no:" ORG);
  snprintf(e->role, sizeof(e->role), "Recipient");
  F->n_ev++;
}

static fake_transfer *find(const char *id) {
  for (size_t i = 0; i < F->n; i++) {
    if (strcmp(F->t[i].id, id) == 0) return &F->t[i];
  }
  return NULL;
}

static int cmp_pub(const void *a, const void *b) {
  const fake_transfer *x = *(fake_transfer *const *) a, *y = *(fake_transfer *const *) b;
  return x->published_us < y->published_us ? -1 : x->published_us > y->published_us;
}

static int fake_search(void *ctx, const ab_search *q, char (**ids)[AB_ID_LEN], size_t *n,
                       ab_error *err) {
  (void) ctx; (void) err;
  assert_string_equal(q->status, "Published");
  assert_string_equal(q->role, "Recipient");
  assert_true(q->order_ascending);
  long long from = 0, to = 0;
  if (q->from_iso != NULL) {
    assert_int_equal(ab_json_parse_time_us(q->from_iso, &from), 0);
    assert_int_equal(ab_json_parse_time_us(q->to_iso, &to), 0);
  }
  fake_transfer **hits = calloc(F->n + 1, sizeof(*hits));
  size_t h = 0;
  for (size_t i = 0; i < F->n; i++) {
    fake_transfer *t = &F->t[i];
    if (strcmp(t->status, "Published") != 0) continue;
    if (q->from_iso != NULL && (t->published_us < from || t->published_us > to)) continue;
    hits[h++] = t;
  }
  qsort(hits, h, sizeof(*hits), cmp_pub);
  *n = h < 100 ? h : 100;
  *ids = calloc(*n + 1, AB_ID_LEN);
  for (size_t i = 0; i < *n; i++) memcpy((*ids)[i], hits[i]->id, AB_ID_LEN);
  free(hits);
  return 0;
}

static ab_recipient_status rcpt;

static int fake_overview(void *ctx, const char *id, ab_transfer *out, ab_error *err) {
  (void) ctx;
  fake_transfer *t = find(id);
  if (t == NULL) {
    return ab_error_set_http(err, ENOENT, 404, "BRO-00001", "not found");
  }
  memset(out, 0, sizeof(*out));
  snprintf(out->id, sizeof(out->id), "%s", t->id);
  snprintf(out->resource_id, sizeof(out->resource_id), RES);
  snprintf(out->file_name, sizeof(out->file_name), "%s", t->name);
  snprintf(out->sender, sizeof(out->sender), "0192:312345678");
  snprintf(out->status, sizeof(out->status), "%s", t->status);
  out->size = 10;
  out->published_us = t->published_us;
  out->expires = NOW + 86400 * 30;
  /* ab_transfer_clear frees recipients: hand out a heap copy. */
  out->recipients = calloc(1, sizeof(rcpt));
  snprintf(out->recipients[0].recipient, sizeof(rcpt.recipient), "0192:" ORG);
  snprintf(out->recipients[0].status, sizeof(rcpt.status), "%s", t->mine);
  out->n_recipients = 1;
  return 0;
}

static int fake_events(void *ctx, const char *after, int size, ab_event **out, size_t *n,
                       ab_error *err) {
  (void) ctx;
  if (F->events_status != 0) {
    return ab_error_set_http(err, EACCES, F->events_status, "", "Broker refused events (HTTP %d)",
                             F->events_status);
  }
  size_t start = 0;
  for (size_t i = 0; i < F->n_ev; i++) {
    if (strcmp(F->ev[i].id, after) == 0) start = i + 1;
  }
  *n = 0;
  *out = calloc((size_t) size, sizeof(ab_event));
  for (size_t i = start; i < F->n_ev && *n < (size_t) size; i++) {
    (*out)[(*n)++] = F->ev[i];
  }
  return 0;
}

static long fake_budget(void *ctx, ab_call_class c) {
  (void) ctx;
  if (F->refuse & (1u << c)) return 1000;
  F->calls[c]++;
  return 0;
}

static const ab_feed_ops OPS = {
  .ctx = NULL, .search = fake_search, .overview = fake_overview, .events = fake_events,
  .budget = fake_budget,
};

static int setup(void **state) {
  (void) state;
  F = calloc(1, sizeof(*F));
  return F == NULL;
}

static int teardown(void **state) {
  (void) state;
  free(F);
  return 0;
}

static ab_feed *new_feed(ab_events_mode mode) {
  ab_feed_cfg cfg = { .org = ORG, .resource_id = RES, .events = mode };
  ab_feed *f = ab_feed_new(&cfg, NOW);
  assert_non_null(f);
  return f;
}

/* Runs steps until no more work is due at `now`. */
static void settle(ab_feed *f, time_t now) {
  for (int i = 0; i < 100000; i++) {
    if (ab_feed_step(f, &OPS, now, 50) == 0) return;
  }
  fail_msg("the feed never settled");
}

static void empty_inbox(void **state) {
  (void) state;
  ab_feed *f = new_feed(AB_EVENTS_PULL);
  settle(f, NOW);
  assert_int_equal(ab_listing_shown(ab_feed_listing(f)), 0);
  assert_int_equal(F->calls[AB_CALL_SEARCH], 1);
  assert_int_equal(F->calls[AB_CALL_EVENTS], 1);
  assert_int_equal(ab_feed_last_sweep(f), NOW);
  /* Nothing more is due for a second (the next pull). */
  assert_int_equal(ab_feed_due_in(f, NOW), 1);
  ab_feed_free(f);
}

static void pages_beyond_100(void **state) {
  (void) state;
  for (int i = 0; i < 150; i++) {
    char name[32];
    snprintf(name, sizeof(name), "f%03d.txt", i);
    add_transfer(i, name, 1700000000000000LL + i * 1000LL);
  }
  ab_feed *f = new_feed(AB_EVENTS_OFF);
  settle(f, NOW);
  ab_listing *l = ab_feed_listing(f);
  assert_int_equal(ab_listing_shown(l), 150);
  assert_non_null(ab_listing_find_name(l, NULL, "f000.txt"));
  assert_non_null(ab_listing_find_name(l, NULL, "f149.txt"));
  assert_int_equal(F->calls[AB_CALL_SEARCH], 2);       /* 100 + the rest */
  assert_int_equal(F->calls[AB_CALL_OVERVIEW], 150);   /* each transfer once */
  ab_feed_free(f);
}

static void five_thousand(void **state) {
  (void) state;
  for (int i = 0; i < 5000; i++) {
    add_transfer(i, "same.txt", 1700000000000000LL + i * 7LL);
  }
  ab_feed *f = new_feed(AB_EVENTS_OFF);
  settle(f, NOW);
  assert_int_equal(ab_listing_shown(ab_feed_listing(f)), 5000);
  assert_int_equal(F->calls[AB_CALL_SEARCH], 51);
  assert_int_equal(F->calls[AB_CALL_OVERVIEW], 5000);
  ab_feed_free(f);
}

static void one_microsecond_many(void **state) {
  (void) state;
  for (int i = 0; i < 250; i++) {
    add_transfer(i, "x.txt", 1700000000000000LL);
  }
  ab_feed *f = new_feed(AB_EVENTS_OFF);
  settle(f, NOW);                                      /* terminates */
  assert_true(F->calls[AB_CALL_SEARCH] <= 3);
  ab_feed_free(f);
}

static void events_bring_new_files(void **state) {
  (void) state;
  add_transfer(1, "old.txt", 1700000000000000LL);
  ab_feed *f = new_feed(AB_EVENTS_PULL);
  settle(f, NOW);
  assert_int_equal(ab_listing_shown(ab_feed_listing(f)), 1);
  int searches = F->calls[AB_CALL_SEARCH];
  /* A file is published: its event arrives twice, and a confirmed event of
   * an unknown transfer arrives before its published event. */
  add_transfer(2, "new.txt", 1700000000500000LL);
  add_event("published", F->t[1].id);
  add_event("published", F->t[1].id);
  add_transfer(3, "late.txt", 1700000000600000LL);
  snprintf(F->t[2].mine, sizeof(F->t[2].mine), "DownloadConfirmed");
  add_event("downloadconfirmed", F->t[2].id);
  add_event("published", F->t[2].id);
  /* Events about other organisations, resources or our sender role are ignored. */
  add_event("published", F->t[0].id);
  snprintf(F->ev[F->n_ev - 1].role, sizeof(F->ev[0].role), "Sender");
  settle(f, NOW + 1);
  ab_listing *l = ab_feed_listing(f);
  assert_non_null(ab_listing_find_name(l, NULL, "new.txt"));
  assert_null(ab_listing_find_name(l, NULL, "late.txt"));
  assert_int_equal(ab_listing_shown(l), 2);
  assert_int_equal(F->calls[AB_CALL_SEARCH], searches);   /* events, not search */
  assert_int_equal(F->calls[AB_CALL_OVERVIEW], 3);        /* old, new once, late once */
  ab_feed_free(f);
}

static void purge_while_listed(void **state) {
  (void) state;
  add_transfer(1, "a.txt", 1700000000000000LL);
  add_transfer(2, "b.txt", 1700000000100000LL);
  ab_feed *f = new_feed(AB_EVENTS_PULL);
  settle(f, NOW);
  assert_int_equal(ab_listing_shown(ab_feed_listing(f)), 2);
  /* With events: the never-confirmed event at purge removes it. */
  snprintf(F->t[0].status, sizeof(F->t[0].status), "Purged");
  add_event("fileneverconfirmeddownloaded", F->t[0].id);
  settle(f, NOW + 2);
  assert_null(ab_listing_find_name(ab_feed_listing(f), NULL, "a.txt"));
  /* Without an event: the next full sweep does not see it and re-checks. */
  snprintf(F->t[1].status, sizeof(F->t[1].status), "Purged");
  settle(f, NOW + 100);
  assert_non_null(ab_listing_find_name(ab_feed_listing(f), NULL, "b.txt"));
  settle(f, NOW + 301);
  assert_null(ab_listing_find_name(ab_feed_listing(f), NULL, "b.txt"));
  ab_feed_free(f);
}

static void budget_refusals_are_respected(void **state) {
  (void) state;
  add_transfer(1, "a.txt", 1700000000000000LL);
  ab_feed *f = new_feed(AB_EVENTS_OFF);
  F->refuse = 1u << AB_CALL_SEARCH;
  assert_int_equal(ab_feed_step(f, &OPS, NOW, 10), 0);
  assert_int_equal(F->calls[AB_CALL_SEARCH], 0);
  F->refuse = 1u << AB_CALL_OVERVIEW;
  ab_feed_step(f, &OPS, NOW, 10);
  assert_int_equal(F->calls[AB_CALL_SEARCH], 1);
  assert_int_equal(F->calls[AB_CALL_OVERVIEW], 0);
  assert_int_equal(ab_listing_pending(ab_feed_listing(f)), 1);
  F->refuse = 0;
  settle(f, NOW);
  assert_int_equal(ab_listing_shown(ab_feed_listing(f)), 1);
  ab_feed_free(f);
}

static void events_refused_fall_back_to_search(void **state) {
  (void) state;
  ab_feed *f = new_feed(AB_EVENTS_PULL);
  F->events_status = 403;
  settle(f, NOW);
  int pulls = F->calls[AB_CALL_EVENTS];
  add_transfer(1, "a.txt", 1700000000000000LL);
  settle(f, NOW + 10);                         /* tail search every 10 s */
  assert_non_null(ab_listing_find_name(ab_feed_listing(f), NULL, "a.txt"));
  assert_int_equal(F->calls[AB_CALL_EVENTS], pulls);   /* no pulls while broken */
  ab_feed_free(f);
}

static void state_survives_a_restart_mid_sweep(void **state) {
  (void) state;
  for (int i = 0; i < 230; i++) {
    add_transfer(i, "r.txt", 1700000000000000LL + i * 10LL);
  }
  ab_feed *f = new_feed(AB_EVENTS_OFF);
  ab_feed_step(f, &OPS, NOW, 1);               /* the first page only */
  assert_int_equal(F->calls[AB_CALL_SEARCH], 1);
  cJSON *doc = ab_feed_to_json(f);
  ab_feed_free(f);
  f = new_feed(AB_EVENTS_OFF);
  assert_int_equal(ab_feed_load(f, doc, NOW), 0);
  cJSON_Delete(doc);
  assert_int_equal(ab_listing_pending(ab_feed_listing(f)), 100);
  settle(f, NOW);
  assert_int_equal(ab_listing_shown(ab_feed_listing(f)), 230);
  assert_int_equal(F->calls[AB_CALL_SEARCH], 3);       /* continued, not restarted */
  /* Another feed's state is not taken. */
  doc = ab_feed_to_json(f);
  ab_feed_cfg other = { .org = "111222333", .resource_id = RES };
  ab_feed *g = ab_feed_new(&other, NOW);
  ab_feed_load(g, doc, NOW);
  assert_int_equal(ab_listing_size(ab_feed_listing(g)), 0);
  ab_feed_free(g);
  cJSON_Delete(doc);
  ab_feed_free(f);
}

static void someone_looking_brings_news_at_once(void **state) {
  (void) state;
  ab_feed *f = new_feed(AB_EVENTS_OFF);
  settle(f, NOW);
  add_transfer(1, "fresh.txt", 1700000000000000LL);
  settle(f, NOW + 1);                          /* a tail search is 10 s away */
  assert_null(ab_listing_find_name(ab_feed_listing(f), NULL, "fresh.txt"));
  ab_feed_want_news(f, NOW + 1);
  settle(f, NOW + 1);
  assert_non_null(ab_listing_find_name(ab_feed_listing(f), NULL, "fresh.txt"));
  int searches = F->calls[AB_CALL_SEARCH];
  ab_feed_want_news(f, NOW + 1);               /* not twice in one second */
  settle(f, NOW + 1);
  assert_int_equal(F->calls[AB_CALL_SEARCH], searches);
  ab_feed_free(f);
  /* With events: an events pull, not a search. */
  f = new_feed(AB_EVENTS_PULL);
  settle(f, NOW);
  int pulls = F->calls[AB_CALL_EVENTS];
  searches = F->calls[AB_CALL_SEARCH];
  ab_feed_want_news(f, NOW);
  settle(f, NOW);
  assert_int_equal(F->calls[AB_CALL_EVENTS], pulls + 1);
  assert_int_equal(F->calls[AB_CALL_SEARCH], searches);
  ab_feed_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(empty_inbox, setup, teardown),
    cmocka_unit_test_setup_teardown(pages_beyond_100, setup, teardown),
    cmocka_unit_test_setup_teardown(five_thousand, setup, teardown),
    cmocka_unit_test_setup_teardown(one_microsecond_many, setup, teardown),
    cmocka_unit_test_setup_teardown(events_bring_new_files, setup, teardown),
    cmocka_unit_test_setup_teardown(purge_while_listed, setup, teardown),
    cmocka_unit_test_setup_teardown(budget_refusals_are_respected, setup, teardown),
    cmocka_unit_test_setup_teardown(events_refused_fall_back_to_search, setup, teardown),
    cmocka_unit_test_setup_teardown(state_survives_a_restart_mid_sweep, setup, teardown),
    cmocka_unit_test_setup_teardown(someone_looking_brings_news_at_once, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
