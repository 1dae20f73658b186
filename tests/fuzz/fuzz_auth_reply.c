/* fuzz_auth_reply.c - Maskinporten token replies and Altinn token exchange
 * replies, through the real client (ab_maskinporten.c) over a fake HTTP
 * layer, and the JWT payload reader (ab_jwt.c) on its own.
 *
 * Input: [operation][status shape][header shape][body...]. Invariants: a
 * token handed out is non-empty; an exchanged token has a sane `exp`;
 * failures carry an errno and a one-line printable message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ab_jwt.h"
#include "ab_maskinporten.h"
#include "fuzz_fake_http.h"

/* A token goes into "Authorization: Bearer <token>": it must be one
 * non-empty word of printable ASCII, or it could split or add headers. */
static void check_header_safe(const char *token) {
  if (token[0] == '\0') {
    abort();
  }
  for (const unsigned char *p = (const unsigned char *) token; *p != '\0'; p++) {
    if (*p <= ' ' || *p >= 0x7f) {
      abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) {
    return 0;
  }
  fuzz_http_set_reply(data[1], data[2], data + 3, size - 3);
  ab_error err;
  ab_error_clear(&err);
  switch (data[0] % 3) {
  case 0: {
    ab_mp_reply reply;
    memset(&reply, 0, sizeof(reply));
    if (ab_maskinporten_request(NULL, 1000, "https://mp.invalid/token",
                                "11111111-1111-4111-8111-111111111111", "a.b.c", &reply,
                                &err) != 0) {
      fuzz_check_error(&err);
      if (reply.access_token != NULL) {
        abort();
      }
    } else {
      check_header_safe(reply.access_token);
      fuzz_check_terminated(reply.scope, sizeof(reply.scope));
    }
    ab_secret_free(reply.access_token);
    break;
  }
  case 1: {
    time_t exp = 0, iat = 0;
    char *token = ab_maskinporten_exchange(NULL, 1000, "https://platform.invalid/exchange",
                                           "mp.token.value", &exp, &iat, &err);
    if (token == NULL) {
      fuzz_check_error(&err);
    } else {
      check_header_safe(token);
      if (exp <= 0) {
        abort();
      }
    }
    ab_secret_free(token);
    break;
  }
  default: {
    char *jwt = malloc(size - 2);
    if (jwt == NULL) {
      abort();
    }
    memcpy(jwt, data + 3, size - 3);
    jwt[size - 3] = '\0';
    time_t exp = 0;
    if (ab_jwt_read_time(jwt, "exp", &exp) == 0 && exp <= 0) {
      abort();
    }
    cJSON *claims = ab_jwt_decode_payload(jwt);
    if (claims != NULL && !cJSON_IsObject(claims)) {
      abort();
    }
    cJSON_Delete(claims);
    free(jwt);
    break;
  }
  }
  return 0;
}
