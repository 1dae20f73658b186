/* ab_feed.h - keeping one inbox listing fresh: Altinn Events first, search
 * as reconciliation, overviews for metadata, all inside the rate budget.
 *
 * A feed is the listing of one (organisation, resource) plus what is
 * needed to keep it current. Its work comes in small steps, each at most
 * one remote call, chosen in this order:
 *
 *  1. pull Altinn Events after the saved cursor (mode pull, every second):
 *     every event for our org is a hint (ab_listing_hint);
 *  2. fetch the overview of the next pending transfer (120/min class);
 *  3. page through search (status=Published, role=Recipient, ascending by
 *     publish time, from/to windows) - the full reconciliation sweep when
 *     due (at start, then every sweep interval), otherwise a "tail" scan
 *     from the newest transfer known (every tail interval: 60 s when
 *     events flow, 10 s when they do not). A page continues from the
 *     publish time of the previous page's last transfer, so more than 100
 *     transfers are all seen. At the end of a full sweep, listed transfers
 *     it did not see are re-checked (purged or confirmed elsewhere).
 *
 * Every call is first cleared with the rate budget (ops->budget); a call
 * the budget does not allow is simply not made now. The host decides where
 * the feed lives (a session, the CLI daemon, the gateway agent) and how its
 * state is persisted (ab_feed_to_json / ab_feed_from_json).
 *
 * Not thread-safe; the host serializes access. */
#ifndef AB_FEED_H
#define AB_FEED_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ab_broker.h"
#include "ab_events.h"
#include "ab_listing.h"

/* The kinds of remote call a feed makes, for the rate budget. */
typedef enum ab_call_class {
  AB_CALL_SEARCH = 0,     /* Broker search: 10 per minute per organisation */
  AB_CALL_OVERVIEW,       /* Broker overview: 120 per minute */
  AB_CALL_EVENTS,         /* Altinn Events pull: no published limit */
  AB_CALL_CLASSES
} ab_call_class;

/* The Broker endpoint name a call class is counted under in the shared
 * budget ("search", "overview"), or NULL for calls outside the Broker's
 * limits (events). */
const char *ab_call_class_endpoint(ab_call_class c);

typedef enum ab_events_mode {
  AB_EVENTS_PULL = 0,     /* pull /events/api/v1/events (default) */
  AB_EVENTS_WEBHOOK = 1,  /* events are pushed to `altinn-broker events serve` */
  AB_EVENTS_OFF = 2       /* search only */
} ab_events_mode;

typedef struct ab_feed_cfg {
  const char *org;          /* our organisation, 9 digits */
  const char *resource_id;
  const char *label;        /* for log lines, e.g. the mount path "/inbox" (NULL = the resource) */
  ab_events_mode events;
  int pull_interval_s;      /* 0 = 1 */
  int sweep_interval_s;     /* 0 = 300 */
  int tail_interval_s;      /* 0 = 60 with events, 10 without */
} ab_feed_cfg;

/* The remote side, as callbacks so that the host chooses the transport
 * and the tests can script it. Each returns 0 or -1 with err. */
typedef struct ab_feed_ops {
  void *ctx;
  int (*search)(void *ctx, const ab_search *q, char (**ids)[AB_ID_LEN], size_t *n,
                ab_error *err);
  int (*overview)(void *ctx, const char *id, ab_transfer *out, ab_error *err);
  int (*events)(void *ctx, const char *after, int size, ab_event **out, size_t *n,
                ab_error *err);
  /* 0 = go (counted), > 0 = milliseconds to wait, -1 = error (treated as wait). */
  long (*budget)(void *ctx, ab_call_class c);
  /* Optional log sink (level as AB_LOG_* in ab_vfs.h). */
  void (*log)(void *ctx, int level, const char *message);
} ab_feed_ops;

typedef struct ab_feed ab_feed;

/* A new feed with an empty listing. cfg's strings are copied. */
ab_feed *ab_feed_new(const ab_feed_cfg *cfg, time_t now);
void ab_feed_free(ab_feed *f);

/* Replaces the feed's state with one saved by ab_feed_to_json (listing,
 * events cursor, reconciliation progress). A malformed document leaves an
 * empty feed. Returns 0, or -1 on OOM. */
int ab_feed_load(ab_feed *f, const cJSON *doc, time_t now);

/* The feed's state as JSON, or NULL on OOM. */
cJSON *ab_feed_to_json(const ab_feed *f);

/* The listing (owned by the feed). */
ab_listing *ab_feed_listing(ab_feed *f);

/* ---- work, in two halves ----
 *
 * A host that must not hold its lock on the feed during network I/O
 * (several processes sharing one feed) asks for the next piece of work,
 * releases the feed, makes the call, and hands the result back to the
 * (re-loaded) feed. ab_feed_step does all three in one go. */

typedef enum ab_work_kind {
  AB_WORK_NONE = 0,
  AB_WORK_EVENTS,          /* ops->events(after) */
  AB_WORK_OVERVIEW,        /* ops->overview(id) */
  AB_WORK_SEARCH           /* ops->search(query) */
} ab_work_kind;

typedef struct ab_feed_work {
  ab_work_kind kind;
  ab_call_class cls;        /* budget class of the call */
  char id[AB_ID_LEN];       /* OVERVIEW */
  char after[64];           /* EVENTS: cursor */
  int size;                 /* EVENTS: page size */
  char from_iso[40];        /* SEARCH: window start ("" = from the beginning) */
  char to_iso[40];          /* SEARCH: window end (with from) */
  unsigned scan;            /* SEARCH: the scan this page belongs to */
  long long from_us;        /* SEARCH: window start in microseconds (0 = beginning) */
} ab_feed_work;

/* The next due work at `now`, skipping classes whose bit (1 << class) is
 * set in `blocked` (the budget said wait). Returns AB_WORK_NONE when
 * nothing is due, with w->... unused. */
ab_work_kind ab_feed_next(ab_feed *f, time_t now, unsigned blocked, ab_feed_work *w);

/* Fills q (valid while w lives) with the search of a SEARCH work item. */
void ab_feed_work_query(const ab_feed *f, const ab_feed_work *w, ab_search *q);

/* Results. err is NULL on success. The feed may have been reloaded since
 * ab_feed_next (a result for a scan that is no longer current only adds
 * hints). ops is used for logging only and may be NULL. */
void ab_feed_done_events(ab_feed *f, const ab_feed_work *w, const ab_event *ev, size_t n,
                         const ab_error *err, time_t now, const ab_feed_ops *ops);
void ab_feed_done_overview(ab_feed *f, const ab_feed_work *w, const ab_transfer *t,
                           const ab_error *err, time_t now, const ab_feed_ops *ops);
void ab_feed_done_search(ab_feed *f, const ab_feed_work *w, char (*ids)[AB_ID_LEN], size_t n,
                         const ab_error *err, time_t now, const ab_feed_ops *ops);

/* Seconds until work is next due (0 = now), at most 60. */
int ab_feed_due_in(const ab_feed *f, time_t now);

/* Next + budget + call + done, up to max_calls calls (the budget class of
 * a refused call is skipped for the rest of this step). Returns the number
 * of calls made. For hosts that own the feed exclusively. */
int ab_feed_step(ab_feed *f, const ab_feed_ops *ops, time_t now, int max_calls);

/* An event pushed to us (webhook). Returns 1 when it was a hint for this
 * feed, 0 when it was not about us. */
int ab_feed_event(ab_feed *f, const ab_event *ev, time_t now);

/* Someone is looking at the listing and should see what was published a
 * moment ago: makes an events pull due now (mode pull, events usable), or,
 * when events cannot tell (mode off, or events failing), a search of the
 * newest transfers - unless one ran in the last ON_DEMAND_SEARCH_S seconds. */
void ab_feed_want_news(ab_feed *f, time_t now);

/* We confirmed transfer id (rm): it leaves the listing at once. */
void ab_feed_confirmed(ab_feed *f, const char *id, time_t now);

/* A download of id failed in a way that means it is no longer available
 * (404, 403 BRO-00007): re-check it. */
void ab_feed_recheck(ab_feed *f, const char *id, time_t now);

/* A counter that grows whenever the feed changes in a way worth keeping or
 * showing (listing, events cursor, sweep progress); not for timestamps
 * that move on every call. Hosts save and re-serve when it moved. */
unsigned long ab_feed_changes(const ab_feed *f);

/* Time of the last completed full sweep (0 = none yet) and of the last
 * successful events pull (0 = none), for status output. */
time_t ab_feed_last_sweep(const ab_feed *f);
time_t ab_feed_last_events(const ab_feed *f);

#endif
