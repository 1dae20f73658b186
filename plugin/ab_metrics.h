/* ab_metrics.h - counters an operator can scrape, in Prometheus text format.
 *
 * Sessions are separate processes, so each keeps its own counts in an
 * ab_metrics and hands the increments (ab_metrics_to_json, then clear) to
 * the gateway's agent, which adds them into its own ab_metrics and writes
 * them out (AltinnBrokerMetricsFile, for node_exporter's textfile
 * collector) and answers `altinn-broker metrics`. Every series is a sum, so
 * adding increments from any number of processes in any order is exact;
 * histograms are kept as their cumulative buckets, _sum and _count. The
 * agent's counters start at zero when it starts (Prometheus treats that as
 * a counter reset; altinn_broker_agent_start_time_seconds says when).
 *
 * Families (labels in braces):
 *   altinn_broker_transfers_total{op,outcome,org,resource}
 *       op = upload|download|confirm; outcome = ok|failed|aborted|partial
 *   altinn_broker_transfer_bytes_total{op,org,resource}
 *   altinn_broker_transfer_failures_total{op,cause,org}
 *       cause = the Broker's or Maskinporten's code (BRO-00016), else
 *       http_<status>, else the errno name (EIO, ENOSPC)
 *   altinn_broker_http_requests_total{service,status}
 *       service = broker|maskinporten|altinn_token; status 0 = no answer
 *   altinn_broker_http_rate_limited_total{service}       (HTTP 429)
 *   altinn_broker_http_request_duration_seconds{service} (histogram)
 *   altinn_broker_token_refreshes_total                  (Maskinporten grant + exchange)
 *   altinn_broker_rate_budget_waits_total                (calls held back by the shared budget)
 *   altinn_broker_agent_start_time_seconds               (gauge)
 */
#ifndef AB_METRICS_H
#define AB_METRICS_H

#include <cjson/cJSON.h>

#include "ab_error.h"

typedef struct ab_metrics ab_metrics;

/* A new empty set, or NULL on OOM. */
ab_metrics *ab_metrics_new(void);
void ab_metrics_free(ab_metrics *m);

/* Adds v to the counter `family` with the given labels: a NULL-terminated
 * list of name, value pairs (values are escaped here). Unknown families and
 * out-of-memory are ignored: metrics never fail the operation they count. */
void ab_metrics_count(ab_metrics *m, const char *family, double v, ...)
  __attribute__((sentinel));

/* Records one observation of `seconds` in the histogram `family`. */
void ab_metrics_observe(ab_metrics *m, const char *family, double seconds, ...)
  __attribute__((sentinel));

/* Sets the gauge `family` (no labels) to v. */
void ab_metrics_set(ab_metrics *m, const char *family, double v);

/* Counts one HTTP request made to url: its status (0 when no answer came)
 * and duration. Usable as an ab_http_options observer (ctx = ab_metrics). */
void ab_metrics_http(void *ctx, const char *method, const char *url, long status,
                     double seconds);

/* 1 when nothing was counted since the last clear. */
int ab_metrics_empty(const ab_metrics *m);
void ab_metrics_clear(ab_metrics *m);

/* The counts as {"series": value, ...}; NULL on OOM. */
cJSON *ab_metrics_to_json(const ab_metrics *m);

/* Adds counts from ab_metrics_to_json of another process. Refuses (EINVAL,
 * nothing added) series of unknown families, malformed labels, negative or
 * non-finite values, and more series than a gateway can plausibly have. */
int ab_metrics_merge_json(ab_metrics *m, const cJSON *counts, ab_error *err);

/* The Prometheus text exposition (HELP and TYPE, then the family's series
 * in the order they first appeared); malloc'ed, NULL on OOM. */
char *ab_metrics_render(const ab_metrics *m);

#endif
