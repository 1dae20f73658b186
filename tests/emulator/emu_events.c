/* emu_events.c - see emu_events.h.
 *
 * Webhook delivery runs on its own thread with libcurl: first the
 * platform.events.validatesubscription handshake (a subscription receives
 * nothing until it answered 2xx), then each matching event, retried on
 * non-2xx on the Events schedule (10 s, 30 s, 1 min, 5 min, ... 12 h; 12
 * attempts, then dead-lettered). Retry times are on the emulated clock, so
 * a fast clock makes a day of retries take seconds.
 */
#include "emu_events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "emu_clock.h"
#include "emu_store.h"
#include "emu_util.h"

typedef struct event {
  uint64_t seq;
  char id[37];
  char *type, *resource, *subject;
  cJSON *json;
} event;

typedef struct subscription {
  long id;
  char *endpoint, *resource_filter, *subject_filter, *type_filter, *consumer;
  bool include_subunits;
  int64_t created;
  bool validated;
  bool deleted;
  int validation_attempts;
  int64_t validation_next;  /* 0 = nothing scheduled */
  long delivered, failed_attempts, dead_lettered;
} subscription;

typedef struct delivery {
  long sub_id;
  uint64_t seq;
  int attempts;
  int64_t next_at;
} delivery;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static const emu_config *cfg;
static event *events;
static size_t nevents, capevents;
static uint64_t next_seq = 1;
static subscription *subs;
static size_t nsubs, capsubs;
static long next_sub_id = 1;
static delivery *queue;
static size_t nqueue, capqueue;
static pthread_t thread;
static bool running, stopping;
static char *ca_file;

/* Delays before retry n (n = attempts made so far), seconds. */
static const int retry_s[] = {10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 43200};
#define MAX_ATTEMPTS 12
static const int validation_retry_s[] = {1, 5, 10, 30, 60, 120, 120, 120};
#define MAX_VALIDATION_ATTEMPTS 9

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
  if (n < *cap)
    return p;
  size_t nc = *cap ? *cap * 2 : 64;
  void *np = realloc(p, nc * elem);
  if (np)
    *cap = nc;
  return np;
}

/* ---- emission (store lock held by the caller; events lock taken here) ---- */

/* subjectFilter is the event's subject, or (includeSubunits) the subject's
 * main unit. */
static bool subject_matches(const subscription *s, const char *subject, const char *org)
{
  if (strcmp(s->subject_filter, subject) == 0)
    return true;
  const char *parent = s->include_subunits ? emu_config_parent_org(cfg, org) : NULL;
  char main_unit[80];
  if (!parent)
    return false;
  snprintf(main_unit, sizeof main_unit, "urn:altinn:organization:identifier-no:%s", parent);
  return strcmp(s->subject_filter, main_unit) == 0;
}

static void emit(const emu_transfer *t, const char *type, const char *org, const char *role)
{
  char full_type[96], resource[300], subject[80], source[512], iso[EMU_ISO_LEN];
  snprintf(full_type, sizeof full_type, "no.altinn.broker.%s", type);
  snprintf(resource, sizeof resource, "urn:altinn:resource:%s", t->resource->id);
  snprintf(subject, sizeof subject, "urn:altinn:organization:identifier-no:%s", org);
  snprintf(source, sizeof source, "%s/broker/api/v1/filetransfer", cfg->base_url);
  emu_clock_iso(emu_clock_now_us(), iso);
  event e = {0};
  if (strcmp(type, "published") == 0) {
    /* published ids are deterministic per (transfer, role, actor) */
    char seed[200], hex[65];
    unsigned char h[32];
    unsigned int hl = 0;
    snprintf(seed, sizeof seed, "%s|%s|%s", t->id, role, org);
    EVP_Digest(seed, strlen(seed), h, &hl, EVP_sha256(), NULL);
    emu_hex(h, 16, hex);
    snprintf(e.id, sizeof e.id, "%.8s-%.4s-4%.3s-8%.3s-%.12s", hex, hex + 8, hex + 13, hex + 17,
             hex + 20);
  } else {
    emu_uuid4(e.id);
  }
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "specversion", "1.0");
  cJSON_AddStringToObject(j, "id", e.id);
  cJSON_AddStringToObject(j, "type", full_type);
  cJSON_AddStringToObject(j, "time", iso);
  cJSON_AddStringToObject(j, "resource", resource);
  cJSON_AddStringToObject(j, "resourceinstance", t->id);
  cJSON_AddStringToObject(j, "subject", subject);
  cJSON_AddStringToObject(j, "source", source);
  cJSON *data = cJSON_AddObjectToObject(j, "data");
  cJSON_AddStringToObject(data, "Role", role);
  e.json = j;
  e.type = strdup(full_type);
  e.resource = strdup(resource);
  e.subject = strdup(subject);

  pthread_mutex_lock(&mu);
  event *ne = grow(events, &capevents, nevents, sizeof *events);
  if (ne) {
    events = ne;
    e.seq = next_seq++;
    events[nevents++] = e;
    for (size_t i = 0; i < nsubs; i++) {
      subscription *s = &subs[i];
      if (s->deleted || !s->validated || strcmp(s->resource_filter, e.resource) != 0 ||
          (s->subject_filter && !subject_matches(s, e.subject, org)) ||
          (s->type_filter && strcasecmp(s->type_filter, e.type) != 0))
        continue;
      delivery *nq = grow(queue, &capqueue, nqueue, sizeof *queue);
      if (!nq)
        break;
      queue = nq;
      queue[nqueue++] = (delivery){s->id, e.seq, 0, 0};
    }
    pthread_cond_signal(&cv);
  } else {
    cJSON_Delete(e.json);
    free(e.type);
    free(e.resource);
    free(e.subject);
  }
  pthread_mutex_unlock(&mu);
}

void emu_events_on_status(const emu_transfer *t, int status)
{
  if (!cfg)
    return;
  switch (status) {
  case EMU_FT_INITIALIZED:
    emit(t, "filetransferinitialized", t->sender_org, "Sender");
    break;
  case EMU_FT_UPLOAD_PROCESSING:
    emit(t, "uploadprocessing", t->sender_org, "Sender");
    break;
  case EMU_FT_PUBLISHED:
    emit(t, "published", t->sender_org, "Sender");
    for (size_t i = 0; i < t->nrecipients; i++)
      emit(t, "published", t->recipients[i].org, "Recipient");
    break;
  case EMU_FT_FAILED:
    emit(t, "uploadfailed", t->sender_org, "Sender");
    break;
  case EMU_FT_ALL_CONFIRMED:
    emit(t, "allconfirmeddownloaded", t->sender_org, "Sender");
    break;
  case EMU_FT_PURGED: {
    emit(t, "filepurged", t->sender_org, "Sender");
    bool any = false;
    for (size_t i = 0; i < t->nrecipients; i++) {
      if (t->recipients[i].status != EMU_RS_DOWNLOAD_CONFIRMED) {
        emit(t, "fileneverconfirmeddownloaded", t->recipients[i].org, "Recipient");
        any = true;
      }
    }
    if (any)
      emit(t, "fileneverconfirmeddownloaded", t->sender_org, "Sender");
    break;
  }
  default:
    break;
  }
}

void emu_events_download_confirmed(const emu_transfer *t, const char *recipient_org)
{
  if (!cfg)
    return;
  emit(t, "downloadconfirmed", recipient_org, "Recipient");
  emit(t, "downloadconfirmed", t->sender_org, "Sender");
}

/* ---- queries ---- */

cJSON *emu_events_query(const char *resource, const char *subject, const char *const *types,
                        size_t ntypes, const char *after, int size)
{
  cJSON *arr = cJSON_CreateArray();
  pthread_mutex_lock(&mu);
  size_t start = 0;
  if (after && strcmp(after, "0") != 0) {
    for (size_t i = 0; i < nevents; i++)
      if (strcasecmp(events[i].id, after) == 0)
        start = i + 1;
  }
  int n = 0;
  for (size_t i = start; i < nevents && n < size; i++) {
    const event *e = &events[i];
    bool type_ok = ntypes == 0;
    for (size_t t = 0; !type_ok && t < ntypes; t++)
      type_ok = strcasecmp(e->type, types[t]) == 0;
    if (!type_ok || strcmp(e->resource, resource) != 0 || (subject && strcmp(e->subject, subject) != 0))
      continue;
    cJSON_AddItemToArray(arr, cJSON_Duplicate(e->json, 1));
    n++;
  }
  pthread_mutex_unlock(&mu);
  return arr;
}

static cJSON *sub_json(const subscription *s)
{
  char iso[EMU_ISO_LEN];
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "id", (double)s->id);
  cJSON_AddStringToObject(j, "endPoint", s->endpoint);
  cJSON_AddStringToObject(j, "resourceFilter", s->resource_filter);
  if (s->subject_filter)
    cJSON_AddStringToObject(j, "subjectFilter", s->subject_filter);
  if (s->type_filter)
    cJSON_AddStringToObject(j, "typeFilter", s->type_filter);
  cJSON_AddStringToObject(j, "consumer", s->consumer);
  cJSON_AddStringToObject(j, "createdBy", s->consumer);
  emu_clock_iso(s->created, iso);
  cJSON_AddStringToObject(j, "created", iso);
  cJSON_AddBoolToObject(j, "validated", s->validated);
  cJSON_AddBoolToObject(j, "includeSubunits", s->include_subunits);
  return j;
}

static bool same(const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

cJSON *emu_events_subscribe(const emu_subscription_req *req, long *id_out)
{
  cJSON *j = NULL;
  pthread_mutex_lock(&mu);
  subscription *s = NULL;
  for (size_t i = 0; i < nsubs; i++) {
    subscription *o = &subs[i];
    if (!o->deleted && same(o->endpoint, req->endpoint) && same(o->resource_filter, req->resource_filter) &&
        same(o->subject_filter, req->subject_filter) && same(o->type_filter, req->type_filter) &&
        same(o->consumer, req->consumer) && o->include_subunits == req->include_subunits)
      s = o;
  }
  if (!s) {
    subscription *ns = grow(subs, &capsubs, nsubs, sizeof *subs);
    if (ns) {
      subs = ns;
      s = &subs[nsubs++];
      memset(s, 0, sizeof *s);
      s->id = next_sub_id++;
      s->endpoint = strdup(req->endpoint);
      s->resource_filter = strdup(req->resource_filter);
      s->subject_filter = req->subject_filter ? strdup(req->subject_filter) : NULL;
      s->type_filter = req->type_filter ? strdup(req->type_filter) : NULL;
      s->consumer = strdup(req->consumer);
      s->include_subunits = req->include_subunits;
      s->created = emu_clock_now_us();
    }
  }
  if (s) {
    /* (re)start the validation handshake */
    s->validation_attempts = 0;
    s->validation_next = emu_clock_now_us();
    *id_out = s->id;
    j = sub_json(s);
    pthread_cond_signal(&cv);
  }
  pthread_mutex_unlock(&mu);
  return j;
}

static subscription *find_sub(long id)
{
  for (size_t i = 0; i < nsubs; i++)
    if (subs[i].id == id && !subs[i].deleted)
      return &subs[i];
  return NULL;
}

cJSON *emu_events_subscription(long id, const char *consumer, bool *found)
{
  cJSON *j = NULL;
  pthread_mutex_lock(&mu);
  subscription *s = find_sub(id);
  *found = s != NULL;
  if (s && strcmp(s->consumer, consumer) == 0)
    j = sub_json(s);
  pthread_mutex_unlock(&mu);
  return j;
}

int emu_events_unsubscribe(long id, const char *consumer)
{
  int rc;
  pthread_mutex_lock(&mu);
  subscription *s = find_sub(id);
  if (!s)
    rc = -1;
  else if (strcmp(s->consumer, consumer) != 0)
    rc = -2;
  else {
    s->deleted = true;
    rc = 0;
  }
  pthread_mutex_unlock(&mu);
  return rc;
}

cJSON *emu_events_subscriptions(const char *consumer)
{
  cJSON *j = cJSON_CreateObject();
  cJSON *arr = cJSON_CreateArray();
  int n = 0;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nsubs; i++)
    if (!subs[i].deleted && strcmp(subs[i].consumer, consumer) == 0) {
      cJSON_AddItemToArray(arr, sub_json(&subs[i]));
      n++;
    }
  pthread_mutex_unlock(&mu);
  cJSON_AddNumberToObject(j, "count", n);
  cJSON_AddItemToObject(j, "subscriptions", arr);
  return j;
}

/* ---- delivery thread ---- */

static size_t discard(char *p, size_t s, size_t n, void *u)
{
  (void)p;
  (void)u;
  return s * n;
}

/* POSTs body to url; true on 2xx. */
static bool post(const char *url, const char *body)
{
  CURL *c = curl_easy_init();
  if (!c)
    return false;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  if (ca_file)
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
  long code = 0;
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return rc == CURLE_OK && code >= 200 && code < 300;
}

/* One unit of work picked under the lock and run without it. */
static bool do_one(void)
{
  int64_t now = emu_clock_now_us();
  char *url = NULL, *body = NULL;
  long sub_id = 0;
  bool validation = false;
  uint64_t seq = 0;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nsubs && !url; i++) {
    subscription *s = &subs[i];
    if (!s->deleted && !s->validated && s->validation_next && s->validation_next <= now) {
      char src[512], id[37];
      emu_uuid4(id);
      snprintf(src, sizeof src, "%s/events/api/v1/subscriptions/%ld", cfg->base_url, s->id);
      cJSON *j = cJSON_CreateObject();
      cJSON_AddStringToObject(j, "id", id);
      cJSON_AddStringToObject(j, "source", src);
      cJSON_AddStringToObject(j, "type", "platform.events.validatesubscription");
      cJSON_AddStringToObject(j, "specversion", "1.0");
      body = cJSON_PrintUnformatted(j);
      cJSON_Delete(j);
      url = strdup(s->endpoint);
      sub_id = s->id;
      validation = true;
      s->validation_next = 0; /* in flight */
    }
  }
  size_t qi = 0;
  for (; !url && qi < nqueue; qi++) {
    if (queue[qi].next_at > now)
      continue;
    subscription *s = find_sub(queue[qi].sub_id);
    if (!s) {
      queue[qi].next_at = INT64_MAX; /* dropped below */
      continue;
    }
    for (size_t e = 0; e < nevents; e++)
      if (events[e].seq == queue[qi].seq)
        body = cJSON_PrintUnformatted(events[e].json);
    if (!body) {
      queue[qi].next_at = INT64_MAX;
      continue;
    }
    url = strdup(s->endpoint);
    sub_id = s->id;
    seq = queue[qi].seq;
    queue[qi].next_at = INT64_MAX - 1; /* in flight */
  }
  /* drop deliveries whose subscription or event vanished */
  size_t w = 0;
  for (size_t i = 0; i < nqueue; i++)
    if (queue[i].next_at != INT64_MAX)
      queue[w++] = queue[i];
  nqueue = w;
  pthread_mutex_unlock(&mu);
  if (!url)
    return false;

  bool ok = post(url, body);
  now = emu_clock_now_us();
  pthread_mutex_lock(&mu);
  subscription *s = find_sub(sub_id);
  if (validation && s) {
    if (ok) {
      s->validated = true;
    } else if (++s->validation_attempts < MAX_VALIDATION_ATTEMPTS) {
      s->validation_next = now + (int64_t)validation_retry_s[s->validation_attempts - 1] * 1000000;
    }
  } else if (!validation) {
    for (size_t i = 0; i < nqueue; i++) {
      if (queue[i].sub_id != sub_id || queue[i].seq != seq || queue[i].next_at != INT64_MAX - 1)
        continue;
      if (ok || !s) {
        if (s)
          s->delivered++;
        queue[i] = queue[--nqueue];
      } else {
        s->failed_attempts++;
        queue[i].attempts++;
        if (queue[i].attempts >= MAX_ATTEMPTS) {
          s->dead_lettered++;
          queue[i] = queue[--nqueue];
        } else {
          queue[i].next_at = now + (int64_t)retry_s[queue[i].attempts - 1] * 1000000;
        }
      }
      break;
    }
  }
  pthread_mutex_unlock(&mu);
  free(url);
  cJSON_free(body);
  return true;
}

static void *delivery_main(void *arg)
{
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    bool stop = stopping;
    pthread_mutex_unlock(&mu);
    if (stop)
      break;
    if (do_one())
      continue;
    pthread_mutex_lock(&mu);
    if (!stopping) {
      /* wake on new work, or poll for retries coming due */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 100 * 1000000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&cv, &mu, &ts);
    }
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int emu_events_init(const emu_config *c)
{
  cfg = c;
  /* Webhooks in tests use the test PKI next to the config. */
  char *ca = emu_path_join(c->dir, "ca.pem");
  if (ca && access(ca, R_OK) == 0)
    ca_file = ca;
  else
    free(ca);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (pthread_create(&thread, NULL, delivery_main, NULL) != 0)
    return -1;
  running = true;
  return 0;
}

static void clear_locked(void)
{
  for (size_t i = 0; i < nevents; i++) {
    cJSON_Delete(events[i].json);
    free(events[i].type);
    free(events[i].resource);
    free(events[i].subject);
  }
  nevents = 0;
  for (size_t i = 0; i < nsubs; i++) {
    free(subs[i].endpoint);
    free(subs[i].resource_filter);
    free(subs[i].subject_filter);
    free(subs[i].type_filter);
    free(subs[i].consumer);
  }
  nsubs = 0;
  nqueue = 0;
}

void emu_events_reset(void)
{
  pthread_mutex_lock(&mu);
  clear_locked();
  pthread_mutex_unlock(&mu);
}

void emu_events_shutdown(void)
{
  if (running) {
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    running = false;
  }
  pthread_mutex_lock(&mu);
  clear_locked();
  free(events);
  free(subs);
  free(queue);
  events = NULL;
  subs = NULL;
  queue = NULL;
  capevents = capsubs = capqueue = 0;
  pthread_mutex_unlock(&mu);
  free(ca_file);
  ca_file = NULL;
  curl_global_cleanup();
  cfg = NULL;
}

void emu_events_add_json(cJSON *obj)
{
  cJSON *ev = cJSON_AddArrayToObject(obj, "events");
  cJSON *sa = cJSON_AddArrayToObject(obj, "subscriptions");
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nevents; i++)
    cJSON_AddItemToArray(ev, cJSON_Duplicate(events[i].json, 1));
  for (size_t i = 0; i < nsubs; i++) {
    if (subs[i].deleted)
      continue;
    cJSON *j = sub_json(&subs[i]);
    cJSON_AddNumberToObject(j, "delivered", (double)subs[i].delivered);
    cJSON_AddNumberToObject(j, "failedAttempts", (double)subs[i].failed_attempts);
    cJSON_AddNumberToObject(j, "deadLettered", (double)subs[i].dead_lettered);
    long pending = 0;
    for (size_t q = 0; q < nqueue; q++)
      pending += queue[q].sub_id == subs[i].id;
    cJSON_AddNumberToObject(j, "pending", (double)pending);
    cJSON_AddItemToArray(sa, j);
  }
  pthread_mutex_unlock(&mu);
}
