/* ab_onboarding.c - verdicts and advice for `altinn-broker check` (see
 * ab_onboarding.h). Maskinporten's error codes are those of Digdir's
 * troubleshooting page (auth-and-events.md §1.7); the Broker's those of
 * broker-api.md §7. */
#include "ab_onboarding.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EXPIRY_WARN_DAYS 30
#define SLOW_TOKEN_MS 2000

int ab_check_exit_code(ab_step step) {
  return 2 + (int) step; /* key 3, maskinporten 4, exchange 5, resource 6, events 7 */
}

const char *ab_step_name(ab_step step) {
  static const char *names[] = { "?", "key", "maskinporten", "exchange", "resource", "events" };
  return step >= AB_STEP_KEY && step <= AB_STEP_EVENTS ? names[step] : names[0];
}

const char *ab_verdict_name(ab_verdict v) {
  static const char *names[] = { "ok", "warn", "skip", "fail", "unavailable" };
  return v <= AB_VERDICT_UNAVAILABLE ? names[v] : "?";
}

void ab_step_set(ab_step_result *r, ab_verdict v, const char *code, int http_status,
                 const char *fix, const char *finding_fmt, ...) {
  memset(r, 0, sizeof(*r));
  r->verdict = v;
  r->http_status = http_status;
  snprintf(r->code, sizeof(r->code), "%s", code != NULL ? code : "");
  snprintf(r->fix, sizeof(r->fix), "%s", fix != NULL ? fix : "");
  va_list ap;
  va_start(ap, finding_fmt);
  vsnprintf(r->finding, sizeof(r->finding), finding_fmt, ap);
  va_end(ap);
}

/* ---- wording helpers ---- */

static const char *self_service(const ab_config *cfg) {
  const char *env = cfg->environment != NULL ? cfg->environment : "custom";
  if (strcmp(env, "production") == 0) {
    return "Digdir's self-service (https://sjolvbetjening.samarbeid.digdir.no/)";
  }
  if (strcmp(env, "tt02") == 0) {
    return "Digdir's test self-service (https://sjolvbetjening.test.samarbeid.digdir.no/)";
  }
  return "your Maskinporten environment's self-service";
}

/* "organisation 999888777" or "the system user of 999888777 for customer 312345678" */
static void actor(const ab_onboarding_subject *s, char *out, size_t len) {
  if (s->client->systemuser_org != NULL) {
    snprintf(out, len, "system user (vendor %s, customer %s)", s->client->org,
             s->client->systemuser_org);
  } else {
    snprintf(out, len, "organisation %s", s->client->org);
  }
}

static const char *key_path(const ab_client_cfg *c) {
  return c->p12_path ? c->p12_path : c->jwk_path ? c->jwk_path : c->key_path;
}

static const char *key_setting(const ab_client_cfg *c) {
  return c->p12_path ? "p12=" : c->jwk_path ? "jwk=" : c->cert_path ? "key=/cert=" : "key=";
}

static void day_text(time_t t, char *out, size_t len) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, len, "%Y-%m-%d", &tm);
}

static int has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = strstr(list, word); p != NULL; p = strstr(p + 1, word)) {
    if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ')) {
      return 1;
    }
  }
  return 0;
}

static int code_is(const ab_error *err, const char *code) {
  return strcmp(err->code, code) == 0;
}

static int text_has(const ab_error *err, const char *needle) {
  return strstr(err->message, needle) != NULL;
}

/* ---- step 1 ---- */

void ab_onboarding_key(const ab_onboarding_subject *s, time_t now, ab_step_result *out) {
  const ab_client_cfg *c = s->client;
  const ab_key *k = c->key;
  ab_cert_info info;
  if (ab_key_cert_info(k, &info) < 0) {
    ab_step_set(out, AB_VERDICT_OK, NULL, 0, NULL, "registered key kid %s (RSA %d bits, %s) "
                "from %s", ab_key_kid(k), ab_key_bits(k), ab_key_alg(k), key_path(c));
    return;
  }
  char until[16], fix[AB_ERROR_MSG_MAX];
  day_text(info.not_after, until, sizeof(until));
  ab_error err;
  if (ab_key_check_valid(k, now, &err) < 0) {
    snprintf(fix, sizeof(fix), "order a new enterprise certificate (virksomhetssertifikat) for "
             "organisation %s, register it on client %s in %s and point %s at it",
             c->org, c->client_id, self_service(s->cfg), key_setting(c));
    ab_step_set(out, AB_VERDICT_FAIL, "MP-120", 0, fix, "%s", err.message);
    return;
  }
  if (info.org[0] != '\0' && strcmp(info.org, c->org) != 0) {
    snprintf(fix, sizeof(fix), "use the enterprise certificate of organisation %s, or correct "
             "org= if the client belongs to %s", c->org, info.org);
    ab_step_set(out, AB_VERDICT_FAIL, "MP-122", 0, fix, "enterprise certificate %s belongs to "
                "organisation %s, but client %s has org=%s (Maskinporten refuses this, MP-122)",
                info.subject, info.org, c->name, c->org);
    return;
  }
  const char *const *x5c;
  size_t n = ab_key_x5c(k, &x5c);
  long days = (long) ((info.not_after - now) / 86400);
  if (days < EXPIRY_WARN_DAYS) {
    snprintf(fix, sizeof(fix), "renew the enterprise certificate before %s and register the "
             "new one on client %s", until, c->client_id);
    ab_step_set(out, AB_VERDICT_WARN, NULL, 0, fix, "enterprise certificate %s expires on %s "
                "(in %ld days)", info.subject, until, days);
    return;
  }
  ab_step_set(out, AB_VERDICT_OK, NULL, 0, NULL, "enterprise certificate %s (organisation %s, "
              "valid until %s, issuer %s; x5c of %zu) from %s", info.subject,
              info.org[0] ? info.org : "?", until, info.issuer, n, key_path(c));
}

/* ---- steps 1-3 from a failed token fetch ---- */

static ab_step key_refused(const ab_onboarding_subject *s, const ab_error *err,
                           ab_step_result *out) {
  const ab_client_cfg *c = s->client;
  char fix[AB_ERROR_MSG_MAX];
  const char *kid = ab_key_kid(c->key);
  if (code_is(err, "MP-121")) {
    snprintf(fix, sizeof(fix), "registered keys expire a year after upload: upload the public "
             "key again (openssl pkey -in %s -pubout) or a new key to client %s in %s",
             key_path(c), c->client_id, self_service(s->cfg));
  } else if (code_is(err, "MP-122")) {
    snprintf(fix, sizeof(fix), "use the enterprise certificate of organisation %s (org= of "
             "client %s), or register the client under the certificate's organisation",
             c->org, c->name);
  } else if (kid != NULL) {
    snprintf(fix, sizeof(fix), "the key in %s is not the one registered as kid %s on client "
             "%s: upload its public key (openssl pkey -in %s -pubout) in %s, or set kid= and "
             "%s to the registered pair", key_path(c), kid, c->client_id, key_path(c),
             self_service(s->cfg), key_setting(c));
  } else {
    snprintf(fix, sizeof(fix), "register this enterprise certificate on client %s in %s (or "
             "point %s at the registered one); TEST clients need a test certificate, PROD "
             "clients a production one", c->client_id, self_service(s->cfg), key_setting(c));
  }
  ab_step_set(out, AB_VERDICT_FAIL, err->code, err->http_status, fix, "%s", err->message);
  return AB_STEP_KEY;
}

static ab_step grant_refused(const ab_onboarding_subject *s, const ab_auth_report *rep,
                             const ab_error *err, const char *refused,
                             ab_step_result *out) {
  const ab_client_cfg *c = s->client;
  char fix[AB_ERROR_MSG_MAX], who[96];
  actor(s, who, sizeof(who));
  const char *code = err->code;
  if (code_is(err, "MP-124") || code_is(err, "MP-120") || code_is(err, "MP-121") ||
      code_is(err, "MP-122") || code_is(err, "MP-123")) {
    return key_refused(s, err, out);
  }
  if (code_is(err, "MP-100")) {
    snprintf(fix, sizeof(fix), "check client-id= of client %s: a Maskinporten client exists in "
             "one environment only (TEST pairs with tt02, PROD with production), and this "
             "gateway asks %s", c->name, s->cfg->maskinporten_issuer);
  } else if (code_is(err, "MP-110")) {
    snprintf(fix, sizeof(fix), "AltinnBrokerEnvironment (or AltinnBrokerMaskinportenURL) must "
             "name the Maskinporten issuer exactly; this gateway sends aud=%s",
             s->cfg->maskinporten_issuer);
  } else if (code_is(err, "MP-200") || code_is(err, "invalid_scope")) {
    const char *which = refused != NULL && refused[0] != '\0' ? refused : s->scope;
    int mine = 0;
    const char *mount_scope = s->mount->direction == AB_OUTBOX ? "altinn:broker.write"
                                                               : "altinn:broker.read";
    mine = has_word(which, mount_scope) || refused == NULL || refused[0] == '\0';
    snprintf(fix, sizeof(fix), "add %s to client %s in %s; Altinn's scopes must first be "
             "granted to organisation %s (ask servicedesk@altinn.no)%s", which, c->client_id,
             self_service(s->cfg), c->org,
             mine ? "" : "; the gateway asks for all scopes of a client at once, so this "
             "mount fails too");
    ab_step_set(out, AB_VERDICT_FAIL, code, err->http_status, fix, "Maskinporten will not "
                "give client %s the scope %s%s (%s)", c->name, which,
                mine ? "" : ", needed by another mount of the same client", code);
    return AB_STEP_MASKINPORTEN;
  } else if (code_is(err, "MP-201")) {
    snprintf(fix, sizeof(fix), "client %s is not a Maskinporten client for these scopes: "
             "create a Maskinporten (machine-to-machine) client in %s", c->client_id,
             self_service(s->cfg));
  } else if (code_is(err, "MP-250")) {
    snprintf(fix, sizeof(fix), "organisation %s has not been granted %s: ask the API owner "
             "(servicedesk@altinn.no for Altinn's scopes) to grant it", c->org, s->scope);
  } else if (code_is(err, "MP-251")) {
    snprintf(fix, sizeof(fix), "the customer has not delegated the scope to %s in Altinn "
             "(delegations made in production do not apply in tt02)", c->org);
  } else if (code_is(err, "MP-301") || code_is(err, "MP-302") || code_is(err, "MP-303") ||
             code_is(err, "invalid_altinn_customer_configuration") ||
             code_is(err, "invalid_authorization_details")) {
    snprintf(fix, sizeof(fix), "customer %s must accept the system user request of vendor %s "
             "in Altinn; check systemuser-org=%s%s%s", c->systemuser_org ? c->systemuser_org : "?",
             c->org, c->systemuser_org ? c->systemuser_org : "",
             c->external_ref ? " and external-ref=" : "", c->external_ref ? c->external_ref : "");
  } else if (code_is(err, "MP-130") || text_has(err, "Issue time")) {
    snprintf(fix, sizeof(fix), "set this machine's clock right and keep it synchronised (NTP: "
             "timedatectl set-ntp true, or chrony); Maskinporten allows 10 s");
    if (rep->clock_offset != 0) {
      ab_step_set(out, AB_VERDICT_FAIL, code, err->http_status, fix, "Maskinporten refused "
                  "the grant's time: this machine's clock is %ld s %s Maskinporten's (%s)",
                  rep->clock_offset < 0 ? -rep->clock_offset : rep->clock_offset,
                  rep->clock_offset < 0 ? "ahead of" : "behind", err->message);
      return AB_STEP_MASKINPORTEN;
    }
  } else if (code_is(err, "MP-011")) {
    snprintf(fix, sizeof(fix), "Maskinporten found the grant malformed; report this as a bug "
             "in altinn-broker-sftp together with this line");
  } else {
    snprintf(fix, sizeof(fix), "look up %s on Digdir's Maskinporten troubleshooting page "
             "(docs.digdir.no, maskinporten_feilsoking)", code[0] ? code : "the error");
  }
  ab_step_set(out, AB_VERDICT_FAIL, code, err->http_status, fix, "%s", err->message);
  return AB_STEP_MASKINPORTEN;
}

ab_step ab_onboarding_token_failure(const ab_onboarding_subject *s, const ab_auth_report *rep,
                                    const ab_error *err, const char *refused_scopes,
                                    ab_step_result *out) {
  char fix[AB_ERROR_MSG_MAX];
  switch (rep->stage) {
  case AB_AUTH_STAGE_KEY:
    snprintf(fix, sizeof(fix), "order a new enterprise certificate (virksomhetssertifikat) for "
             "organisation %s, register it on client %s and point %s at it", s->client->org,
             s->client->client_id, key_setting(s->client));
    ab_step_set(out, AB_VERDICT_FAIL, "MP-120", 0, fix, "%s", err->message);
    return AB_STEP_KEY;
  case AB_AUTH_STAGE_GRANT:
    if (err->err_no == EIO) {
      snprintf(fix, sizeof(fix), "check that this host reaches %s (DNS, firewall, proxy) and "
               "try again later; sessions cannot log in to the Broker meanwhile",
               s->cfg->token_url);
      ab_step_set(out, AB_VERDICT_UNAVAILABLE, err->code, err->http_status, fix, "%s",
                  err->message);
      return AB_STEP_MASKINPORTEN;
    }
    return grant_refused(s, rep, err, refused_scopes, out);
  default:
    if (err->err_no == EIO && err->http_status != 200) {
      snprintf(fix, sizeof(fix), "check that this host reaches %s and try again later",
               s->cfg->exchange_url);
      ab_step_set(out, AB_VERDICT_UNAVAILABLE, err->code, err->http_status, fix, "%s",
                  err->message);
    } else if (err->http_status == 401) {
      snprintf(fix, sizeof(fix), "the Altinn environment must match the Maskinporten one "
               "(TEST pairs with tt02, PROD with production): check AltinnBrokerEnvironment "
               "and AltinnBrokerPlatformURL (%s)", s->cfg->platform_url);
      ab_step_set(out, AB_VERDICT_FAIL, err->code, 401, fix, "Altinn refused to exchange the "
                  "Maskinporten token: %s", err->message);
    } else {
      snprintf(fix, sizeof(fix), "check AltinnBrokerPlatformURL (%s): the exchange is at %s",
               s->cfg->platform_url, s->cfg->exchange_url);
      ab_step_set(out, AB_VERDICT_FAIL, err->code, err->http_status, fix, "%s", err->message);
    }
    return AB_STEP_EXCHANGE;
  }
}

/* ---- step 2 when it worked ---- */

void ab_onboarding_token_ok(const ab_onboarding_subject *s, const ab_auth_report *rep,
                            ab_step_result *out) {
  char missing[256] = "";
  if (rep->granted_scope[0] != '\0') {
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", s->scope);
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
      if (!has_word(rep->granted_scope, w)) {
        size_t n = strlen(missing);
        snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? " " : "", w);
      }
    }
  }
  char fix[AB_ERROR_MSG_MAX];
  if (missing[0] != '\0') {
    snprintf(fix, sizeof(fix), "add %s to client %s in %s", missing, s->client->client_id,
             self_service(s->cfg));
    ab_step_set(out, AB_VERDICT_FAIL, "invalid_scope", 0, fix, "Maskinporten granted client "
                "%s \"%s\" but not %s", s->client->name, rep->granted_scope, missing);
  } else if (rep->clock_corrected) {
    snprintf(fix, sizeof(fix), "set this machine's clock right (NTP: timedatectl set-ntp true, "
             "or chrony); the gateway copes, but TLS and logs suffer");
    ab_step_set(out, AB_VERDICT_WARN, "MP-130", 0, fix, "client %s got a token for \"%s\" only "
                "after correcting for this machine's clock, which is %ld s %s Maskinporten's",
                s->client->name, s->scope,
                rep->clock_offset < 0 ? -rep->clock_offset : rep->clock_offset,
                rep->clock_offset < 0 ? "ahead of" : "behind");
  } else if (rep->grant_ms > SLOW_TOKEN_MS) {
    snprintf(fix, sizeof(fix), "check the network path to %s; a session waits this long at "
             "login whenever no token is cached", s->cfg->token_url);
    ab_step_set(out, AB_VERDICT_WARN, NULL, 0, fix, "client %s got a token for \"%s\", but "
                "Maskinporten took %.1f s to answer", s->client->name, s->scope,
                (double) rep->grant_ms / 1000.0);
  } else {
    ab_step_set(out, AB_VERDICT_OK, NULL, 0, NULL, "client %s got a token for \"%s\" (%.2f s, "
                "valid %ld s)", s->client->name, s->scope, (double) rep->grant_ms / 1000.0,
                rep->mp_expires_in);
  }
}

/* ---- step 4 ---- */

void ab_onboarding_resource(const ab_onboarding_subject *s, const ab_error *err,
                            ab_step_result *out) {
  const ab_mount_cfg *m = s->mount;
  int outbox = m->direction == AB_OUTBOX;
  char who[96], fix[AB_ERROR_MSG_MAX];
  actor(s, who, sizeof(who));
  if (err == NULL) {
    ab_step_set(out, AB_VERDICT_OK, NULL, 0, NULL, "%s may %s files on resource %s", who,
                outbox ? "send" : "receive", m->resource_id);
    return;
  }
  if (code_is(err, "BRO-00006")) {
    const char *acts = outbox ? "write (to send) and read (the Broker checks both when listing)"
                              : "read (to receive) and write (the Broker checks both when listing)";
    if (s->client->systemuser_org != NULL) {
      snprintf(fix, sizeof(fix), "ask for access for the system user of vendor %s acting for "
               "%s: the owner of resource %s must allow organisation %s, and %s must give the "
               "system user the rights %s on %s in Altinn", s->client->org,
               s->client->systemuser_org, m->resource_id, s->client->systemuser_org,
               s->client->systemuser_org, acts, m->resource_id);
    } else {
      snprintf(fix, sizeof(fix), "ask the owner of resource %s for access for organisation %s: "
               "actions %s", m->resource_id, s->client->org, acts);
    }
    ab_step_set(out, AB_VERDICT_FAIL, err->code, err->http_status, fix, "%s may not use "
                "resource %s (HTTP %d BRO-00006)", who, m->resource_id, err->http_status);
  } else if (code_is(err, "BRO-00005")) {
    snprintf(fix, sizeof(fix), "check resource=%s of mount %s against the id the resource "
             "owner gave you; the resource must exist in Altinn's resource registry of this "
             "environment (%s)", m->resource_id, m->path, s->cfg->platform_url);
    ab_step_set(out, AB_VERDICT_FAIL, err->code, err->http_status, fix, "resource %s is not "
                "registered in Altinn's resource registry, or has no owner (HTTP %d BRO-00005)",
                m->resource_id, err->http_status);
  } else if (code_is(err, "BRO-00025") || code_is(err, "BRO-00002")) {
    snprintf(fix, sizeof(fix), "ask the owner of resource %s to set it up in the Broker "
             "(PUT /broker/api/v1/resource/%s)", m->resource_id, m->resource_id);
    ab_step_set(out, AB_VERDICT_FAIL, err->code, err->http_status, fix, "resource %s is not "
                "set up for the Broker by its owner (%s)", m->resource_id, err->code);
  } else if (err->err_no == EIO) {
    snprintf(fix, sizeof(fix), "try again later%s",
             err->http_status == 429 ? " (the Broker limits each organisation's calls per "
             "minute)" : "; check that this host reaches the Broker");
    ab_step_set(out, AB_VERDICT_UNAVAILABLE, err->code, err->http_status, fix, "%s",
                err->message);
  } else if (err->http_status == 403) {
    snprintf(fix, sizeof(fix), "client %s needs the scope %s", s->client->name,
             outbox ? "altinn:broker.write" : "altinn:broker.read");
    ab_step_set(out, AB_VERDICT_FAIL, err->code, 403, fix, "%s", err->message);
  } else {
    ab_step_set(out, AB_VERDICT_FAIL, err->code, err->http_status, "", "%s", err->message);
  }
}
