/* ab_maskinporten.c - Maskinporten token request and Altinn token exchange
 * (see ab_maskinporten.h). Bodies that carry tokens or the assertion are
 * cleansed before they are freed.
 */
#include "ab_maskinporten.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "ab_json.h"
#include "ab_jwt.h"
#include "ab_problem.h"

void ab_secret_free(char *s) {
  if (s != NULL) {
    OPENSSL_cleanse(s, strlen(s));
    free(s);
  }
}

/* Clears a response whose body may contain a token. */
static void clear_secret_response(ab_http_response *resp) {
  if (resp->body != NULL) {
    OPENSSL_cleanse(resp->body, resp->body_len);
  }
  ab_http_response_clear(resp);
}

/* "Bearer <token>" header for a one-off request; cleansed by the caller. */
static char *bearer_header(const char *token) {
  static const char prefix[] = "Authorization: Bearer ";
  size_t len = sizeof(prefix) + strlen(token);
  char *hdr = malloc(len);
  if (hdr != NULL) {
    snprintf(hdr, len, "%s%s", prefix, token);
  }
  return hdr;
}

/* Finds "MP-<digits>" in text and copies it to code. */
static void find_mp_code(const char *text, char *code, size_t code_len) {
  for (const char *p = strstr(text, "MP-"); p != NULL; p = strstr(p + 1, "MP-")) {
    size_t n = 3;
    while (isdigit((unsigned char)p[n]) && n < code_len - 1) {
      n++;
    }
    if (n > 3) {
      memcpy(code, p, n);
      code[n] = '\0';
      return;
    }
  }
}

/* True when a token can go into "Authorization: Bearer <token>" as it is:
 * one non-empty word of printable ASCII. Anything else could end the header
 * line early or smuggle in another header. */
static int is_header_safe(const char *s) {
  if (s[0] == '\0') {
    return 0;
  }
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if (*p <= ' ' || *p >= 0x7f) {
      return 0;
    }
  }
  return 1;
}

/* True for an OAuth error code ("invalid_grant"): one word of [A-Za-z0-9_.-].
 * Anything else from the reply is not trusted as a code. */
static int is_oauth_code(const char *s) {
  if (s[0] == '\0') {
    return 0;
  }
  for (const char *p = s; *p != '\0'; p++) {
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') {
      return 0;
    }
  }
  return 1;
}

int ab_maskinporten_set_error(ab_error *err, const char *client_id,
                              const ab_http_response *resp) {
  long status = resp->status;
  int e = (status == 429 || status >= 500) ? EIO : EACCES;
  cJSON *root = NULL;
  if (resp->body != NULL && resp->body_len > 0) {
    root = cJSON_ParseWithLength(resp->body, resp->body_len);
  }
  char error[64] = "";
  char description[300] = "";
  ab_json_copy_string(root, "error", error, sizeof(error));
  ab_json_copy_string(root, "error_description", description, sizeof(description));
  cJSON_Delete(root);
  char code[24] = "";
  find_mp_code(description, code, sizeof(code));
  if (code[0] == '\0' && is_oauth_code(error)) {
    ab_json_copy_text(code, sizeof(code), error);
  }
  if (error[0] == '\0' && description[0] == '\0') {
    return ab_error_set_http(err, e, (int)status, NULL,
                             "Maskinporten token request for client %s failed (HTTP %ld)",
                             client_id, status);
  }
  if (e == EIO) {
    return ab_error_set_http(err, e, (int)status, code,
                             "Maskinporten failed the token request for client %s (HTTP %ld): %s",
                             client_id, status, description[0] != '\0' ? description : error);
  }
  return ab_error_set_http(err, e, (int)status, code,
                           "Maskinporten refused the grant for client %s: %s",
                           client_id, description[0] != '\0' ? description : error);
}

int ab_maskinporten_request(ab_http *h, long timeout_ms, const char *token_url,
                            const char *client_id, const char *grant,
                            ab_mp_reply *out, ab_error *err) {
  memset(out, 0, sizeof(*out));
  static const char prefix[] =
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
  /* A compact JWT only has [A-Za-z0-9_.-], which needs no form escaping. */
  size_t form_len = sizeof(prefix) - 1 + strlen(grant);
  char *form = malloc(form_len + 1);
  if (form == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory building the token request");
  }
  snprintf(form, form_len + 1, "%s%s", prefix, grant);
  const char *headers[] = {
    "Content-Type: application/x-www-form-urlencoded",
    "Accept: application/json",
    NULL,
  };
  ab_http_response resp;
  int rc = ab_http_request_within(h, timeout_ms, "POST", token_url, headers, form, form_len,
                                  &resp, err);
  OPENSSL_cleanse(form, form_len);
  free(form);
  if (rc != 0) {
    return ab_error_prefix(err, "Maskinporten token request");
  }
  if (resp.date[0] != '\0') {
    time_t t = curl_getdate(resp.date, NULL);
    out->server_time = t > 0 ? t : 0;
  }
  if (resp.status != 200) {
    ab_maskinporten_set_error(err, client_id, &resp);
    clear_secret_response(&resp);
    return -1;
  }
  cJSON *root = cJSON_ParseWithLength(resp.body, resp.body_len);
  const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "access_token");
  if (cJSON_IsString(at) && is_header_safe(at->valuestring)) {
    out->access_token = strdup(at->valuestring);
    OPENSSL_cleanse(at->valuestring, strlen(at->valuestring));
    if (out->access_token == NULL) {
      rc = ab_error_set(err, ENOMEM, "out of memory");
    }
    long long expires_in = 0;
    if (ab_json_get_int64(root, "expires_in", &expires_in) && expires_in > 0) {
      out->expires_in = (long) expires_in;
    }
    ab_json_copy_string(root, "scope", out->scope, sizeof(out->scope));
  } else {
    rc = ab_error_set_http(err, EIO, (int)resp.status, NULL,
                           "Maskinporten token reply for client %s has no usable access_token",
                           client_id);
  }
  cJSON_Delete(root);
  clear_secret_response(&resp);
  return rc;
}

/* True when s looks like a compact JWS: three non-empty base64url segments. */
static int looks_like_jwt(const char *s) {
  int dots = 0;
  size_t seg = 0;
  for (const char *p = s; *p != '\0'; p++) {
    if (*p == '.') {
      if (seg == 0) {
        return 0;
      }
      dots++;
      seg = 0;
    } else if (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
      seg++;
    } else {
      return 0;
    }
  }
  return dots == 2 && seg > 0;
}

char *ab_maskinporten_exchange(ab_http *h, long timeout_ms, const char *exchange_url,
                               const char *mp_token, time_t *exp, time_t *iat,
                               ab_error *err) {
  char *auth = bearer_header(mp_token);
  if (auth == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  const char *headers[] = { auth, "Accept: text/plain", NULL };
  ab_http_response resp;
  int rc = ab_http_request_within(h, timeout_ms, "GET", exchange_url, headers, NULL, 0,
                                  &resp, err);
  ab_secret_free(auth);
  if (rc != 0) {
    ab_error_prefix(err, "Altinn token exchange");
    return NULL;
  }
  if (resp.status != 200) {
    ab_problem p;
    ab_problem_parse(resp.body, resp.body_len, &p);
    int e = (resp.status == 429 || resp.status >= 500) ? EIO : EACCES;
    ab_error_set_http(err, e, (int)resp.status, p.code,
                      "Altinn token exchange refused the Maskinporten token (HTTP %ld)%s%s",
                      resp.status, p.detail[0] != '\0' ? ": " : "", p.detail);
    clear_secret_response(&resp);
    return NULL;
  }
  /* Body is the raw JWT; with some Accept headers it comes JSON-quoted. */
  char *start = resp.body;
  size_t len = resp.body_len;
  while (len > 0 && isspace((unsigned char)*start)) {
    start++;
    len--;
  }
  while (len > 0 && isspace((unsigned char)start[len - 1])) {
    len--;
  }
  if (len >= 2 && start[0] == '"' && start[len - 1] == '"') {
    start++;
    len -= 2;
  }
  char *token = strndup(start, len);
  clear_secret_response(&resp);
  if (token == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  if (ab_jwt_read_time(token, "iat", iat) != 0) {
    *iat = 0;
  }
  if (!looks_like_jwt(token) || ab_jwt_read_time(token, "exp", exp) != 0) {
    ab_secret_free(token);
    ab_error_set_http(err, EIO, 200, NULL,
                      "Altinn token exchange returned something that is not a JWT with exp "
                      "(check the exchange URL)");
    return NULL;
  }
  return token;
}
