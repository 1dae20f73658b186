/* ab_config.c - parsing and checking the AltinnBroker* directives
 * (see ab_config.h for the syntax). */
#include "ab_config.h"
#include "ab_secret.h"
#include "ab_audience.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ITEMS 64

ab_config *ab_config_new(void) {
  ab_config *cfg = calloc(1, sizeof(ab_config));
  if (cfg != NULL) {
    ab_upload_cfg_init(&cfg->upload);
  }
  return cfg;
}

static void free_list(char **items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i]);
  }
  free(items);
}

static void free_client(ab_client_cfg *c) {
  free(c->name); free(c->client_id); free(c->org); free(c->kid);
  free(c->key_path); free(c->key_password_path); free(c->cert_path);
  free(c->jwk_path); free(c->p12_path); free(c->p12_password_path);
  free(c->alg); free(c->resource); free(c->systemuser_org); free(c->external_ref);
  free(c->scope); free(c->source);
  ab_key_free(c->key);
}

void ab_config_wipe_secrets(ab_config *cfg) {
  if (cfg == NULL) {
    return;
  }
  for (size_t i = 0; i < cfg->n_clients; i++) {
    ab_key_free(cfg->clients[i].key); /* wipes the key (EVP_PKEY frees with clearing) */
    cfg->clients[i].key = NULL;
  }
  if (cfg->redis_password != NULL) {
    ab_secret_wipe(cfg->redis_password, strlen(cfg->redis_password));
    cfg->redis_password = NULL;
  }
}

void ab_config_free(ab_config *cfg) {
  if (cfg == NULL) {
    return;
  }
  for (size_t i = 0; i < cfg->n_clients; i++) {
    free_client(&cfg->clients[i]);
  }
  free(cfg->clients);
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    ab_mount_cfg *m = &cfg->mounts[i];
    free(m->path); free(m->client_name); free(m->resource_id); free(m->source);
    free_list(m->recipients, m->n_recipients);
    free_list(m->users, m->n_users);
    free_list(m->groups, m->n_groups);
    ab_outbox_cfg_free(&m->outbox);
  }
  free(cfg->mounts);
  free(cfg->environment); free(cfg->platform_url); free(cfg->maskinporten_issuer);
  free(cfg->token_url); free(cfg->exchange_url); free(cfg->ca_file);
  free(cfg->ca_pem); free(cfg->spool_dir); free(cfg->state_dir); free(cfg->metrics_file); free(cfg->log_file);
  free(cfg->redis_host); free(cfg->redis_user);
  if (cfg->redis_password != NULL) {
    ab_secret_wipe(cfg->redis_password, strlen(cfg->redis_password));
  }
  free(cfg->redis_password_file); free(cfg->redis_password_source);
  free(cfg->redis_ca_file); free(cfg->redis_ca_pem); free(cfg->redis_prefix);
  free(cfg);
}

static int fail(ab_error *err, const char *source, const char *fmt, const char *a,
                const char *b) {
  char msg[AB_ERROR_MSG_MAX];
  snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "");
  return ab_error_set(err, EINVAL, "%s%s%s", source ? source : "",
                      source ? ": " : "", msg);
}

static int replace(char **slot, const char *value) {
  char *copy = strdup(value);
  if (copy == NULL) {
    return -1;
  }
  free(*slot);
  *slot = copy;
  return 0;
}

static int is_digits(const char *s, size_t n) {
  if (strlen(s) != n) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char) s[i])) {
      return 0;
    }
  }
  return 1;
}

static int is_https_url(const char *s) {
  return strncmp(s, "https://", 8) == 0 && s[8] != '\0' && s[8] != '/';
}

/* Strips trailing slashes (keeps a lone "/"). */
static void strip_slashes(char *s) {
  size_t n = strlen(s);
  while (n > 1 && s[n - 1] == '/') {
    s[--n] = '\0';
  }
}

/* Splits "a,b,c" into a malloc'ed list. */
static int split_list(const char *value, char ***out, size_t *n_out) {
  char *copy = strdup(value);
  if (copy == NULL) {
    return -1;
  }
  char **items = calloc(MAX_ITEMS, sizeof(char *));
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok != NULL && items != NULL;
       tok = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char) *tok)) tok++;
    if (*tok == '\0') continue;
    if (n == MAX_ITEMS) break;
    items[n++] = strdup(tok);
  }
  free(copy);
  if (items == NULL) {
    return -1;
  }
  *out = items;
  *n_out = n;
  return 0;
}

/* Accepts "0192:<9 digits>", "urn:altinn:organization:identifier-no:<9>" or
 * a bare 9-digit number and writes the "0192:<org>" form the Broker stores. */
static int normalise_party(const char *in, char **out) {
  const char *digits = in;
  if (strncmp(in, "0192:", 5) == 0) {
    digits = in + 5;
  } else if (strncmp(in, "urn:altinn:organization:identifier-no:", 38) == 0) {
    digits = in + 38;
  }
  if (!is_digits(digits, 9)) {
    return -1;
  }
  char buf[16];
  snprintf(buf, sizeof(buf), "0192:%s", digits);
  *out = strdup(buf);
  return *out == NULL ? -1 : 0;
}

/* "key=value" → key (in place) and value; NULL when no '='. */
static const char *split_kv(const char *arg, char *key, size_t keysz) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL || (size_t) (eq - arg) >= keysz) {
    return NULL;
  }
  memcpy(key, arg, (size_t) (eq - arg));
  key[eq - arg] = '\0';
  return eq + 1;
}

/* A client setting that holds an absolute file path. */
static int set_path(char **slot, const char *key, const char *v, const char *source,
                    ab_error *err) {
  if (v[0] != '/') {
    char what[64];
    snprintf(what, sizeof(what), "%s", key);
    return fail(err, source, "AltinnBrokerClient: %s= must be an absolute path, got '%s'", what, v);
  }
  return replace(slot, v) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
}

static int client_setting(ab_client_cfg *c, const char *key, const char *v,
                          const char *source, ab_error *err) {
  static const struct {
    const char *key;
    size_t off;
  } paths[] = {
    { "key", offsetof(ab_client_cfg, key_path) },
    { "key-password-file", offsetof(ab_client_cfg, key_password_path) },
    { "cert", offsetof(ab_client_cfg, cert_path) },
    { "jwk", offsetof(ab_client_cfg, jwk_path) },
    { "p12", offsetof(ab_client_cfg, p12_path) },
    { "p12-password-file", offsetof(ab_client_cfg, p12_password_path) },
  }, texts[] = {
    { "client-id", offsetof(ab_client_cfg, client_id) },
    { "kid", offsetof(ab_client_cfg, kid) },
    { "alg", offsetof(ab_client_cfg, alg) },
    { "scope", offsetof(ab_client_cfg, scope) },
    { "resource", offsetof(ab_client_cfg, resource) },
    { "external-ref", offsetof(ab_client_cfg, external_ref) },
  };
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    if (strcmp(key, paths[i].key) == 0) {
      return set_path((char **) ((char *) c + paths[i].off), key, v, source, err);
    }
  }
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    if (strcmp(key, texts[i].key) == 0) {
      return replace((char **) ((char *) c + texts[i].off), v) == 0
                 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  if (strcmp(key, "org") == 0 || strcmp(key, "systemuser-org") == 0) {
    if (!is_digits(v, 9)) {
      return fail(err, source, "AltinnBrokerClient: %s must be a 9-digit organisation number, "
                  "got '%s'", key, v);
    }
    return replace(strcmp(key, "org") == 0 ? &c->org : &c->systemuser_org, v) == 0
               ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  return fail(err, source, "AltinnBrokerClient: unknown setting '%s' (known: client-id, org, "
              "key, kid, key-password-file, cert, jwk, p12, p12-password-file, alg, scope, "
              "resource, systemuser-org, external-ref)%s", key, NULL);
}

static int client_directive(ab_config *cfg, int argc, const char *const *argv,
                            const char *source, ab_error *err) {
  if (argc < 2) {
    return fail(err, source, "AltinnBrokerClient needs a name and key=value settings "
                "(client-id=, org=, and key=+kid=, jwk= or p12=)%s%s", NULL, NULL);
  }
  for (size_t i = 0; i < cfg->n_clients; i++) {
    if (strcmp(cfg->clients[i].name, argv[0]) == 0) {
      return fail(err, source, "AltinnBrokerClient '%s' is defined twice (first at %s)",
                  argv[0], cfg->clients[i].source);
    }
  }
  ab_client_cfg c;
  memset(&c, 0, sizeof(c));
  c.name = strdup(argv[0]);
  c.source = strdup(source ? source : "");
  int rc = c.name == NULL || c.source == NULL ? ab_error_set(err, ENOMEM, "out of memory") : 0;
  for (int i = 1; i < argc && rc == 0; i++) {
    char key[32];
    const char *v = split_kv(argv[i], key, sizeof(key));
    if (v == NULL || *v == '\0') {
      rc = fail(err, source, "AltinnBrokerClient: expected key=value, got '%s'", argv[i], NULL);
    } else {
      rc = client_setting(&c, key, v, source, err);
    }
  }
  if (rc == 0) {
    const char *missing = c.client_id == NULL ? "client-id"
                        : c.org == NULL ? "org"
                        : c.key_path == NULL && c.jwk_path == NULL && c.p12_path == NULL
                        ? "key= (with kid=), jwk= or p12" : NULL;
    if (missing != NULL) {
      rc = fail(err, source, "AltinnBrokerClient '%s': missing %s=", argv[0], missing);
    } else if (c.external_ref != NULL && c.systemuser_org == NULL) {
      rc = fail(err, source, "AltinnBrokerClient '%s': external-ref= belongs to a system user; "
                "add systemuser-org=%s", argv[0], NULL);
    } else {
      ab_key_source ks = ab_config_key_source(&c);
      if (ab_key_source_check(&ks, err) < 0) {
        rc = ab_error_prefix(err, "%s: AltinnBrokerClient '%s'", source ? source : "", argv[0]);
      }
    }
  }
  if (rc == 0) {
    ab_client_cfg *grown = realloc(cfg->clients, (cfg->n_clients + 1) * sizeof(*grown));
    if (grown == NULL) {
      rc = ab_error_set(err, ENOMEM, "out of memory");
    } else {
      cfg->clients = grown;
      cfg->clients[cfg->n_clients++] = c;
      return 0;
    }
  }
  free_client(&c);
  return rc;
}

/* The SFTP client's paths are normalised by the server before they are
 * matched against mounts, so a mount is only reachable when its own path is
 * in that normal form: "/a/b", never "/a/../b", "/a/./b", "//a" or "/". */
static int is_canonical_mount_path(const char *p) {
  if (p[0] != '/' || p[1] == '\0') {
    return 0;
  }
  for (const char *seg = p + 1;; seg++) {
    size_t len = strcspn(seg, "/");
    if (len == 0 || (len == 1 && seg[0] == '.') ||
        (len == 2 && seg[0] == '.' && seg[1] == '.')) {
      return 0;
    }
    for (size_t i = 0; i < len; i++) {
      if ((unsigned char) seg[i] < 0x20 || seg[i] == 0x7f) {
        return 0;
      }
    }
    seg += len;
    if (*seg == '\0') {
      return 1;
    }
  }
}

static void free_mount(ab_mount_cfg *m) {
  free(m->path); free(m->client_name); free(m->resource_id); free(m->source);
  free_list(m->recipients, m->n_recipients);
  free_list(m->users, m->n_users);
  free_list(m->groups, m->n_groups);
  ab_outbox_cfg_free(&m->outbox);
}

static int mount_directive(ab_config *cfg, int argc, const char *const *argv,
                           const char *source, ab_error *err) {
  if (argc < 2) {
    return fail(err, source, "AltinnBrokerMount needs a path and key=value settings "
                "(client=, resource=, direction=)%s%s", NULL, NULL);
  }
  ab_mount_cfg m;
  memset(&m, 0, sizeof(m));
  m.events = AB_MOUNT_EVENTS_AUTO;
  m.path = strdup(argv[0]);
  m.source = strdup(source ? source : "");
  if (m.path == NULL || m.source == NULL || ab_outbox_cfg_init(&m.outbox) < 0) {
    free_mount(&m);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  strip_slashes(m.path);
  if (!is_canonical_mount_path(m.path)) {
    free_mount(&m);
    return fail(err, source, "AltinnBrokerMount: path must be absolute, not '/', without "
                "'.', '..', '//' or control characters, got '%s'", argv[0], NULL);
  }
  int rc = 0;
  const char *outbox_only = NULL; /* first outbox option given, for the inbox check */
  for (int i = 1; i < argc && rc == 0; i++) {
    char key[32];
    const char *v = split_kv(argv[i], key, sizeof(key));
    if (v == NULL || *v == '\0') {
      rc = fail(err, source, "AltinnBrokerMount: expected key=value, got '%s'", argv[i], NULL);
    } else if (strcmp(key, "client") == 0) {
      rc = replace(&m.client_name, v);
    } else if (strcmp(key, "resource") == 0) {
      const char *colon = strrchr(v, ':');
      /* The Broker accepts "urn:altinn:resource:<id>"; keep the bare id. */
      rc = replace(&m.resource_id, colon ? colon + 1 : v);
    } else if (strcmp(key, "direction") == 0) {
      if (strcmp(v, "outbox") == 0) {
        m.direction = AB_OUTBOX;
      } else if (strcmp(v, "inbox") == 0) {
        m.direction = AB_INBOX;
      } else {
        rc = fail(err, source, "AltinnBrokerMount: direction must be 'outbox' or 'inbox', got '%s'", v, NULL);
      }
    } else if (strcmp(key, "recipients") == 0) {
      char **raw = NULL;
      size_t n = 0;
      if (split_list(v, &raw, &n) < 0) {
        rc = ab_error_set(err, ENOMEM, "out of memory");
        break;
      }
      free_list(m.recipients, m.n_recipients);
      m.recipients = calloc(n ? n : 1, sizeof(char *));
      m.n_recipients = 0;
      for (size_t j = 0; j < n && rc == 0; j++) {
        if (normalise_party(raw[j], &m.recipients[m.n_recipients]) < 0) {
          rc = fail(err, source, "AltinnBrokerMount: recipient '%s' is not an organisation "
                    "number (9 digits, 0192:<9 digits> or urn:altinn:organization:identifier-no:<9 digits>)%s", raw[j], NULL);
        } else {
          m.n_recipients++;
        }
      }
      free_list(raw, n);
    } else if (strcmp(key, "users") == 0 || strcmp(key, "groups") == 0) {
      int users = key[0] == 'u';
      char ***list = users ? &m.users : &m.groups;
      size_t *n = users ? &m.n_users : &m.n_groups;
      free_list(*list, *n);
      *list = NULL;
      *n = 0;
      if (split_list(v, list, n) < 0) {
        rc = ab_error_set(err, ENOMEM, "out of memory");
      } else if (*n == 0) {
        rc = fail(err, source, "AltinnBrokerMount: %s= names nobody%s", key, NULL);
      }
    } else if (strcmp(key, "events") == 0) {
      m.inbox_options_set = 1;
      m.events = strcmp(v, "pull") == 0 ? 0 : strcmp(v, "webhook") == 0 ? 1
               : strcmp(v, "off") == 0 ? 2 : -1;
      if (m.events < 0) {
        rc = fail(err, source, "AltinnBrokerMount: events must be pull, webhook or off, got '%s'%s", v, NULL);
      }
    } else if (strcmp(key, "confirm") == 0) {
      m.inbox_options_set = 1;
      int c = strcmp(v, "on-rm") == 0 ? AB_CONFIRM_ON_RM
            : strcmp(v, "after-read") == 0 ? AB_CONFIRM_AFTER_READ
            : strcmp(v, "never") == 0 ? AB_CONFIRM_NEVER : -1;
      if (c < 0) {
        rc = fail(err, source, "AltinnBrokerMount: confirm must be on-rm, after-read or never, got '%s'%s", v, NULL);
      } else {
        m.confirm = (ab_confirm_policy) c;
      }
    } else if (strcmp(key, "layout") == 0) {
      m.inbox_options_set = 1;
      if (strcmp(v, "flat") == 0 || strcmp(v, "by-sender") == 0) {
        m.by_sender = strcmp(v, "by-sender") == 0;
      } else {
        rc = fail(err, source, "AltinnBrokerMount: layout must be flat or by-sender, got '%s'%s", v, NULL);
      }
    } else {
      int applied = ab_outbox_cfg_option(&m.outbox, key, v, source, err);
      if (applied < 0) {
        rc = -1;
      } else if (applied == 0) {
        rc = fail(err, source, "AltinnBrokerMount: unknown setting '%s' (known: client, resource, "
                  "direction, recipients, users, groups, for inboxes events, confirm, layout, and for "
                  "outboxes max-size, resend, duplicates, duplicate-window, temp-names, recipient-dirs, "
                  "sidecars, reference, receipts)", key, NULL);
      } else if (outbox_only == NULL) {
        outbox_only = argv[i];
      }
    }
  }
  if (rc == 0) {
    const char *missing = m.client_name == NULL ? "client"
                        : m.resource_id == NULL ? "resource"
                        : m.direction == 0 ? "direction" : NULL;
    if (missing != NULL) {
      rc = fail(err, source, "AltinnBrokerMount %s: missing %s=", m.path, missing);
    } else if (m.direction == AB_OUTBOX && m.n_recipients == 0 &&
               m.outbox.recipient_dirs == AB_RECIPIENT_DIRS_NO) {
      rc = fail(err, source, "AltinnBrokerMount %s: an outbox needs recipients=0192:<org>[,...] "
                "or recipient-dirs=%s", m.path, NULL);
    } else if (m.direction == AB_INBOX && outbox_only != NULL) {
      rc = fail(err, source, "AltinnBrokerMount %s: %s only applies to direction=outbox", m.path, outbox_only);
    } else if (m.direction == AB_INBOX && m.n_recipients > 0) {
      rc = fail(err, source, "AltinnBrokerMount %s: recipients= only applies to direction=outbox%s", m.path, NULL);
    } else if (m.direction == AB_OUTBOX && m.inbox_options_set) {
      rc = fail(err, source, "AltinnBrokerMount %s: events=, confirm= and layout= only apply to direction=inbox%s", m.path, NULL);
    }
  }
  if (rc == 0) {
    ab_mount_cfg *grown = realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof(*grown));
    if (grown == NULL) {
      rc = ab_error_set(err, ENOMEM, "out of memory");
    } else {
      cfg->mounts = grown;
      cfg->mounts[cfg->n_mounts++] = m;
      return 0;
    }
  }
  free_mount(&m);
  return rc;
}

/* "on"/"off" -> 1/0, else -1. */
static int on_off(const char *v) {
  return strcasecmp(v, "on") == 0 ? 1 : strcasecmp(v, "off") == 0 ? 0 : -1;
}

/* The AltinnBrokerRedis* directives and AltinnBrokerAgent (one argument each). */
static int redis_directive(ab_config *cfg, const char *directive, const char *v,
                           const char *source, ab_error *err) {
  const char *d = directive + 17; /* after "AltinnBrokerRedis" */
  if (strcasecmp(directive, "AltinnBrokerAgent") == 0) {
    int on = on_off(v);
    int external = strcasecmp(v, "external") == 0;
    if (on < 0 && !external) {
      return fail(err, source, "AltinnBrokerAgent must be on, off or external, got '%s'%s", v, NULL);
    }
    cfg->agent_off = on == 0;
    cfg->agent_external = external;
    return 0;
  }
  if (*d == '\0') {
    /* host:port; an IPv6 literal goes in brackets: [::1]:6379 */
    const char *colon = strrchr(v, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == v || end == NULL || *end != '\0' || port < 1 || port > 65535) {
      return fail(err, source, "AltinnBrokerRedis must be host:port (e.g. 10.0.0.5:6379), got '%s'%s", v, NULL);
    }
    const char *host = v;
    size_t hl = (size_t) (colon - v);
    if (v[0] == '[' && colon[-1] == ']') {
      host++;
      hl -= 2;
    }
    char *h = strndup(host, hl);
    if (h == NULL) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    free(cfg->redis_host);
    cfg->redis_host = h;
    cfg->redis_port = (int) port;
    return 0;
  }
  if (strcasecmp(d, "User") == 0) {
    return replace(&cfg->redis_user, v) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (strcasecmp(d, "Password") == 0) {
    if (replace(&cfg->redis_password_source, source ? source : "") < 0) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    if (strncmp(v, "file:", 5) == 0) {
      if (v[5] != '/') {
        return fail(err, source, "AltinnBrokerRedisPassword file: needs an absolute path, got '%s'%s", v + 5, NULL);
      }
      return replace(&cfg->redis_password_file, v + 5) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
    }
    if (cfg->redis_password != NULL) {
      ab_secret_wipe(cfg->redis_password, strlen(cfg->redis_password));
    }
    cfg->redis_password = strdup(v);
    return cfg->redis_password != NULL ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (strcasecmp(d, "TLS") == 0) {
    int on = on_off(v);
    if (on < 0) {
      return fail(err, source, "AltinnBrokerRedisTLS must be on or off, got '%s'%s", v, NULL);
    }
    cfg->redis_tls = on;
    return 0;
  }
  if (strcasecmp(d, "CA") == 0) {
    if (v[0] != '/') {
      return fail(err, source, "AltinnBrokerRedisCA must be an absolute path, got '%s'%s", v, NULL);
    }
    return replace(&cfg->redis_ca_file, v) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (strcasecmp(d, "Prefix") == 0) {
    for (const char *p = v; *p; p++) {
      if (*p <= ' ' || *p > '~') {
        return fail(err, source, "AltinnBrokerRedisPrefix may hold printable characters without spaces, got '%s'%s", v, NULL);
      }
    }
    if (strlen(v) > 100) {
      return fail(err, source, "AltinnBrokerRedisPrefix is longer than 100 characters%s%s", NULL, NULL);
    }
    return replace(&cfg->redis_prefix, v) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (strcasecmp(d, "Timeout") == 0) {
    char *end = NULL;
    long ms = strtol(v, &end, 10);
    if (*end != '\0' || ms < 10 || ms > 60000) {
      return fail(err, source, "AltinnBrokerRedisTimeout must be milliseconds between 10 and 60000, got '%s'%s", v, NULL);
    }
    cfg->redis_timeout_ms = (int) ms;
    return 0;
  }
  return fail(err, source, "unknown directive %s%s", directive, NULL);
}

/* The endpoints AltinnBrokerRateLimit knows, in rate_limits[] order. */
static const char *const rate_endpoints[] = {
  "initialize", "upload", "overview", "details", "search", "download", "confirmdownload",
};

int ab_config_rate_limit(const ab_config *cfg, const char *endpoint) {
  for (size_t i = 0; i < sizeof(rate_endpoints) / sizeof(rate_endpoints[0]); i++) {
    if (strcmp(rate_endpoints[i], endpoint) == 0) {
      return cfg->rate_limits[i];
    }
  }
  return 0;
}

/* AltinnBrokerRateLimit search=10 overview=120 ...: the calls per minute
 * the gateway allows itself per organisation and endpoint (lower them when
 * other systems use the same organisation's quota). */
static int rate_limit_directive(ab_config *cfg, int argc, const char *const *argv,
                                const char *source, ab_error *err) {
  if (argc < 1) {
    return fail(err, source, "AltinnBrokerRateLimit needs endpoint=calls-per-minute settings, e.g. search=10%s%s", NULL, NULL);
  }
  for (int i = 0; i < argc; i++) {
    char key[32];
    const char *v = split_kv(argv[i], key, sizeof(key));
    int which = -1;
    for (size_t k = 0; v != NULL && k < sizeof(rate_endpoints) / sizeof(rate_endpoints[0]); k++) {
      if (strcmp(rate_endpoints[k], key) == 0) {
        which = (int) k;
      }
    }
    if (which < 0) {
      return fail(err, source, "AltinnBrokerRateLimit: unknown endpoint in '%s' (known: initialize, "
                  "upload, overview, details, search, download, confirmdownload)%s", argv[i], NULL);
    }
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 1 || n > 1000000) {
      return fail(err, source, "AltinnBrokerRateLimit: %s needs a number of calls per minute (1..1000000), got '%s'", key, v);
    }
    cfg->rate_limits[which] = (int) n;
  }
  return 0;
}

int ab_config_directive(ab_config *cfg, const char *directive, int argc,
                        const char *const *argv, const char *source,
                        ab_error *err) {
  ab_error_clear(err);
  if (strcasecmp(directive, "AltinnBrokerClient") == 0) {
    return client_directive(cfg, argc, argv, source, err);
  }
  if (strcasecmp(directive, "AltinnBrokerMount") == 0) {
    return mount_directive(cfg, argc, argv, source, err);
  }
  if (strcasecmp(directive, "AltinnBrokerUpload") == 0) {
    return ab_upload_cfg_directive(&cfg->upload, argc, argv, source, err);
  }
  if (strcasecmp(directive, "AltinnBrokerRateLimit") == 0) {
    return rate_limit_directive(cfg, argc, argv, source, err);
  }
  if (argc != 1) {
    return fail(err, source, "%s takes exactly one argument%s", directive, NULL);
  }
  const char *v = argv[0];
  if (strcasecmp(directive, "AltinnBrokerEnvironment") == 0) {
    if (strcmp(v, "tt02") != 0 && strcmp(v, "production") != 0 && strcmp(v, "custom") != 0) {
      return fail(err, source, "AltinnBrokerEnvironment must be tt02, production or custom, got '%s'%s", v, NULL);
    }
    return replace(&cfg->environment, v) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (strcasecmp(directive, "AltinnBrokerPlatformURL") == 0 ||
      strcasecmp(directive, "AltinnBrokerMaskinportenURL") == 0) {
    if (!is_https_url(v)) {
      return fail(err, source, "%s must be an https:// URL, got '%s'", directive, v);
    }
    int platform = strcasecmp(directive, "AltinnBrokerPlatformURL") == 0;
    if (replace(platform ? &cfg->platform_url : &cfg->maskinporten_issuer, v) < 0) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    if (platform) {
      strip_slashes(cfg->platform_url);
    }
    return 0;
  }
  if (strcasecmp(directive, "AltinnBrokerCACertificate") == 0 ||
      strcasecmp(directive, "AltinnBrokerSpoolDir") == 0 ||
      strcasecmp(directive, "AltinnBrokerStateDir") == 0 ||
      strcasecmp(directive, "AltinnBrokerLog") == 0 ||
      strcasecmp(directive, "AltinnBrokerMetricsFile") == 0) {
    if (v[0] != '/') {
      return fail(err, source, "%s must be an absolute path, got '%s'", directive, v);
    }
    char **slot = strcasecmp(directive, "AltinnBrokerSpoolDir") == 0 ? &cfg->spool_dir
                : strcasecmp(directive, "AltinnBrokerStateDir") == 0 ? &cfg->state_dir
                : strcasecmp(directive, "AltinnBrokerLog") == 0 ? &cfg->log_file
                : strcasecmp(directive, "AltinnBrokerMetricsFile") == 0 ? &cfg->metrics_file
                : &cfg->ca_file;
    return replace(slot, v) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (strncasecmp(directive, "AltinnBrokerRedis", 17) == 0 ||
      strcasecmp(directive, "AltinnBrokerAgent") == 0) {
    return redis_directive(cfg, directive, v, source, err);
  }
  return fail(err, source, "unknown directive %s%s", directive, NULL);
}

static int set_url(char **slot, const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 1;
  char *s = malloc(n);
  if (s == NULL) {
    return -1;
  }
  snprintf(s, n, "%s%s", a, b);
  free(*slot);
  *slot = s;
  return 0;
}

int ab_config_finish(ab_config *cfg, ab_error *err) {
  const char *env = cfg->environment ? cfg->environment : "custom";
  if (strcmp(env, "tt02") == 0 || strcmp(env, "production") == 0) {
    int prod = strcmp(env, "production") == 0;
    if (cfg->platform_url == NULL &&
        replace(&cfg->platform_url, prod ? "https://platform.altinn.no" : "https://platform.tt02.altinn.no") < 0) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    if (cfg->maskinporten_issuer == NULL &&
        replace(&cfg->maskinporten_issuer, prod ? "https://maskinporten.no/" : "https://test.maskinporten.no/") < 0) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  if (cfg->platform_url == NULL || cfg->maskinporten_issuer == NULL) {
    return ab_error_set(err, EINVAL, "AltinnBrokerEnvironment %s needs AltinnBrokerPlatformURL and "
                        "AltinnBrokerMaskinportenURL (or use tt02 or production)", env);
  }
  /* The issuer is the JWT "aud" and must keep its trailing slash; the token
   * endpoint is "<issuer>token". */
  size_t il = strlen(cfg->maskinporten_issuer);
  if (cfg->maskinporten_issuer[il - 1] != '/') {
    if (set_url(&cfg->maskinporten_issuer, cfg->maskinporten_issuer, "/") < 0) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  if (set_url(&cfg->token_url, cfg->maskinporten_issuer, "token") < 0 ||
      set_url(&cfg->exchange_url, cfg->platform_url,
              "/authentication/api/v1/exchange/maskinporten") < 0) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (cfg->spool_dir == NULL && replace(&cfg->spool_dir, "/var/spool/altinn-broker") < 0) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (cfg->state_dir == NULL && replace(&cfg->state_dir, "/var/lib/altinn-broker") < 0) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (cfg->redis_prefix == NULL && replace(&cfg->redis_prefix, "altinn-broker:") < 0) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (cfg->redis_timeout_ms == 0) {
    cfg->redis_timeout_ms = 500;
  }
  if (cfg->redis_host == NULL && (cfg->redis_password != NULL || cfg->redis_password_file != NULL ||
                                  cfg->redis_user != NULL || cfg->redis_tls || cfg->redis_ca_file != NULL)) {
    return ab_error_set(err, EINVAL, "AltinnBrokerRedis* settings are given but no AltinnBrokerRedis host:port");
  }
  if (cfg->n_mounts == 0) {
    return ab_error_set(err, EINVAL, "no AltinnBrokerMount is configured");
  }
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    ab_mount_cfg *m = &cfg->mounts[i];
    m->client = NULL;
    for (size_t j = 0; j < cfg->n_clients; j++) {
      if (strcmp(cfg->clients[j].name, m->client_name) == 0) {
        m->client = &cfg->clients[j];
      }
    }
    if (m->client == NULL) {
      return ab_error_set(err, EINVAL, "%s: AltinnBrokerMount %s uses client '%s', but no "
                          "AltinnBrokerClient has that name", m->source, m->path, m->client_name);
    }
    if (m->events == AB_MOUNT_EVENTS_AUTO) {
      /* Without events= an inbox pulls Altinn Events when its client asks
       * for the Events scope (scope=...), and relies on search otherwise:
       * a client without that scope would get no token at all. */
      m->events = m->client->scope != NULL &&
                  strstr(m->client->scope, "altinn:events.subscribe") != NULL ? 0 : 2;
    }
    /* A path a user sees must name one mount: the same path or nested
     * paths are fine only for audiences that share nobody. */
    for (size_t j = 0; j < i; j++) {
      const ab_mount_cfg *o = &cfg->mounts[j];
      if (!ab_mount_paths_clash(o->path, m->path) || !ab_audience_may_overlap(o, m)) {
        continue;
      }
      if (strcmp(o->path, m->path) == 0) {
        return ab_error_set(err, EINVAL, "%s: AltinnBrokerMount %s is declared twice for the same "
                            "users (first at %s); give each organisation's mount its own users= or groups=",
                            m->source, m->path, o->source);
      }
      return ab_error_set(err, EINVAL, "%s: AltinnBrokerMount %s and %s (%s) nest, and one user could "
                          "see both; mounts a user sees may not nest", m->source, m->path, o->path, o->source);
    }
  }
  return 0;
}

/* Reads a public file (the CA bundle) into memory. */
static int read_public_file(const char *path, char **out, size_t *len, ab_error *err) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return ab_error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
  }
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1);
  while (buf != NULL) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap || cap >= 16 * 1024 * 1024) {
      break;
    }
    char *grown = realloc(buf, 2 * cap + 1);
    if (grown == NULL) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  fclose(f);
  if (buf == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory reading %s", path);
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

ab_key_source ab_config_key_source(const ab_client_cfg *c) {
  ab_key_source ks = {
    .key_path = c->key_path, .key_password_path = c->key_password_path,
    .cert_path = c->cert_path, .jwk_path = c->jwk_path, .p12_path = c->p12_path,
    .p12_password_path = c->p12_password_path, .kid = c->kid, .alg = c->alg,
  };
  return ks;
}

int ab_config_load_client_key(ab_client_cfg *c, ab_error *err) {
  if (c->key != NULL) {
    return 0;
  }
  ab_key_source ks = ab_config_key_source(c);
  c->key = ab_key_load(&ks, err);
  if (c->key == NULL) {
    return ab_error_prefix(err, "%s: AltinnBrokerClient %s", c->source, c->name);
  }
  return 0;
}

int ab_config_load_secrets(ab_config *cfg, ab_error *err) {
  for (size_t i = 0; i < cfg->n_clients; i++) {
    if (ab_config_load_client_key(&cfg->clients[i], err) < 0) {
      return -1;
    }
  }
  if (cfg->redis_password_file != NULL && cfg->redis_password == NULL) {
    if (ab_secret_read_password(cfg->redis_password_file, "Redis password file",
                                &cfg->redis_password, err) < 0) {
      return ab_error_prefix(err, "%s: AltinnBrokerRedisPassword", cfg->redis_password_source);
    }
  }
  if (cfg->redis_ca_file != NULL && cfg->redis_ca_pem == NULL &&
      read_public_file(cfg->redis_ca_file, &cfg->redis_ca_pem, &cfg->redis_ca_pem_len, err) < 0) {
    return ab_error_prefix(err, "AltinnBrokerRedisCA");
  }
  return ab_config_load_ca(cfg, err);
}

int ab_config_load_ca(ab_config *cfg, ab_error *err) {
  if (cfg->ca_file != NULL && cfg->ca_pem == NULL) {
    if (read_public_file(cfg->ca_file, &cfg->ca_pem, &cfg->ca_pem_len, err) < 0) {
      return ab_error_prefix(err, "AltinnBrokerCACertificate");
    }
  }
  return 0;
}

void ab_config_auth(const ab_config *cfg, const ab_client_cfg *c, const char *scope,
                    ab_auth_config *out) {
  memset(out, 0, sizeof(*out));
  out->client_id = c->client_id;
  out->key = c->key;
  out->audience = cfg->maskinporten_issuer;
  out->token_url = cfg->token_url;
  out->exchange_url = cfg->exchange_url;
  out->scope = scope;
  out->resource = c->resource;
  out->systemuser_org = c->systemuser_org;
  out->external_ref = c->external_ref;
}

/* Splits a config line into words; "double quotes" group words. Returns the
 * word count, -1 on an unterminated quote. Writes into line. */
static int tokenize(char *line, char **words, int max) {
  int n = 0;
  char *p = line;
  while (*p != '\0') {
    while (isspace((unsigned char) *p)) p++;
    if (*p == '\0' || *p == '#') break;
    if (n == max) return -1;
    char *out = p;
    words[n++] = out;
    int quoted = 0;
    while (*p != '\0' && (quoted || !isspace((unsigned char) *p))) {
      if (*p == '"') {
        quoted = !quoted;
        p++;
        continue;
      }
      *out++ = *p++;
    }
    if (quoted) return -1;
    if (*p != '\0') p++;
    *out = '\0';
  }
  return n;
}

static int load_file_rec(ab_config *cfg, const char *path, int depth, ab_error *err);

/* ProFTPD skips these when including a directory or pattern. */
static int is_backup_name(const char *path) {
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t n = strlen(base);
  return (n > 0 && base[n - 1] == '~') ||
         (n > 4 && base[n - 4] == '.' && base[n - 3] == 's' && base[n - 2] == 'w');
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *) a, *(char *const *) b);
}

/* `Include target`: a file, every regular file of a directory, or a
 * wildcard pattern, each in name order. */
static int include(ab_config *cfg, const char *target, const char *source, int depth,
                   ab_error *err) {
  struct stat st;
  if (strpbrk(target, "*?[") == NULL) {
    if (stat(target, &st) < 0) {
      return ab_error_set(err, errno, "%s: Include %s: %s", source, target, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      return load_file_rec(cfg, target, depth + 1, err);
    }
  }
  glob_t g;
  memset(&g, 0, sizeof(g));
  char pattern[4096];
  snprintf(pattern, sizeof(pattern), "%s%s", target,
           strpbrk(target, "*?[") != NULL ? "" : target[strlen(target) - 1] == '/' ? "*" : "/*");
  int grc = glob(pattern, 0, NULL, &g);
  if (grc != 0 && grc != GLOB_NOMATCH) {
    globfree(&g);
    return ab_error_set(err, EIO, "%s: Include %s: cannot expand the pattern", source, target);
  }
  if (g.gl_pathc > 0) {
    qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), by_name); /* gl_pathv is NULL on no match */
  }
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
    if (!is_backup_name(g.gl_pathv[i]) && stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) {
      rc = load_file_rec(cfg, g.gl_pathv[i], depth + 1, err);
    }
  }
  globfree(&g);
  return rc;
}

/* Reads one logical line (a trailing backslash joins the next physical
 * line, as in ProFTPD). Returns 1 with a line, 0 at end of file, -1 when a
 * physical line does not fit (or holds a NUL byte): its tail must never be
 * read as a line of its own. *lineno is the number of the last physical
 * line read, which is what ProFTPD reports. */
static int read_logical_line(FILE *f, char *line, size_t size, int *lineno) {
  size_t len = 0;
  line[0] = '\0';
  while (fgets(line + len, (int) (size - len), f) != NULL) {
    (*lineno)++;
    len += strlen(line + len);
    if ((len == 0 || line[len - 1] != '\n') && !feof(f)) {
      return -1;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
      line[--len] = '\0';
    }
    if (len == 0 || line[len - 1] != '\\' || len + 2 >= size) {
      return 1;
    }
    line[--len] = ' ';
  }
  return len > 0;
}

static int load_file_rec(ab_config *cfg, const char *path, int depth, ab_error *err) {
  if (depth > 8) {
    return ab_error_set(err, ELOOP, "%s: Include nested too deeply", path);
  }
  /* Only regular files: a device or FIFO (Include /dev/zero, a named pipe)
   * would never end, and O_NONBLOCK keeps opening a FIFO from blocking. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return ab_error_set(err, errno, "cannot read %s: %s", path, strerror(errno));
  }
  struct stat st;
  FILE *f = NULL;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "r")) == NULL) {
    close(fd);
    return ab_error_set(err, EINVAL, "%s is not a regular file", path);
  }
  char line[8192];
  int lineno = 0;
  int rc = 0;
  int got;
  while (rc == 0 && (got = read_logical_line(f, line, sizeof(line), &lineno)) != 0) {
    char *words[MAX_ITEMS];
    char source[1024];
    snprintf(source, sizeof(source), "%s:%d", path, lineno);
    if (got < 0) {
      rc = ab_error_set(err, EINVAL, "%s: line longer than %zu bytes or with a NUL byte",
                        source, sizeof(line) - 2);
      break;
    }
    int n = tokenize(line, words, MAX_ITEMS);
    if (n < 0) {
      rc = ab_error_set(err, EINVAL, "%s: unterminated quote or too many words", source);
    } else if (n >= 2 && strcasecmp(words[0], "Include") == 0) {
      rc = include(cfg, words[1], source, depth, err);
    } else if (n >= 1 && strncasecmp(words[0], "AltinnBroker", 12) == 0) {
      rc = ab_config_directive(cfg, words[0], n - 1, (const char *const *) words + 1, source, err);
    }
  }
  fclose(f);
  return rc;
}

int ab_config_load_file(ab_config *cfg, const char *path, ab_error *err) {
  if (load_file_rec(cfg, path, 0, err) < 0) {
    return -1;
  }
  return ab_config_finish(cfg, err);
}

char *ab_config_client_scope(const ab_config *cfg, const ab_client_cfg *c) {
  if (c->scope != NULL) {
    return strdup(c->scope);
  }
  int read = 0, write = 0, events = 0;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    if (cfg->mounts[i].client == c) {
      read |= cfg->mounts[i].direction == AB_INBOX;
      write |= cfg->mounts[i].direction == AB_OUTBOX;
      /* Altinn Events (pull and subscriptions) need their own scope. */
      events |= cfg->mounts[i].direction == AB_INBOX && cfg->mounts[i].events != 2;
    }
  }
  char s[128];
  snprintf(s, sizeof(s), "%s%s%s%s", read ? "altinn:broker.read" : "",
           read && write ? " " : "", write ? "altinn:broker.write" : "",
           events ? " altinn:events.subscribe" : "");
  return strdup(s);
}
