/* ab_config.c - parsing and checking the AltinnBroker* directives
 * (see ab_config.h for the syntax). */
#include "ab_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ITEMS 64

ab_config *ab_config_new(void) {
  return calloc(1, sizeof(ab_config));
}

static void free_list(char **items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i]);
  }
  free(items);
}

static void free_secret(char *p, size_t len) {
  if (p != NULL) {
    /* Key bytes: wipe before the memory goes back to the allocator. */
    volatile char *v = p;
    for (size_t i = 0; i < len; i++) {
      v[i] = 0;
    }
    free(p);
  }
}

void ab_config_free(ab_config *cfg) {
  if (cfg == NULL) {
    return;
  }
  for (size_t i = 0; i < cfg->n_clients; i++) {
    ab_client_cfg *c = &cfg->clients[i];
    free(c->name); free(c->client_id); free(c->org); free(c->kid);
    free(c->key_path); free(c->systemuser_org); free(c->scope); free(c->source);
    free_secret(c->key_pem, c->key_pem_len);
  }
  free(cfg->clients);
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    ab_mount_cfg *m = &cfg->mounts[i];
    free(m->path); free(m->client_name); free(m->resource_id); free(m->source);
    free_list(m->recipients, m->n_recipients);
    free_list(m->users, m->n_users);
  }
  free(cfg->mounts);
  free(cfg->environment); free(cfg->platform_url); free(cfg->maskinporten_issuer);
  free(cfg->token_url); free(cfg->exchange_url); free(cfg->ca_file);
  free(cfg->ca_pem); free(cfg->spool_dir); free(cfg->state_dir);
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

static int client_directive(ab_config *cfg, int argc, const char *const *argv,
                            const char *source, ab_error *err) {
  if (argc < 2) {
    return fail(err, source, "AltinnBrokerClient needs a name and key=value settings "
                "(client-id=, org=, key=, kid=)%s%s", NULL, NULL);
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
  int rc = 0;
  for (int i = 1; i < argc && rc == 0; i++) {
    char key[32];
    const char *v = split_kv(argv[i], key, sizeof(key));
    if (v == NULL || *v == '\0') {
      rc = fail(err, source, "AltinnBrokerClient: expected key=value, got '%s'", argv[i], NULL);
    } else if (strcmp(key, "client-id") == 0) {
      rc = replace(&c.client_id, v);
    } else if (strcmp(key, "org") == 0) {
      if (!is_digits(v, 9)) {
        rc = fail(err, source, "AltinnBrokerClient: org must be a 9-digit organisation number, got '%s'", v, NULL);
      } else {
        rc = replace(&c.org, v);
      }
    } else if (strcmp(key, "key") == 0) {
      if (v[0] != '/') {
        rc = fail(err, source, "AltinnBrokerClient: key must be an absolute path, got '%s'", v, NULL);
      } else {
        rc = replace(&c.key_path, v);
      }
    } else if (strcmp(key, "kid") == 0) {
      rc = replace(&c.kid, v);
    } else if (strcmp(key, "systemuser-org") == 0) {
      if (!is_digits(v, 9)) {
        rc = fail(err, source, "AltinnBrokerClient: systemuser-org must be a 9-digit organisation number, got '%s'", v, NULL);
      } else {
        rc = replace(&c.systemuser_org, v);
      }
    } else if (strcmp(key, "scope") == 0) {
      rc = replace(&c.scope, v);
    } else {
      rc = fail(err, source, "AltinnBrokerClient: unknown setting '%s' (known: client-id, org, key, kid, systemuser-org, scope)", key, NULL);
    }
  }
  if (rc == 0) {
    const char *missing = c.client_id == NULL ? "client-id"
                        : c.org == NULL ? "org"
                        : c.key_path == NULL ? "key"
                        : c.kid == NULL ? "kid" : NULL;
    if (missing != NULL) {
      rc = fail(err, source, "AltinnBrokerClient '%s': missing %s=", argv[0], missing);
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
  free(c.name); free(c.client_id); free(c.org); free(c.kid); free(c.key_path);
  free(c.systemuser_org); free(c.scope); free(c.source);
  if (err != NULL && err->err_no == 0) {
    ab_error_set(err, ENOMEM, "out of memory");
  }
  return -1;
}

static void free_mount(ab_mount_cfg *m) {
  free(m->path); free(m->client_name); free(m->resource_id); free(m->source);
  free_list(m->recipients, m->n_recipients);
  free_list(m->users, m->n_users);
}

static int mount_directive(ab_config *cfg, int argc, const char *const *argv,
                           const char *source, ab_error *err) {
  if (argc < 2) {
    return fail(err, source, "AltinnBrokerMount needs a path and key=value settings "
                "(client=, resource=, direction=)%s%s", NULL, NULL);
  }
  if (argv[0][0] != '/' || strstr(argv[0], "/../") != NULL ||
      strcmp(argv[0], "/") == 0) {
    return fail(err, source, "AltinnBrokerMount: path must be absolute and not '/', got '%s'", argv[0], NULL);
  }
  ab_mount_cfg m;
  memset(&m, 0, sizeof(m));
  m.path = strdup(argv[0]);
  m.source = strdup(source ? source : "");
  if (m.path == NULL || m.source == NULL) {
    free_mount(&m);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  strip_slashes(m.path);
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    if (strcmp(cfg->mounts[i].path, m.path) == 0) {
      int rc = fail(err, source, "AltinnBrokerMount %s is declared twice (first at %s)",
                    m.path, cfg->mounts[i].source);
      free_mount(&m);
      return rc;
    }
  }
  int rc = 0;
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
    } else if (strcmp(key, "users") == 0) {
      free_list(m.users, m.n_users);
      m.users = NULL;
      m.n_users = 0;
      if (split_list(v, &m.users, &m.n_users) < 0) {
        rc = ab_error_set(err, ENOMEM, "out of memory");
      }
    } else {
      rc = fail(err, source, "AltinnBrokerMount: unknown setting '%s' (known: client, resource, direction, recipients, users)", key, NULL);
    }
  }
  if (rc == 0) {
    const char *missing = m.client_name == NULL ? "client"
                        : m.resource_id == NULL ? "resource"
                        : m.direction == 0 ? "direction" : NULL;
    if (missing != NULL) {
      rc = fail(err, source, "AltinnBrokerMount %s: missing %s=", m.path, missing);
    } else if (m.direction == AB_OUTBOX && m.n_recipients == 0) {
      rc = fail(err, source, "AltinnBrokerMount %s: an outbox needs recipients=0192:<org>[,...]%s", m.path, NULL);
    } else if (m.direction == AB_INBOX && m.n_recipients > 0) {
      rc = fail(err, source, "AltinnBrokerMount %s: recipients= only applies to direction=outbox%s", m.path, NULL);
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
      strcasecmp(directive, "AltinnBrokerStateDir") == 0) {
    if (v[0] != '/') {
      return fail(err, source, "%s must be an absolute path, got '%s'", directive, v);
    }
    char **slot = strcasecmp(directive, "AltinnBrokerSpoolDir") == 0 ? &cfg->spool_dir
                : strcasecmp(directive, "AltinnBrokerStateDir") == 0 ? &cfg->state_dir
                : &cfg->ca_file;
    return replace(slot, v) == 0 ? 0 : ab_error_set(err, ENOMEM, "out of memory");
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
    /* Mounts may not nest: a path would belong to two of them. */
    for (size_t j = 0; j < i; j++) {
      size_t n = strlen(cfg->mounts[j].path);
      size_t k = strlen(m->path);
      const char *a = n < k ? cfg->mounts[j].path : m->path;
      const char *b = n < k ? m->path : cfg->mounts[j].path;
      size_t an = strlen(a);
      if (strncmp(a, b, an) == 0 && b[an] == '/') {
        return ab_error_set(err, EINVAL, "%s: AltinnBrokerMount %s lies inside %s (mounts may not nest)",
                            m->source, b, a);
      }
    }
  }
  return 0;
}

/* Reads a whole small file into memory. */
static int read_file(const char *path, char **out, size_t *len, int secret,
                     const char *what, ab_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return ab_error_set(err, errno, "cannot open %s %s: %s", what, path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ab_error_set(err, EINVAL, "%s %s is not a regular file", what, path);
  }
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    close(fd);
    return ab_error_set(err, EACCES, "%s %s is readable by group or others (mode %04o); "
                        "make it readable by its owner only: chmod 600 %s",
                        what, path, (unsigned) (st.st_mode & 07777), path);
  }
  if (st.st_size > 1024 * 1024) {
    close(fd);
    return ab_error_set(err, EFBIG, "%s %s is larger than 1 MiB", what, path);
  }
  char *buf = malloc((size_t) st.st_size + 1);
  if (buf == NULL) {
    close(fd);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t got = 0;
  while (got < (size_t) st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
    if (n <= 0) {
      break;
    }
    got += (size_t) n;
  }
  close(fd);
  buf[got] = '\0';
  *out = buf;
  *len = got;
  return 0;
}

int ab_config_load_secrets(ab_config *cfg, ab_error *err) {
  for (size_t i = 0; i < cfg->n_clients; i++) {
    ab_client_cfg *c = &cfg->clients[i];
    if (c->key_pem != NULL) {
      continue;
    }
    if (read_file(c->key_path, &c->key_pem, &c->key_pem_len, 1, "private key", err) < 0) {
      return ab_error_prefix(err, "%s: AltinnBrokerClient %s", c->source, c->name);
    }
  }
  if (cfg->ca_file != NULL && cfg->ca_pem == NULL) {
    if (read_file(cfg->ca_file, &cfg->ca_pem, &cfg->ca_pem_len, 0, "CA certificate", err) < 0) {
      return ab_error_prefix(err, "AltinnBrokerCACertificate");
    }
  }
  return 0;
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

static int load_file_rec(ab_config *cfg, const char *path, int depth, ab_error *err) {
  if (depth > 8) {
    return ab_error_set(err, ELOOP, "%s: Include nested too deeply", path);
  }
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return ab_error_set(err, errno, "cannot read %s: %s", path, strerror(errno));
  }
  char line[8192];
  int lineno = 0;
  int rc = 0;
  while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
    lineno++;
    char *words[MAX_ITEMS];
    char source[1024];
    snprintf(source, sizeof(source), "%s:%d", path, lineno);
    int n = tokenize(line, words, MAX_ITEMS);
    if (n < 0) {
      rc = ab_error_set(err, EINVAL, "%s: unterminated quote or too many words", source);
    } else if (n >= 2 && strcasecmp(words[0], "Include") == 0) {
      rc = load_file_rec(cfg, words[1], depth + 1, err);
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

int ab_mount_visible_to(const ab_mount_cfg *m, const char *user) {
  if (m->n_users == 0 || user == NULL) {
    return 1; /* unrestricted mount, or the admin CLI acting for everyone */
  }
  for (size_t i = 0; i < m->n_users; i++) {
    if (strcmp(m->users[i], user) == 0) {
      return 1;
    }
  }
  return 0;
}

const ab_mount_cfg *ab_config_find_mount(const ab_config *cfg,
                                         const char *user, const char *path) {
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const ab_mount_cfg *m = &cfg->mounts[i];
    size_t n = strlen(m->path);
    if (strncmp(path, m->path, n) == 0 && (path[n] == '\0' || path[n] == '/') &&
        (user == NULL || ab_mount_visible_to(m, user))) {
      return m;
    }
  }
  return NULL;
}

char *ab_config_client_scope(const ab_config *cfg, const ab_client_cfg *c) {
  if (c->scope != NULL) {
    return strdup(c->scope);
  }
  int read = 0, write = 0;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    if (cfg->mounts[i].client == c) {
      read |= cfg->mounts[i].direction == AB_INBOX;
      write |= cfg->mounts[i].direction == AB_OUTBOX;
    }
  }
  const char *s = read && write ? "altinn:broker.read altinn:broker.write"
                : read ? "altinn:broker.read" : "altinn:broker.write";
  return strdup(s);
}
