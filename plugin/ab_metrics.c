/* ab_metrics.c - additive counters and their Prometheus text exposition
 * (see ab_metrics.h). A series is kept as its full name,
 * `family{label="value",...}`, and a value: adding increments from other
 * processes is then just adding by name. */
#include "ab_metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_strmap.h"

/* A gateway has a handful of organisations, resources and causes; more
 * series than this can only be garbage. */
#define MAX_SERIES 20000
#define MAX_NAME 512

typedef enum { COUNTER, GAUGE, HISTOGRAM } kind;

static const struct family {
  const char *name;
  kind kind;
  const char *help;
} families[] = {
  { "altinn_broker_transfers_total", COUNTER,
    "Transfers through the gateway by operation (upload, download, confirm) and outcome." },
  { "altinn_broker_transfer_bytes_total", COUNTER,
    "Bytes uploaded to and downloaded from the Broker through the gateway." },
  { "altinn_broker_transfer_failures_total", COUNTER,
    "Failed transfers by cause: Broker/Maskinporten code, http_<status>, or errno name." },
  { "altinn_broker_http_requests_total", COUNTER,
    "HTTP requests to the Broker, Maskinporten and the Altinn token exchange by status (0: no answer)." },
  { "altinn_broker_http_rate_limited_total", COUNTER,
    "HTTP 429 answers (rate limit exceeded)." },
  { "altinn_broker_http_request_duration_seconds", HISTOGRAM,
    "Duration of HTTP requests to the Broker, Maskinporten and the Altinn token exchange." },
  { "altinn_broker_token_refreshes_total", COUNTER,
    "Altinn tokens fetched (Maskinporten grant plus token exchange)." },
  { "altinn_broker_rate_budget_waits_total", COUNTER,
    "Broker calls held back because the organisation's shared rate budget was used up." },
  { "altinn_broker_agent_start_time_seconds", GAUGE,
    "When the agent that keeps these counters started (Unix time); counters start at zero then." },
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

static const double buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

typedef struct series {
  char *name;
  double value;
} series;

struct ab_metrics {
  ab_strmap *index;
  series *items;
  size_t n, cap;
};

ab_metrics *ab_metrics_new(void) {
  ab_metrics *m = calloc(1, sizeof(*m));
  if (m != NULL && (m->index = ab_strmap_new()) == NULL) {
    free(m);
    m = NULL;
  }
  return m;
}

void ab_metrics_clear(ab_metrics *m) {
  if (m == NULL) {
    return;
  }
  for (size_t i = 0; i < m->n; i++) {
    free(m->items[i].name);
  }
  m->n = 0;
  ab_strmap_clear(m->index);
}

void ab_metrics_free(ab_metrics *m) {
  if (m != NULL) {
    ab_metrics_clear(m);
    ab_strmap_free(m->index);
    free(m->items);
    free(m);
  }
}

int ab_metrics_empty(const ab_metrics *m) {
  return m == NULL || m->n == 0;
}

static const struct family *find_family(const char *name, size_t len) {
  for (size_t i = 0; i < N_FAMILIES; i++) {
    if (strlen(families[i].name) == len && strncmp(families[i].name, name, len) == 0) {
      return &families[i];
    }
  }
  return NULL;
}

/* The family a series belongs to (histograms own _bucket, _sum, _count). */
static const struct family *family_of(const char *series_name) {
  size_t len = strcspn(series_name, "{");
  const struct family *f = find_family(series_name, len);
  if (f != NULL) {
    return f->kind == HISTOGRAM ? NULL : f;
  }
  static const char *suffixes[] = { "_bucket", "_sum", "_count" };
  for (size_t i = 0; i < 3; i++) {
    size_t sl = strlen(suffixes[i]);
    if (len > sl && strncmp(series_name + len - sl, suffixes[i], sl) == 0) {
      f = find_family(series_name, len - sl);
      if (f != NULL && f->kind == HISTOGRAM) {
        return f;
      }
    }
  }
  return NULL;
}

static series *slot(ab_metrics *m, const char *name) {
  size_t i;
  if (ab_strmap_get(m->index, name, &i)) {
    return &m->items[i];
  }
  if (m->n == MAX_SERIES) {
    return NULL;
  }
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    series *grown = realloc(m->items, cap * sizeof(*grown));
    if (grown == NULL) {
      return NULL;
    }
    m->items = grown;
    m->cap = cap;
  }
  char *copy = strdup(name);
  if (copy == NULL || ab_strmap_put(m->index, copy, m->n) < 0) {
    free(copy);
    return NULL;
  }
  m->items[m->n].name = copy;
  m->items[m->n].value = 0;
  return &m->items[m->n++];
}

static void add(ab_metrics *m, const char *name, double v) {
  series *s = m != NULL ? slot(m, name) : NULL;
  if (s != NULL) {
    s->value += v;
  }
}

/* Appends `k="v"` (v escaped as the text format wants) to buf. */
static void append_label(char *buf, size_t size, const char *k, const char *v) {
  size_t len = strlen(buf);
  if (len + 1 >= size) {
    return;
  }
  len += (size_t) snprintf(buf + len, size - len, "%s%s=\"", len ? "," : "", k);
  for (const char *c = v; *c != '\0' && len + 3 < size; c++) {
    if (*c == '\\' || *c == '"') {
      buf[len++] = '\\';
      buf[len++] = *c;
    } else if (*c == '\n') {
      buf[len++] = '\\';
      buf[len++] = 'n';
    } else {
      buf[len++] = *c;
    }
  }
  if (len + 1 < size) {
    buf[len++] = '"';
  }
  buf[len < size ? len : size - 1] = '\0';
}

static void labels_from(char *buf, size_t size, va_list ap) {
  buf[0] = '\0';
  const char *k;
  while ((k = va_arg(ap, const char *)) != NULL) {
    const char *v = va_arg(ap, const char *);
    append_label(buf, size, k, v ? v : "");
  }
}

static void series_name(char *out, size_t size, const char *family, const char *suffix,
                        const char *labels) {
  snprintf(out, size, "%s%s%s%s%s", family, suffix, labels[0] ? "{" : "", labels,
           labels[0] ? "}" : "");
}

void ab_metrics_count(ab_metrics *m, const char *family, double v, ...) {
  const struct family *f = find_family(family, strlen(family));
  if (f == NULL || f->kind != COUNTER) {
    return;
  }
  char labels[MAX_NAME / 2], name[MAX_NAME];
  va_list ap;
  va_start(ap, v);
  labels_from(labels, sizeof(labels), ap);
  va_end(ap);
  series_name(name, sizeof(name), family, "", labels);
  add(m, name, v);
}

void ab_metrics_observe(ab_metrics *m, const char *family, double seconds, ...) {
  const struct family *f = find_family(family, strlen(family));
  if (f == NULL || f->kind != HISTOGRAM) {
    return;
  }
  char labels[MAX_NAME / 2], with_le[MAX_NAME / 2], name[MAX_NAME];
  va_list ap;
  va_start(ap, seconds);
  labels_from(labels, sizeof(labels), ap);
  va_end(ap);
  for (size_t i = 0; i <= N_BUCKETS; i++) {
    char le[32];
    if (i == N_BUCKETS) {
      snprintf(le, sizeof(le), "+Inf");
    } else {
      snprintf(le, sizeof(le), "%g", buckets[i]);
    }
    snprintf(with_le, sizeof(with_le), "%s", labels);
    append_label(with_le, sizeof(with_le), "le", le);
    series_name(name, sizeof(name), family, "_bucket", with_le);
    /* Cumulative buckets: every bucket at or above the value counts it. */
    add(m, name, i == N_BUCKETS || seconds <= buckets[i] ? 1 : 0);
  }
  series_name(name, sizeof(name), family, "_sum", labels);
  add(m, name, seconds);
  series_name(name, sizeof(name), family, "_count", labels);
  add(m, name, 1);
}

void ab_metrics_set(ab_metrics *m, const char *family, double v) {
  const struct family *f = find_family(family, strlen(family));
  series *s = f != NULL && f->kind == GAUGE && m != NULL ? slot(m, family) : NULL;
  if (s != NULL) {
    s->value = v;
  }
}

void ab_metrics_http(void *ctx, const char *method, const char *url, long status,
                     double seconds) {
  (void) method;
  ab_metrics *m = ctx;
  const char *service = strstr(url, "/broker/api/") != NULL ? "broker"
                      : strstr(url, "/authentication/api/") != NULL ? "altinn_token"
                      : "maskinporten";
  char code[16];
  snprintf(code, sizeof(code), "%ld", status);
  ab_metrics_count(m, "altinn_broker_http_requests_total", 1, "service", service,
                   "status", code, NULL);
  if (status == 429) {
    ab_metrics_count(m, "altinn_broker_http_rate_limited_total", 1, "service", service, NULL);
  }
  ab_metrics_observe(m, "altinn_broker_http_request_duration_seconds", seconds,
                     "service", service, NULL);
}

cJSON *ab_metrics_to_json(const ab_metrics *m) {
  cJSON *o = cJSON_CreateObject();
  for (size_t i = 0; o != NULL && m != NULL && i < m->n; i++) {
    if (cJSON_AddNumberToObject(o, m->items[i].name, m->items[i].value) == NULL) {
      cJSON_Delete(o);
      return NULL;
    }
  }
  return o;
}

static int name_char(char c, int first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

/* `{k="v",...}` exactly as append_label writes it, or nothing. */
static int labels_ok(const char *p) {
  if (*p == '\0') {
    return 1;
  }
  if (*p++ != '{') {
    return 0;
  }
  for (;;) {
    if (!name_char(*p, 1)) {
      return 0;
    }
    while (name_char(*p, 0)) p++;
    if (*p++ != '=' || *p++ != '"') {
      return 0;
    }
    while (*p != '"') {
      if (*p == '\0' || *p == '\n') {
        return 0;
      }
      if (*p == '\\') {
        p++;
        if (*p != '\\' && *p != '"' && *p != 'n') {
          return 0;
        }
      }
      p++;
    }
    p++;
    if (*p == '}') {
      return p[1] == '\0';
    }
    if (*p++ != ',') {
      return 0;
    }
  }
}

int ab_metrics_merge_json(ab_metrics *m, const cJSON *counts, ab_error *err) {
  if (!cJSON_IsObject(counts)) {
    return ab_error_set(err, EINVAL, "metrics: expected an object of series");
  }
  const cJSON *c;
  cJSON_ArrayForEach(c, counts) {
    const struct family *f = c->string != NULL ? family_of(c->string) : NULL;
    if (f == NULL || strlen(c->string) >= MAX_NAME ||
        !labels_ok(c->string + strcspn(c->string, "{")) || !cJSON_IsNumber(c) ||
        !isfinite(c->valuedouble) || (f->kind != GAUGE && c->valuedouble < 0)) {
      return ab_error_set(err, EINVAL, "metrics: refusing series '%.80s'",
                          c->string ? c->string : "");
    }
  }
  if (m->n + (size_t) cJSON_GetArraySize(counts) > MAX_SERIES) {
    return ab_error_set(err, EINVAL, "metrics: too many series");
  }
  cJSON_ArrayForEach(c, counts) {
    series *s = slot(m, c->string);
    if (s == NULL) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    if (family_of(c->string)->kind == GAUGE) {
      s->value = c->valuedouble;
    } else {
      s->value += c->valuedouble;
    }
  }
  return 0;
}

typedef struct text {
  char *buf;
  size_t len, cap;
  int oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
  va_list ap;
  for (int pass = 0; pass < 2 && !t->oom; pass++) {
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->oom = 1;
    } else if ((size_t) n < t->cap - t->len) {
      t->len += (size_t) n;
      return;
    } else {
      size_t cap = (t->cap + (size_t) n + 1) * 2;
      char *grown = realloc(t->buf, cap);
      if (grown == NULL) {
        t->oom = 1;
      } else {
        t->buf = grown;
        t->cap = cap;
      }
    }
  }
}

char *ab_metrics_render(const ab_metrics *m) {
  text t = { malloc(4096), 0, 4096, 0 };
  if (t.buf == NULL) {
    return NULL;
  }
  t.buf[0] = '\0';
  static const char *types[] = { "counter", "gauge", "histogram" };
  /* Family by family; within a family in the order the series first
   * appeared, which keeps a histogram's buckets in increasing order. */
  for (size_t f = 0; f < N_FAMILIES; f++) {
    int header = 0;
    for (size_t i = 0; i < m->n; i++) {
      if (family_of(m->items[i].name) != &families[f]) {
        continue;
      }
      if (!header) {
        put(&t, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
            families[f].name, types[families[f].kind]);
        header = 1;
      }
      put(&t, "%s %.15g\n", m->items[i].name, m->items[i].value);
    }
  }
  if (t.oom) {
    free(t.buf);
    return NULL;
  }
  return t.buf;
}
