/* ab_feed.c - the inbox freshness engine (see ab_feed.h). */
#include "ab_feed.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_broker_wire.h"
#include "ab_json.h"
#include "ab_vfs.h"

#define SEARCH_PAGE 100          /* the Broker returns at most 100 ids */
#define EVENTS_PAGE 100
#define EVENTS_BROKEN_S 600      /* after a 401/403 from Events: search only for 10 min */
#define EVENTS_RETRY_S 5
#define SEARCH_RETRY_S 15
#define FAR_FUTURE "9999-12-31T23:59:59.999999Z"
/* Without events, a listing asked for searches for news at most this
 * often (the search budget is 10 per minute per organisation). */
#define ON_DEMAND_SEARCH_S 1
/* ... and transfers left out by a failed overview are tried again when
 * their last attempt is at least this old. */
#define ON_DEMAND_RETRY_S 5

/* A pass over search results, page by page, in ascending publish time. */
typedef struct scan {
  int active;
  int full;                      /* full sweep (re-checks what it did not see) or tail */
  unsigned token;                /* identifies this scan's pages */
  unsigned gen;                  /* sweep generation for ab_listing_mark_seen */
  long long from_us;             /* window start of the next page; 0 = beginning */
  time_t started;                /* our clock */
  char (*page)[AB_ID_LEN];       /* the previous page, when it was full */
  size_t n_page;
  time_t retry_at;               /* after a failed page */
} scan;

struct ab_feed {
  char *org, *resource_id;
  char *label;                   /* log lines: "listing <label>: ..." */
  char us[16];                   /* "0192:<org>" */
  ab_events_mode events;
  int pull_s, sweep_s, tail_s;
  ab_listing *listing;
  char cursor[64];               /* last event id seen ("" = none) */
  int pull_again;                /* the last pull returned a full page */
  time_t created, last_pull, events_ok, events_broken_until;
  time_t last_sweep, last_tail;
  unsigned gen, next_token;
  scan sc;
  unsigned long changes;         /* see ab_feed_changes */
};

const char *ab_call_class_endpoint(ab_call_class c) {
  return c == AB_CALL_SEARCH ? "search" : c == AB_CALL_OVERVIEW ? "overview" : NULL;
}

static void logf_(const ab_feed_ops *ops, int level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void logf_(const ab_feed_ops *ops, int level, const char *fmt, ...) {
  if (ops == NULL || ops->log == NULL) {
    return;
  }
  char line[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  ops->log(ops->ctx, level, line);
}

ab_feed *ab_feed_new(const ab_feed_cfg *cfg, time_t now) {
  ab_feed *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return NULL;
  }
  f->org = strdup(cfg->org);
  f->resource_id = strdup(cfg->resource_id);
  f->label = strdup(cfg->label != NULL ? cfg->label : cfg->resource_id);
  f->listing = ab_listing_new();
  if (f->org == NULL || f->resource_id == NULL || f->label == NULL || f->listing == NULL) {
    ab_feed_free(f);
    return NULL;
  }
  snprintf(f->us, sizeof(f->us), "0192:%.9s", cfg->org);
  f->events = cfg->events;
  f->pull_s = cfg->pull_interval_s > 0 ? cfg->pull_interval_s : 1;
  f->sweep_s = cfg->sweep_interval_s > 0 ? cfg->sweep_interval_s : 300;
  f->tail_s = cfg->tail_interval_s;
  f->created = now;
  return f;
}

void ab_feed_free(ab_feed *f) {
  if (f == NULL) {
    return;
  }
  free(f->org);
  free(f->resource_id);
  free(f->label);
  free(f->sc.page);
  ab_listing_free(f->listing);
  free(f);
}

ab_listing *ab_feed_listing(ab_feed *f) {
  return f->listing;
}

unsigned long ab_feed_changes(const ab_feed *f) {
  return f->changes;
}

time_t ab_feed_last_sweep(const ab_feed *f) {
  return f->last_sweep;
}

time_t ab_feed_last_events(const ab_feed *f) {
  return f->events_ok;
}

static int events_usable(const ab_feed *f, time_t now) {
  return f->events != AB_EVENTS_OFF && now >= f->events_broken_until;
}

/* How often the tail of the search is looked at: a safety net when events
 * flow, the main source of news when they do not. */
static int tail_interval(const ab_feed *f, time_t now) {
  if (f->tail_s > 0) {
    return f->tail_s;
  }
  if (!events_usable(f, now)) {
    return 10;
  }
  /* Webhook mode cannot tell a quiet inbox from a broken receiver. */
  return f->events == AB_EVENTS_WEBHOOK ? 30 : 60;
}

/* ---- scans ---- */

static void scan_start(ab_feed *f, int full, time_t now) {
  free(f->sc.page);
  memset(&f->sc, 0, sizeof(f->sc));
  f->sc.active = 1;
  f->sc.full = full;
  f->sc.token = ++f->next_token;
  f->sc.started = now;
  if (full) {
    f->sc.gen = ++f->gen;
  } else {
    f->sc.from_us = ab_listing_newest_published(f->listing);
    f->last_tail = now;
  }
}

static void scan_end(ab_feed *f) {
  free(f->sc.page);
  f->sc.page = NULL;
  f->sc.n_page = 0;
  f->sc.active = 0;
}

/* Where the next page starts: the publish time of the previous page's
 * last transfer (ascending order, so its newest), once its overview is
 * known. 1 = *from set; 0 = wait for that overview; -1 = cannot continue. */
static int scan_position(const ab_feed *f, long long *from) {
  if (f->sc.n_page == 0) {
    *from = f->sc.from_us;
    return 1;
  }
  for (size_t i = f->sc.n_page; i > 0; i--) {
    const ab_listing_entry *e = ab_listing_find_id(f->listing, f->sc.page[i - 1]);
    if (e != NULL && e->published_us > 0) {
      *from = e->published_us;
      return 1;
    }
    if (i == f->sc.n_page && e != NULL && e->state == AB_ENTRY_PENDING) {
      return 0;
    }
  }
  return -1;
}

/* ---- choosing work ---- */

static int pull_due(const ab_feed *f, time_t now) {
  return f->events == AB_EVENTS_PULL && events_usable(f, now) &&
         (f->pull_again || now >= f->last_pull + f->pull_s);
}

/* 1 when a search page is due, setting *full_start when a new full sweep
 * has to start first, or *tail_start for a new tail scan. */
static int search_due(const ab_feed *f, time_t now, int *full_start, int *tail_start) {
  *full_start = *tail_start = 0;
  if (f->sc.active) {
    long long from;
    return now >= f->sc.retry_at && scan_position(f, &from) != 0;
  }
  if (f->last_sweep == 0 || now >= f->last_sweep + f->sweep_s) {
    *full_start = 1;
    return 1;
  }
  if (now >= f->last_tail + tail_interval(f, now)) {
    *tail_start = 1;
    return 1;
  }
  return 0;
}

ab_work_kind ab_feed_next(ab_feed *f, time_t now, unsigned blocked, ab_feed_work *w) {
  memset(w, 0, sizeof(*w));
  if (!(blocked & (1u << AB_CALL_EVENTS)) && pull_due(f, now)) {
    w->kind = AB_WORK_EVENTS;
    w->cls = AB_CALL_EVENTS;
    snprintf(w->after, sizeof(w->after), "%s", f->cursor[0] ? f->cursor : "0");
    w->size = EVENTS_PAGE;
    return w->kind;
  }
  const char *id = (blocked & (1u << AB_CALL_OVERVIEW)) ? NULL
                   : ab_listing_next_pending(f->listing, now);
  if (id != NULL) {
    w->kind = AB_WORK_OVERVIEW;
    w->cls = AB_CALL_OVERVIEW;
    memcpy(w->id, id, AB_ID_LEN);
    return w->kind;
  }
  int full_start, tail_start;
  if (!(blocked & (1u << AB_CALL_SEARCH)) && search_due(f, now, &full_start, &tail_start)) {
    if (full_start || tail_start) {
      scan_start(f, full_start, now);
    }
    long long from = 0;
    if (scan_position(f, &from) < 0) {
      /* The previous page's transfers all vanished before their publish
       * times were known: start over at the next sweep. */
      if (f->sc.full) {
        f->last_sweep = now;
      }
      scan_end(f);
      return AB_WORK_NONE;
    }
    if (f->sc.n_page > 0 && from <= f->sc.from_us) {
      /* A full page within one microsecond (or of vanished transfers):
       * step past it rather than read the same page forever. */
      from = f->sc.from_us + 1;
    }
    w->kind = AB_WORK_SEARCH;
    w->cls = AB_CALL_SEARCH;
    w->scan = f->sc.token;
    w->from_us = from;
    if (from > 0) {
      ab_json_format_time_us(from, w->from_iso, sizeof(w->from_iso));
      snprintf(w->to_iso, sizeof(w->to_iso), FAR_FUTURE);
    }
    return w->kind;
  }
  return AB_WORK_NONE;
}

void ab_feed_work_query(const ab_feed *f, const ab_feed_work *w, ab_search *q) {
  memset(q, 0, sizeof(*q));
  q->resource_id = f->resource_id;
  q->status = "Published";
  q->role = "Recipient";
  q->order_ascending = 1;
  if (w->from_iso[0] != '\0') {
    /* Both ends given: an inclusive window, so transfers published in the
     * same microsecond as the previous page's last one are not skipped. */
    q->from_iso = w->from_iso;
    q->to_iso = w->to_iso;
  }
}

/* ---- results ---- */

void ab_feed_done_events(ab_feed *f, const ab_feed_work *w, const ab_event *ev, size_t n,
                         const ab_error *err, time_t now, const ab_feed_ops *ops) {
  if (err != NULL) {
    f->pull_again = 0;
    if (err->http_status == 401 || err->http_status == 403 || err->http_status == 400) {
      f->events_broken_until = now + EVENTS_BROKEN_S;
      logf_(ops, AB_LOG_ERROR, "listing %s: Altinn Events cannot be read (%s); falling back to "
            "search every %d s for %d min", f->label, err->message,
            tail_interval(f, now), EVENTS_BROKEN_S / 60);
    } else {
      f->last_pull = now + EVENTS_RETRY_S - f->pull_s;
      logf_(ops, AB_LOG_NOTICE, "listing %s: events pull failed (%s); retrying in %d s",
            f->label, err->message, EVENTS_RETRY_S);
    }
    return;
  }
  /* A cursor moved by someone else meanwhile: these events were seen. */
  if (strcmp(w->after, f->cursor[0] ? f->cursor : "0") != 0) {
    return;
  }
  size_t hints = 0;
  for (size_t i = 0; i < n; i++) {
    hints += (size_t) ab_feed_event(f, &ev[i], now);
  }
  if (n > 0) {
    snprintf(f->cursor, sizeof(f->cursor), "%s", ev[n - 1].id);
    f->changes++;
  }
  f->pull_again = n >= (size_t) w->size;
  f->last_pull = now;
  f->events_ok = now;
  if (hints > 0) {
    logf_(ops, AB_LOG_DEBUG, "listing %s: %zu event(s), %zu about our files", f->label, n,
          hints);
  }
}

void ab_feed_done_overview(ab_feed *f, const ab_feed_work *w, const ab_transfer *t,
                           const ab_error *err, time_t now, const ab_feed_ops *ops) {
  f->changes++;
  if (err != NULL) {
    /* One transfer's unusable overview (malformed, too large, gone) never
     * hides the others: it is left out and asked for again later. */
    ab_listing_overview_failed(f->listing, w->id, err, now);
    logf_(ops, err->http_status == 404 ? AB_LOG_DEBUG : AB_LOG_ERROR,
          "listing %s: transfer %s left out: %s", f->label, w->id, err->message);
    return;
  }
  if (strcmp(t->id, w->id) != 0) {
    ab_error bad = { .err_no = EIO };
    snprintf(bad.message, sizeof(bad.message), "the overview names another transfer");
    ab_listing_overview_failed(f->listing, w->id, &bad, now);
    return;
  }
  if (strcmp(t->status, "Published") == 0 && t->size < 0) {
    /* Without a size, "read whole" means nothing: not listed until the
     * Broker gives one. */
    ab_error bad = { .err_no = EIO };
    snprintf(bad.message, sizeof(bad.message), "the Broker gives no valid fileTransferSize");
    ab_listing_overview_failed(f->listing, w->id, &bad, now);
    logf_(ops, AB_LOG_ERROR, "listing %s: transfer %s left out: %s", f->label, w->id,
          bad.message);
    return;
  }
  if (ab_listing_apply_overview(f->listing, t, f->us, f->resource_id, now) < 0) {
    logf_(ops, AB_LOG_ERROR, "listing %s: out of memory", f->label);
  }
  f->changes++;
}

void ab_feed_done_search(ab_feed *f, const ab_feed_work *w, char (*ids)[AB_ID_LEN], size_t n,
                         const ab_error *err, time_t now, const ab_feed_ops *ops) {
  int current = f->sc.active && f->sc.token == w->scan;
  f->changes++;
  if (err != NULL) {
    if (current) {
      f->sc.retry_at = now + SEARCH_RETRY_S;
    }
    logf_(ops, AB_LOG_NOTICE, "listing %s: search failed (%s); retrying in %d s", f->label,
          err->message, SEARCH_RETRY_S);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    ab_listing_hint(f->listing, ids[i], 0, now);
    if (current && f->sc.full) {
      ab_listing_mark_seen(f->listing, ids[i], f->sc.gen);
    }
  }
  if (!current) {
    return;
  }
  if (n >= SEARCH_PAGE) {
    char (*copy)[AB_ID_LEN] = malloc(n * sizeof(*copy));
    if (copy == NULL) {
      scan_end(f);
      return;
    }
    memcpy(copy, ids, n * sizeof(*copy));
    free(f->sc.page);
    f->sc.page = copy;
    f->sc.n_page = n;
    f->sc.from_us = w->from_us;
    return;
  }
  /* The last page: the scan is complete. */
  if (f->sc.full) {
    size_t rechecks = ab_listing_recheck_unseen(f->listing, f->sc.gen, f->sc.started, now);
    f->last_sweep = now;
    f->last_tail = now;
    logf_(ops, AB_LOG_INFO, "listing %s: reconciliation sweep done: %zu listed, %zu pending, "
          "%zu to re-check", f->label, ab_listing_shown(f->listing),
          ab_listing_pending(f->listing), rechecks);
  }
  scan_end(f);
}

int ab_feed_event(ab_feed *f, const ab_event *ev, time_t now) {
  int kind = ab_event_hint(ev, f->resource_id, f->org);
  if (kind == 0) {
    return 0;
  }
  ab_listing_hint(f->listing, ev->transfer_id, kind == 2, now);
  f->changes++;
  return 1;
}

void ab_feed_want_news(ab_feed *f, time_t now) {
  /* Transfers left out after failed overviews are tried again too. */
  ab_listing_retry_failed(f->listing, now, ON_DEMAND_RETRY_S);
  if (f->events == AB_EVENTS_PULL && events_usable(f, now)) {
    f->pull_again = 1;
  } else if (f->events != AB_EVENTS_WEBHOOK && !f->sc.active &&
             now - f->last_tail >= ON_DEMAND_SEARCH_S) {
    f->last_tail = 0;            /* a tail scan is due at once */
  }
}

void ab_feed_confirmed(ab_feed *f, const char *id, time_t now) {
  ab_listing_gone(f->listing, id, AB_GONE_CONFIRMED, now);
  f->changes++;
}

void ab_feed_recheck(ab_feed *f, const char *id, time_t now) {
  ab_listing_hint(f->listing, id, 1, now);
  f->changes++;
}

int ab_feed_due_in(const ab_feed *f, time_t now) {
  long due = 60;
  if (f->events == AB_EVENTS_PULL && events_usable(f, now)) {
    due = f->pull_again ? 0 : (long) (f->last_pull + f->pull_s - now);
  }
  time_t check = ab_listing_next_check(f->listing);
  if (check != 0 && check - now < due) {
    due = (long) (check - now);
  }
  if (f->sc.active) {
    long long from;
    if (scan_position(f, &from) != 0 && f->sc.retry_at - now < due) {
      due = (long) (f->sc.retry_at - now);
    }
  } else {
    long sweep = f->last_sweep == 0 ? 0 : (long) (f->last_sweep + f->sweep_s - now);
    long tail = (long) (f->last_tail + tail_interval(f, now) - now);
    if (sweep < due) due = sweep;
    if (tail < due) due = tail;
  }
  return due < 0 ? 0 : (int) due;
}

int ab_feed_step(ab_feed *f, const ab_feed_ops *ops, time_t now, int max_calls) {
  unsigned blocked = 0;
  int calls = 0;
  ab_listing_expire(f->listing, now);
  while (calls < max_calls) {
    ab_feed_work w;
    if (ab_feed_next(f, now, blocked, &w) == AB_WORK_NONE) {
      break;
    }
    if (ops->budget != NULL && ops->budget(ops->ctx, w.cls) != 0) {
      blocked |= 1u << w.cls;
      continue;
    }
    calls++;
    ab_error err;
    ab_error_clear(&err);
    if (w.kind == AB_WORK_EVENTS) {
      ab_event *ev = NULL;
      size_t n = 0;
      int rc = ops->events(ops->ctx, w.after, w.size, &ev, &n, &err);
      ab_feed_done_events(f, &w, ev, n, rc < 0 ? &err : NULL, now, ops);
      free(ev);
    } else if (w.kind == AB_WORK_OVERVIEW) {
      ab_transfer t;
      memset(&t, 0, sizeof(t));
      int rc = ops->overview(ops->ctx, w.id, &t, &err);
      ab_feed_done_overview(f, &w, rc < 0 ? NULL : &t, rc < 0 ? &err : NULL, now, ops);
      ab_transfer_clear(&t);
    } else {
      ab_search q;
      ab_feed_work_query(f, &w, &q);
      char (*ids)[AB_ID_LEN] = NULL;
      size_t n = 0;
      int rc = ops->search(ops->ctx, &q, &ids, &n, &err);
      ab_feed_done_search(f, &w, ids, n, rc < 0 ? &err : NULL, now, ops);
      free(ids);
    }
  }
  return calls;
}

/* ---- persistence ---- */

cJSON *ab_feed_to_json(const ab_feed *f) {
  cJSON *o = cJSON_CreateObject();
  cJSON *listing = ab_listing_to_json(f->listing);
  cJSON *scan = cJSON_CreateObject();
  cJSON *page = cJSON_CreateArray();
  int ok = o != NULL && listing != NULL && scan != NULL && page != NULL;
  for (size_t i = 0; ok && i < f->sc.n_page; i++) {
    ok = cJSON_AddItemToArray(page, cJSON_CreateString(f->sc.page[i]));
  }
  ok = ok && cJSON_AddNumberToObject(scan, "active", f->sc.active) &&
       cJSON_AddNumberToObject(scan, "full", f->sc.full) &&
       cJSON_AddNumberToObject(scan, "token", f->sc.token) &&
       cJSON_AddNumberToObject(scan, "gen", f->sc.gen) &&
       cJSON_AddNumberToObject(scan, "from", (double) f->sc.from_us) &&
       cJSON_AddNumberToObject(scan, "retry", (double) f->sc.retry_at) &&
       cJSON_AddNumberToObject(scan, "started", (double) f->sc.started) &&
       cJSON_AddItemToObject(scan, "page", page);
  if (!ok) {
    cJSON_Delete(page);
  }
  ok = ok && cJSON_AddNumberToObject(o, "version", 1) &&
       cJSON_AddStringToObject(o, "org", f->org) &&
       cJSON_AddStringToObject(o, "resource", f->resource_id) &&
       cJSON_AddStringToObject(o, "cursor", f->cursor) &&
       cJSON_AddNumberToObject(o, "pullAgain", f->pull_again) &&
       cJSON_AddNumberToObject(o, "created", (double) f->created) &&
       cJSON_AddNumberToObject(o, "lastPull", (double) f->last_pull) &&
       cJSON_AddNumberToObject(o, "eventsOk", (double) f->events_ok) &&
       cJSON_AddNumberToObject(o, "eventsBrokenUntil", (double) f->events_broken_until) &&
       cJSON_AddNumberToObject(o, "lastSweep", (double) f->last_sweep) &&
       cJSON_AddNumberToObject(o, "lastTail", (double) f->last_tail) &&
       cJSON_AddNumberToObject(o, "gen", f->gen) &&
       cJSON_AddNumberToObject(o, "nextToken", f->next_token) &&
       cJSON_AddItemToObject(o, "scan", scan);
  if (!ok) {
    cJSON_Delete(scan);
    cJSON_Delete(listing);
    cJSON_Delete(o);
    return NULL;
  }
  if (!cJSON_AddItemToObject(o, "listing", listing)) {
    cJSON_Delete(listing);
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

static long long num(const cJSON *o, const char *k) {
  long long v = 0;
  return ab_json_get_int64(o, k, &v) ? v : 0;
}

int ab_feed_load(ab_feed *f, const cJSON *doc, time_t now) {
  char org[16] = "", res[300] = "";
  ab_json_copy_string(doc, "org", org, sizeof(org));
  ab_json_copy_string(doc, "resource", res, sizeof(res));
  if (num(doc, "version") != 1 || strcmp(org, f->org) != 0 || strcmp(res, f->resource_id) != 0) {
    return 0;                         /* not this feed's state: keep the empty one */
  }
  ab_listing *l = ab_listing_from_json(cJSON_GetObjectItem(doc, "listing"));
  if (l == NULL) {
    return -1;
  }
  ab_listing_free(f->listing);
  f->listing = l;
  f->changes++;
  ab_json_copy_string(doc, "cursor", f->cursor, sizeof(f->cursor));
  f->pull_again = num(doc, "pullAgain") != 0;
  f->created = (time_t) num(doc, "created");
  f->last_pull = (time_t) num(doc, "lastPull");
  f->events_ok = (time_t) num(doc, "eventsOk");
  f->events_broken_until = (time_t) num(doc, "eventsBrokenUntil");
  f->last_sweep = (time_t) num(doc, "lastSweep");
  f->last_tail = (time_t) num(doc, "lastTail");
  f->gen = (unsigned) num(doc, "gen");
  f->next_token = (unsigned) num(doc, "nextToken");
  /* Times in the future (a clock that went back) would stall the work. */
  if (f->last_pull > now) f->last_pull = now;
  if (f->last_sweep > now) f->last_sweep = now;
  if (f->last_tail > now) f->last_tail = now;
  if (f->events_broken_until > now + EVENTS_BROKEN_S) f->events_broken_until = now;
  scan_end(f);
  const cJSON *sc = cJSON_GetObjectItem(doc, "scan");
  if (num(sc, "active")) {
    f->sc.active = 1;
    f->sc.full = num(sc, "full") != 0;
    f->sc.token = (unsigned) num(sc, "token");
    f->sc.gen = (unsigned) num(sc, "gen");
    f->sc.from_us = num(sc, "from");
    f->sc.retry_at = (time_t) num(sc, "retry");
    f->sc.started = (time_t) num(sc, "started");
    const cJSON *page = cJSON_GetObjectItem(sc, "page");
    int count = cJSON_GetArraySize(page);
    if (count > 0 && count <= SEARCH_PAGE) {
      f->sc.page = calloc((size_t) count, sizeof(*f->sc.page));
      if (f->sc.page == NULL) {
        return -1;
      }
      const cJSON *id = NULL;
      cJSON_ArrayForEach(id, page) {
        if (cJSON_IsString(id) && ab_broker_valid_id(id->valuestring)) {
          memcpy(f->sc.page[f->sc.n_page++], id->valuestring, AB_ID_LEN);
        }
      }
    }
  }
  return 0;
}
