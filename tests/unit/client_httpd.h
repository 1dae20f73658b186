/* client_httpd.h - a scriptable local HTTP(S) server (libmicrohttpd) that
 * plays Maskinporten, the Altinn token exchange and the Broker for the
 * client's HTTP-level unit tests. Knobs select faults; observations record
 * what the client sent. One internal MHD thread; the test thread reads
 * observations only after its request returned.
 */
#ifndef CLIENT_HTTPD_H
#define CLIENT_HTTPD_H

#include <stddef.h>

#define FAKE_ID "0b6b4c5e-1234-4abc-8def-0123456789ab"
#define FAKE_MISSING_ID "0b6b4c5e-1234-4abc-8def-000000000404"

typedef struct fake_state {
  /* knobs */
  int mp_error;                /* token endpoint: 400 invalid_grant (MP-100) */
  int mp_503_once;             /* token endpoint: one 503 first */
  int mp_replay_once;          /* token endpoint: one MP-012 "Grant is used before" first */
  int exchange_quoted;         /* exchange body is a JSON string */
  int exchange_html;           /* exchange body is an HTML page */
  int exchange_exp_in;         /* exchanged token exp = now + this (default 1800) */
  int exchange_iat;            /* exchanged token carries iat = now + exchange_iat_at */
  int exchange_iat_at;
  int mp_clock_skew;           /* token endpoint's clock = now + this: it refuses grants
                                  whose iat is > 10 s off (MP-130) and says its time in Date */
  int reject_tokens_below;     /* Broker: 401 (empty) for Altinn token number < this */
  int deny_bro6;               /* Broker: 401 BRO-00006 for everything */
  int rate_limit_once;         /* Broker: next request 429 with Retry-After: 1 */
  unsigned long long dl_size;  /* download body size */
  int dl_short;                /* download stops at half of Content-Length */
  int dl_ignore_range;         /* download answers 200 to a Range request */
  int range_416_with_total;    /* 416 carries "Content-Range: bytes * /size"
                                  (the real Broker sends none) */
  unsigned long long upload_base; /* /upload-check expects pattern from here */
  unsigned long long big_size; /* GET /big body size */

  /* observations */
  int grants;                  /* token requests seen */
  int exchanges;               /* exchange requests seen */
  int broker_calls;            /* Broker requests seen */
  int connections;             /* TCP connections accepted */
  int form_ok;                 /* last token request had the exact form prefix */
  char token_content_type[128]; /* Content-Type of the last token request */
  char token_accept[128];      /* Accept of the last token request */
  int exchange_accept_ok;      /* exchange had Accept: text/plain and a Bearer */
  long last_grant_iat;         /* iat of the last grant received */
  char last_method[16];
  char last_url[256];
  char last_accept[128];       /* "(none)" when absent */
  char last_content_type[128]; /* "(none)" when absent */
  char last_expect[64];        /* "(none)" when absent */
  char last_transfer_encoding[64];
  char last_range[64];
  char search_resource[256];   /* unescaped resourceId query value */
  char search_from[64];
  long long last_content_length; /* -1 when absent */
  unsigned long long upload_bytes; /* body bytes of the last upload */
  int upload_pattern_ok;       /* every byte matched fixture_pattern */
  char init_body[4096];        /* last initialize JSON */
} fake_state;

typedef struct fake_server fake_server;

/* Starts on 127.0.0.1, ephemeral port; TLS when cert_pem/key_pem are given.
 * Returns NULL on failure. */
fake_server *fake_start(const char *cert_pem, const char *key_pem);
void fake_stop(fake_server *s);
int fake_port(const fake_server *s);
fake_state *fake_state_of(fake_server *s);

/* "http(s)://127.0.0.1:<port>" */
const char *fake_base(const fake_server *s);

#endif
