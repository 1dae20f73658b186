/* ab_resource.c - GET/PUT /broker/api/v1/resource/{id} and the settings
 * syntax of `altinn-broker resource configure` (see ab_resource.h). */
#include "ab_resource.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ab_broker_internal.h"

static char *resource_url(const char *base, const char *id, ab_error *err) {
  for (const char *c = id; *c != '\0'; c++) {
    if (!isalnum((unsigned char) *c) && *c != '-' && *c != '_' && *c != '.') {
      ab_error_set(err, EINVAL, "'%s' is not a resource id (letters, digits, '-', '_', '.')", id);
      return NULL;
    }
  }
  size_t n = strlen(base) + strlen(id) + 32;
  char *url = malloc(n);
  if (url == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  snprintf(url, n, "%s/broker/api/v1/resource/%s", base, id);
  return url;
}

int ab_broker_resource_get(ab_broker *b, const char *resource_id, cJSON **out,
                           ab_error *err) {
  char *url = resource_url(b->base_url, resource_id, err);
  if (url == NULL) {
    return -1;
  }
  ab_http_response resp;
  int rc = ab_broker_request(b, "resource", "GET", url, NULL, 1, NULL, 0, 1, &resp, err);
  free(url);
  if (rc < 0) {
    return ab_error_prefix(err, "resource %s", resource_id);
  }
  *out = cJSON_ParseWithLength(resp.body, resp.body_len);
  ab_http_response_clear(&resp);
  if (!cJSON_IsObject(*out)) {
    cJSON_Delete(*out);
    *out = NULL;
    return ab_error_set(err, EIO, "resource %s: the Broker's answer is not a JSON object", resource_id);
  }
  return 0;
}

int ab_broker_resource_put(ab_broker *b, const char *resource_id,
                           const cJSON *settings, ab_error *err) {
  char *url = resource_url(b->base_url, resource_id, err);
  char *body = url != NULL ? cJSON_PrintUnformatted(settings) : NULL;
  if (body == NULL) {
    free(url);
    return url == NULL ? -1 : ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_http_response resp;
  int rc = ab_broker_request(b, "resource", "PUT", url, "Content-Type: application/json", 0,
                             body, strlen(body), 1, &resp, err);
  if (rc == 0) {
    ab_http_response_clear(&resp);
  }
  cJSON_free(body);
  free(url);
  return rc < 0 ? ab_error_prefix(err, "configuring resource %s", resource_id) : 0;
}

static int parse_bool(const char *v, int *out) {
  static const char *yes[] = { "true", "yes", "on", "1" }, *no[] = { "false", "no", "off", "0" };
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) { *out = 1; return 0; }
    if (strcasecmp(v, no[i]) == 0) { *out = 0; return 0; }
  }
  return -1;
}

/* "500M", "1GiB", "2TB", "1048576" -> bytes; -1 when malformed. */
static long long parse_size(const char *v) {
  char *end = NULL;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno != 0 || end == v || n <= 0) {
    return -1;
  }
  static const struct { const char *suffix; double factor; } units[] = {
    { "", 1 }, { "B", 1 },
    { "K", 1024.0 }, { "KiB", 1024.0 }, { "KB", 1e3 },
    { "M", 1048576.0 }, { "MiB", 1048576.0 }, { "MB", 1e6 },
    { "G", 1073741824.0 }, { "GiB", 1073741824.0 }, { "GB", 1e9 },
    { "T", 1099511627776.0 }, { "TiB", 1099511627776.0 }, { "TB", 1e12 },
  };
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strcmp(end, units[i].suffix) == 0) {
      double bytes = (double) n * units[i].factor;
      return bytes > 9e15 ? -1 : (long long) bytes;
    }
  }
  return -1;
}

/* ISO-8601 durations as the Broker reads them: P[nY][nM][nW][nD][T[nH][nM][nS]]. */
static int iso_duration_ok(const char *v) {
  if (*v++ != 'P' || *v == '\0') {
    return 0;
  }
  int in_time = 0, digits = 0, any = 0;
  for (; *v != '\0'; v++) {
    if (isdigit((unsigned char) *v)) {
      digits++;
    } else if (*v == 'T' && !in_time && digits == 0) {
      in_time = 1;
    } else if (digits > 0 && strchr(in_time ? "HMS" : "YMWD", *v) != NULL) {
      digits = 0;
      any = 1;
    } else {
      return 0;
    }
  }
  return any && digits == 0;
}

int ab_resource_setting(cJSON *settings, const char *arg, ab_error *err) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq[1] == '\0') {
    return ab_error_set(err, EINVAL, "'%s': expected name=value (e.g. ttl=P30D)", arg);
  }
  char name[40];
  snprintf(name, sizeof(name), "%.*s", (int) (eq - arg < 39 ? eq - arg : 39), arg);
  const char *v = eq + 1;
  int flag;
  if (strcmp(name, "max-file-size") == 0) {
    long long n = parse_size(v);
    if (n < 0) {
      return ab_error_set(err, EINVAL, "max-file-size=%s: expected a size in bytes, or with K, M, G, T "
                          "(binary) or KB, MB, GB, TB (decimal)", v);
    }
    cJSON_AddNumberToObject(settings, "maxFileTransferSize", (double) n);
  } else if (strcmp(name, "ttl") == 0 || strcmp(name, "purge-grace") == 0) {
    if (!iso_duration_ok(v)) {
      return ab_error_set(err, EINVAL, "%s=%s: expected an ISO-8601 duration such as P30D or PT2H",
                          name, v);
    }
    cJSON_AddStringToObject(settings, name[0] == 't' ? "fileTransferTimeToLive"
                                                     : "purgeFileTransferGracePeriod", v);
  } else if (strcmp(name, "purge-after-confirm") == 0 || strcmp(name, "manifest-shim") == 0) {
    if (parse_bool(v, &flag) < 0) {
      return ab_error_set(err, EINVAL, "%s=%s: expected true or false", name, v);
    }
    cJSON_AddBoolToObject(settings, name[0] == 'p' ? "purgeFileTransferAfterAllRecipientsConfirmed"
                                                   : "useManifestFileShim", flag);
  } else if (strcmp(name, "required-party") == 0) {
    const char *digits = strncmp(v, "0192:", 5) == 0 ? v + 5 : v;
    if (strlen(digits) != 9 || strspn(digits, "0123456789") != 9) {
      return ab_error_set(err, EINVAL, "required-party=%s: expected a 9-digit organisation number", v);
    }
    cJSON_AddStringToObject(settings, "requiredParty", digits);
  } else if (strcmp(name, "service-code") == 0) {
    cJSON_AddStringToObject(settings, "externalServiceCodeLegacy", v);
  } else if (strcmp(name, "service-edition") == 0) {
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 0) {
      return ab_error_set(err, EINVAL, "service-edition=%s: expected a whole number", v);
    }
    cJSON_AddNumberToObject(settings, "externalServiceEditionCodeLegacy", (double) n);
  } else {
    return ab_error_set(err, EINVAL, "unknown setting '%s' (known: max-file-size, ttl, "
                        "purge-after-confirm, purge-grace, required-party, manifest-shim, "
                        "service-code, service-edition)", name);
  }
  return 0;
}

void ab_resource_duration_iso(const char *in, char *out, size_t size) {
  /* .NET TimeSpan: [d.]hh:mm:ss[.fffffff] */
  long d = 0, h = 0, m = 0, s = 0;
  const char *colon = strchr(in, ':');
  if (in[0] == 'P' || colon == NULL) {
    snprintf(out, size, "%s", in);
    return;
  }
  const char *dot = strchr(in, '.');
  if (dot != NULL && dot < colon) {
    d = strtol(in, NULL, 10);
    in = dot + 1;
  }
  if (sscanf(in, "%ld:%ld:%ld", &h, &m, &s) != 3) {
    snprintf(out, size, "%s", in);
    return;
  }
  int n = snprintf(out, size, "P");
  if (d > 0 && (size_t) n < size) n += snprintf(out + n, size - (size_t) n, "%ldD", d);
  if ((h || m || s || d == 0) && (size_t) n < size) {
    n += snprintf(out + n, size - (size_t) n, "T");
    if (h && (size_t) n < size) n += snprintf(out + n, size - (size_t) n, "%ldH", h);
    if (m && (size_t) n < size) n += snprintf(out + n, size - (size_t) n, "%ldM", m);
    if ((s || (!h && !m)) && (size_t) n < size) snprintf(out + n, size - (size_t) n, "%ldS", s);
  }
}
