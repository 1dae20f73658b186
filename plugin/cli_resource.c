/* cli_resource.c - `altinn-broker resource show|configure RESOURCE`: a
 * service owner's Broker settings for a resource (broker-api.md §3.10):
 * size cap, time to live, purge rules, required party. Needs an
 * AltinnBrokerClient of the resource's owner with scope
 * altinn:serviceowner (chosen with --client NAME, or the only such client).
 * `configure` sends only the settings given, then shows what is in force. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ab_resource.h"
#include "cli.h"

static const ab_client_cfg *pick_client(const ab_config *cfg, const char *name) {
  const ab_client_cfg *found = NULL;
  int n = 0;
  for (size_t i = 0; i < cfg->n_clients; i++) {
    const ab_client_cfg *c = &cfg->clients[i];
    if (name != NULL && strcmp(c->name, name) == 0) {
      return c;
    }
    if (name == NULL && c->scope != NULL && strstr(c->scope, "altinn:serviceowner") != NULL) {
      found = c;
      n++;
    }
  }
  if (name != NULL) {
    fprintf(stderr, "altinn-broker: resource: no AltinnBrokerClient is named '%s'\n", name);
    return NULL;
  }
  if (n != 1) {
    fprintf(stderr, "altinn-broker: resource: %s; name the resource owner's AltinnBrokerClient "
            "with --client NAME (its scope must include altinn:serviceowner)\n",
            n == 0 ? "no AltinnBrokerClient has scope=\"altinn:serviceowner\""
                   : "several AltinnBrokerClients have scope altinn:serviceowner");
    return NULL;
  }
  return found;
}

static void show_value(const char *label, const cJSON *v, const char *unset) {
  char text[128];
  if (v == NULL || cJSON_IsNull(v)) {
    snprintf(text, sizeof(text), "%s", unset);
  } else if (cJSON_IsBool(v)) {
    snprintf(text, sizeof(text), "%s", cJSON_IsTrue(v) ? "yes" : "no");
  } else if (cJSON_IsNumber(v)) {
    snprintf(text, sizeof(text), "%.0f", v->valuedouble);
  } else if (cJSON_IsString(v)) {
    snprintf(text, sizeof(text), "%s", v->valuestring);
  } else {
    snprintf(text, sizeof(text), "?");
  }
  printf("%-28s %s\n", label, text);
}

static void show(const char *id, const cJSON *r, int json) {
  if (json) {
    char *text = cJSON_Print(r);
    printf("%s\n", text ? text : "{}");
    cJSON_free(text);
    return;
  }
  printf("%-28s %s\n", "resource", id);
  const cJSON *size = cJSON_GetObjectItemCaseSensitive(r, "maxFileTransferSize");
  if (cJSON_IsNumber(size)) {
    printf("%-28s %.0f bytes (%.1f GiB)\n", "max file size", size->valuedouble,
           size->valuedouble / 1073741824.0);
  } else {
    show_value("max file size", size, "no resource cap (the Broker's own limits apply)");
  }
  static const struct { const char *field, *label, *unset; int duration; } rows[] = {
    { "fileTransferTimeToLive", "time to live", "default (P30D)", 1 },
    { "purgeFileTransferAfterAllRecipientsConfirmed", "purge after all confirmed", "default (yes)", 0 },
    { "purgeFileTransferGracePeriod", "purge grace period", "default (PT2H)", 1 },
    { "requiredParty", "required party", "-", 0 },
    { "useManifestFileShim", "manifest shim (Altinn 2)", "no", 0 },
    { "externalServiceCodeLegacy", "Altinn 2 service code", "-", 0 },
    { "externalServiceEditionCodeLegacy", "Altinn 2 service edition", "-", 0 },
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, rows[i].field);
    if (rows[i].duration && cJSON_IsString(v)) {
      /* The Broker answers with .NET TimeSpans ("30.00:00:00"). */
      char iso[64];
      ab_resource_duration_iso(v->valuestring, iso, sizeof(iso));
      printf("%-28s %s\n", rows[i].label, iso);
    } else {
      show_value(rows[i].label, v, rows[i].unset);
    }
  }
}

int cli_cmd_resource(cli_context *ctx, int argc, char **argv) {
  const char *client_name = NULL;
  char *words[64];
  int n = 0;
  for (int i = 1; i < argc && n < 64; i++) {
    if (strcmp(argv[i], "--client") == 0 && i + 1 < argc) {
      client_name = argv[++i];
    } else {
      words[n++] = argv[i];
    }
  }
  int configure = n >= 1 && strcmp(words[0], "configure") == 0;
  if (n < 2 || (!configure && (strcmp(words[0], "show") != 0 || n != 2)) || (configure && n < 3)) {
    fprintf(stderr, "usage: altinn-broker [--json] resource show RESOURCE [--client NAME]\n"
                    "       altinn-broker [--json] resource configure RESOURCE [--client NAME] "
                    "name=value...\n"
                    "settings: max-file-size=1G ttl=P30D purge-after-confirm=true purge-grace=PT2H\n"
                    "          required-party=ORG manifest-shim=false service-code=TEXT service-edition=N\n");
    return 2;
  }
  const char *id = words[1];
  ab_error err;
  cJSON *settings = cJSON_CreateObject();
  for (int i = 2; configure && i < n; i++) {
    if (ab_resource_setting(settings, words[i], &err) < 0) {
      fprintf(stderr, "altinn-broker: resource configure: %s\n", err.message);
      cJSON_Delete(settings);
      return 2;
    }
  }
  const ab_client_cfg *c = pick_client(ctx->cfg, client_name);
  if (c == NULL) {
    cJSON_Delete(settings);
    return 2;
  }
  char *scope = ab_config_client_scope(ctx->cfg, c);
  ab_auth_config ac;
  ab_config_auth(ctx->cfg, c, scope, &ac);
  ab_auth *auth = ab_auth_new(&ac, &err);
  ab_http_options hopts = { .ca_pem = ctx->cfg->ca_pem, .ca_pem_len = ctx->cfg->ca_pem_len };
  ab_http *http = auth != NULL ? ab_http_new(&hopts) : NULL;
  int rc = 1;
  cJSON *now = NULL;
  if (auth == NULL || http == NULL) {
    fprintf(stderr, "altinn-broker: resource: AltinnBrokerClient %s: %s\n", c->name,
            auth == NULL ? err.message : "out of memory");
  } else {
    ab_broker b = { .base_url = ctx->cfg->platform_url, .http = http, .auth = auth };
    if (configure && ab_broker_resource_put(&b, id, settings, &err) < 0) {
      fprintf(stderr, "altinn-broker: %s\n", err.message);
    } else if (ab_broker_resource_get(&b, id, &now, &err) < 0) {
      fprintf(stderr, "altinn-broker: %s\n", err.message);
    } else {
      show(id, now, ctx->json);
      rc = 0;
    }
  }
  cJSON_Delete(now);
  cJSON_Delete(settings);
  ab_http_free(http);
  ab_auth_free(auth);
  free(scope);
  return rc;
}
