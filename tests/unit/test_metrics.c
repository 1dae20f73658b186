/* Unit tests: the gateway's metrics (plugin/ab_metrics.c): counts from
 * several processes add up exactly, histograms are cumulative, label values
 * are escaped, the text is what Prometheus parses, and garbage handed in by
 * a process is refused whole. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ab_metrics.h"

static void counts_from_two_processes_add_up(void **state) {
  (void) state;
  ab_metrics *a = ab_metrics_new(), *b = ab_metrics_new(), *agent = ab_metrics_new();
  ab_metrics_count(a, "altinn_broker_transfers_total", 1, "op", "upload", "outcome", "ok", NULL);
  ab_metrics_count(a, "altinn_broker_transfers_total", 1, "op", "upload", "outcome", "ok", NULL);
  ab_metrics_count(b, "altinn_broker_transfers_total", 1, "op", "upload", "outcome", "ok", NULL);
  ab_metrics_count(b, "altinn_broker_transfer_bytes_total", 1e9, "op", "upload", NULL);
  ab_metrics_count(b, "no_such_family_total", 1, NULL);   /* ignored */
  ab_error err;
  for (int i = 0; i < 2; i++) {
    cJSON *j = ab_metrics_to_json(i ? b : a);
    assert_int_equal(ab_metrics_merge_json(agent, j, &err), 0);
    cJSON_Delete(j);
  }
  char *text = ab_metrics_render(agent);
  assert_non_null(strstr(text, "# TYPE altinn_broker_transfers_total counter\n"
                               "altinn_broker_transfers_total{op=\"upload\",outcome=\"ok\"} 3\n"));
  assert_non_null(strstr(text, "altinn_broker_transfer_bytes_total{op=\"upload\"} 1000000000\n"));
  assert_null(strstr(text, "no_such_family"));
  free(text);
  ab_metrics_clear(a);
  assert_true(ab_metrics_empty(a));
  ab_metrics_free(a); ab_metrics_free(b); ab_metrics_free(agent);
}

static void histogram_and_http(void **state) {
  (void) state;
  ab_metrics *m = ab_metrics_new();
  ab_metrics_http(m, "POST", "https://platform.tt02.altinn.no/broker/api/v1/filetransfer", 429, 0.3);
  ab_metrics_http(m, "POST", "https://test.maskinporten.no/token", 200, 0.02);
  ab_metrics_http(m, "GET", "https://platform.tt02.altinn.no/broker/api/v1/filetransfer/x", 0, 70);
  char *text = ab_metrics_render(m);
  assert_non_null(strstr(text, "altinn_broker_http_rate_limited_total{service=\"broker\"} 1\n"));
  assert_non_null(strstr(text, "altinn_broker_http_requests_total{service=\"broker\",status=\"0\"} 1\n"));
  assert_non_null(strstr(text, "altinn_broker_http_requests_total{service=\"maskinporten\",status=\"200\"} 1\n"));
  /* 0.3 s is above 0.25 and within 0.5; 70 s only in +Inf; buckets in order. */
  const char *b = strstr(text, "altinn_broker_http_request_duration_seconds_bucket{service=\"broker\",le=\"0.25\"} 0\n"
                               "altinn_broker_http_request_duration_seconds_bucket{service=\"broker\",le=\"0.5\"} 1\n");
  assert_non_null(b);
  assert_non_null(strstr(text, "seconds_bucket{service=\"broker\",le=\"60\"} 1\n"
                               "altinn_broker_http_request_duration_seconds_bucket{service=\"broker\",le=\"+Inf\"} 2\n"));
  assert_non_null(strstr(text, "altinn_broker_http_request_duration_seconds_count{service=\"broker\"} 2\n"));
  assert_non_null(strstr(text, "# TYPE altinn_broker_http_request_duration_seconds histogram\n"));
  free(text);
  ab_metrics_free(m);
}

static void label_values_are_escaped(void **state) {
  (void) state;
  ab_metrics *m = ab_metrics_new(), *agent = ab_metrics_new();
  ab_metrics_count(m, "altinn_broker_transfer_failures_total", 1, "cause", "a\"b\\c\nd", NULL);
  char *text = ab_metrics_render(m);
  assert_non_null(strstr(text, "{cause=\"a\\\"b\\\\c\\nd\"} 1\n"));
  free(text);
  /* What was escaped here is accepted by the agent. */
  cJSON *j = ab_metrics_to_json(m);
  ab_error err;
  assert_int_equal(ab_metrics_merge_json(agent, j, &err), 0);
  cJSON_Delete(j);
  ab_metrics_free(m); ab_metrics_free(agent);
}

static void garbage_is_refused_whole(void **state) {
  (void) state;
  static const char *bad[] = {
    "{\"altinn_broker_transfers_total\": -1}",
    "{\"unknown_total\": 1}",
    "{\"altinn_broker_transfers_total{op=\\\"x\\\"} 1\\nevil 2\": 1}",
    "{\"altinn_broker_transfers_total{op=x}\": 1}",
    "{\"altinn_broker_transfers_total{op=\\\"x\\\"\": 1}",
    "{\"altinn_broker_http_request_duration_seconds\": 1}",
    "{\"altinn_broker_transfers_total\": \"1\"}",
    "[1]",
  };
  ab_metrics *agent = ab_metrics_new();
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cJSON *j = cJSON_Parse(bad[i]);
    assert_non_null(j);
    ab_error err;
    if (ab_metrics_merge_json(agent, j, &err) != -1) {
      fail_msg("accepted %s", bad[i]);
    }
    cJSON_Delete(j);
  }
  /* A good series next to a bad one: nothing is added. */
  cJSON *j = cJSON_Parse("{\"altinn_broker_token_refreshes_total\": 1, \"x\": 1}");
  ab_error err;
  assert_int_equal(ab_metrics_merge_json(agent, j, &err), -1);
  cJSON_Delete(j);
  assert_true(ab_metrics_empty(agent));
  ab_metrics_free(agent);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(counts_from_two_processes_add_up),
    cmocka_unit_test(histogram_and_http),
    cmocka_unit_test(label_values_are_escaped),
    cmocka_unit_test(garbage_is_refused_whole),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
