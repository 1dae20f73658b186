/* ab_listing.h - what an inbox shows: transfers Published for us and not
 * confirmed by us, each with a stable, safe, unique name.
 *
 * The listing merges what three sources say about transfers: Altinn Events
 * and search results only name transfer ids ("something happened to X"),
 * and the overview of a transfer is the truth about it. So every event or
 * search hit is a *hint* that makes an id pending; the overview decides
 * whether it is listed (Published, we are a recipient, we have not
 * confirmed) or gone. That makes duplicate, late and out-of-order events
 * harmless, and a forged webhook event can at most cost one overview.
 *
 * Entry states:
 *   PENDING  id known, overview not yet fetched (or to be re-checked);
 *            not shown, unless it was listed before (then it stays shown
 *            under its name until the overview says otherwise)
 *   LISTED   shown
 *   GONE     confirmed by us, purged, expired, failed or not ours: not
 *            shown; kept as a tombstone until `until` so that repeated
 *            events and search hits do not cost overviews again
 *
 * Naming rule (README "Inbox file names"): a transfer gets its name when
 * it enters the listing and keeps it while it stays listed. The name is
 * the sanitized Broker fileName (ab_name_sanitize) unless another listed
 * transfer already holds a name that counts as the same (ab_name_fold:
 * case, accents, fullwidth and look-alike letters); then it is
 * "<stem>~<first 8 chars of its fileTransferId><.ext>", with 12 and then
 * all 36 characters of the id if even that is taken. So a file never
 * changes name between `ls` and `get` because another file arrived.
 * Grouped mounts (a directory per sending organisation) apply the same
 * rule within each sender's directory (gname).
 *
 * Not thread-safe; one owner at a time (the feed engine or a reader). */
#ifndef AB_LISTING_H
#define AB_LISTING_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ab_broker.h"
#include "ab_error.h"

typedef enum ab_entry_state {
  AB_ENTRY_PENDING = 0,
  AB_ENTRY_LISTED = 1,
  AB_ENTRY_GONE = 2
} ab_entry_state;

typedef enum ab_gone_reason {
  AB_GONE_NONE = 0,
  AB_GONE_CONFIRMED = 1,   /* we confirmed the download */
  AB_GONE_PURGED = 2,      /* purged, expired, failed or cancelled */
  AB_GONE_NOT_OURS = 3     /* not found, no access, or we are not a recipient */
} ab_gone_reason;

typedef struct ab_listing_entry {
  char id[AB_ID_LEN];
  ab_entry_state state;
  ab_gone_reason reason;   /* GONE only */
  int shown;               /* 1 while it has a name (LISTED, or PENDING re-check of a listed one) */
  char *name;              /* flat view name (NULL until first listed) */
  char *gname;             /* name within its sender's directory */
  char *dir;               /* sender's directory name ("312345678") */
  char *file_name;         /* the Broker's fileName, sanitized */
  char *sender;            /* the Broker's sender, as given ("0192:312345678") */
  long long size;
  long long published_us;  /* microseconds since the epoch; 0 = unknown */
  time_t expires;          /* expirationTime; 0 = unknown */
  time_t until;            /* GONE: forget the tombstone after this */
  time_t next_check;       /* PENDING: do not fetch the overview before this */
  int tries;               /* PENDING: failed overview attempts in a row */
  time_t tried;            /* PENDING: when the last attempt failed */
  unsigned sweep;          /* last reconciliation sweep that saw it in search */
  time_t listed_at;        /* when it was first shown (our clock) */
} ab_listing_entry;

typedef struct ab_listing ab_listing;

/* A new empty listing, or NULL on OOM. */
ab_listing *ab_listing_new(void);
void ab_listing_free(ab_listing *l);

/* Number of entries in any state, and the i-th (stable until the next
 * call that changes the listing). */
size_t ab_listing_size(const ab_listing *l);
const ab_listing_entry *ab_listing_at(const ab_listing *l, size_t i);

/* Number of entries shown (LISTED, or being re-checked while listed). */
size_t ab_listing_shown(const ab_listing *l);

/* The entry for id, or NULL. */
const ab_listing_entry *ab_listing_find_id(const ab_listing *l, const char *id);

/* The shown entry named `name` in the flat view (dir NULL) or in sender
 * directory `dir` (grouped view), or NULL. */
const ab_listing_entry *ab_listing_find_name(const ab_listing *l, const char *dir,
                                             const char *name);

/* A hint that something happened to transfer id (event, search hit).
 * recheck=0: an id we already know in any state is left alone;
 * recheck=1: a LISTED entry is re-checked too (it stays shown meanwhile;
 * tombstones are still left alone). Returns 1 when the id now waits for an
 * overview, 0 when not, -1 on OOM or an id that is not a GUID. */
int ab_listing_hint(ab_listing *l, const char *id, int recheck, time_t now);

/* The next pending id whose overview is due at `now` (its check time
 * passed), or NULL. Ids that were shown before come first (a listed file
 * being re-checked), then in the order they were hinted. */
const char *ab_listing_next_pending(const ab_listing *l, time_t now);

/* Earliest time a pending id's overview is due (0 when nothing is pending). */
time_t ab_listing_next_check(const ab_listing *l);

/* Number of pending ids (due or not). */
size_t ab_listing_pending(const ab_listing *l);

/* Applies an overview of a transfer. `us` is our party ("0192:<org>"),
 * resource_id our resource (transfers of other resources are not ours).
 * Returns 0, or -1 on OOM. */
int ab_listing_apply_overview(ab_listing *l, const ab_transfer *t, const char *us,
                              const char *resource_id, time_t now);

/* The overview of id failed with err: 404 or a 401/403 with a Broker code
 * make it GONE; anything else (429, 5xx, network) keeps it pending and
 * backs off (5 s, doubling to 5 min). */
void ab_listing_overview_failed(ab_listing *l, const char *id, const ab_error *err,
                                time_t now);

/* Marks id GONE for `reason` (we confirmed it; a download said it is no
 * longer available). Unknown ids get a tombstone too. */
int ab_listing_gone(ab_listing *l, const char *id, ab_gone_reason reason, time_t now);

/* Makes pending transfers whose last failed overview is at least min_age
 * seconds old due again now (someone is looking at the listing). */
void ab_listing_retry_failed(ab_listing *l, time_t now, time_t min_age);

/* Records that reconciliation sweep `sweep` saw id in search results. */
void ab_listing_mark_seen(ab_listing *l, const char *id, unsigned sweep);

/* After a complete sweep: every entry listed before `started` (when the
 * sweep began, our clock) that the sweep did not see is re-checked (hint
 * with recheck): it was published before the sweep, so search should have
 * returned it. Returns how many were. */
size_t ab_listing_recheck_unseen(ab_listing *l, unsigned sweep, time_t started, time_t now);

/* Re-checks shown entries whose expirationTime passed by our clock, and
 * forgets tombstones past their `until`. */
void ab_listing_expire(ab_listing *l, time_t now);

/* Newest published_us among entries in any state (0 when none). */
long long ab_listing_newest_published(const ab_listing *l);

/* The listing as JSON (an array of entries), or NULL on OOM. */
cJSON *ab_listing_to_json(const ab_listing *l);

/* A listing rebuilt from ab_listing_to_json output. Malformed entries are
 * skipped; names are re-checked for safety and uniqueness. NULL on OOM. */
ab_listing *ab_listing_from_json(const cJSON *arr);

/* The directory name for a sender: the 9-digit organisation number of
 * "0192:<org>" or "urn:altinn:organization:identifier-no:<org>", or the
 * sanitized sender text otherwise. */
void ab_listing_sender_dir(const char *sender, char *out, size_t outsz);

#endif
