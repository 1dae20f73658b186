/* emu_auth.h - the emulator's signing key and bearer-token checks.
 *
 * The emulator plays both token issuers: Maskinporten (iss = mp_issuer) and
 * Altinn Authentication (iss = altinn_issuer). Both sign with one RSA key
 * that is generated at start (or loaded from "signingKey"), so tokens are
 * real JWTs a client can decode, and forged or stale ones are refused.
 */
#ifndef EMU_AUTH_H
#define EMU_AUTH_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "emu_config.h"

#define EMU_SIGNING_KID "altinn-emulator-1"

typedef struct emu_caller {
  bool valid;
  bool altinn;              /* Altinn token (true) or raw Maskinporten token */
  bool system_user;
  char org[16];             /* caller organisation (broker-api.md §1.4) */
  char vendor[16];          /* consumer org of the client (the vendor for system users) */
  char org_code[32];        /* urn:altinn:org (service-owner tokens), "" = none */
  char system_user_id[40];  /* authorization_details.systemuser_id[0], "" = none */
  char client_id[128];
  char scope[512];
} emu_caller;

int emu_auth_init(const emu_config *cfg);
void emu_auth_shutdown(void);

/* Signs payload with the emulator key (RS256); malloc'ed token. */
char *emu_auth_sign(const cJSON *payload);

/* The public signing key as a JWKS document (for /jwk and openid metadata). */
cJSON *emu_auth_jwks(void);

/* Checks "Bearer <jwt>": signature by the emulator key, issuer (Maskinporten
 * when accept_mp, Altinn when accept_altinn) and exp, allowing skew_s
 * seconds of clock skew (the Broker allows 0). On success fills out (caller org per
 * §1.4) and, if claims_out is not NULL, hands over the payload. */
bool emu_auth_bearer(const emu_config *cfg, const char *authorization, bool accept_mp,
                     bool accept_altinn, int skew_s, emu_caller *out, cJSON **claims_out);

/* True when scope appears in the caller's space-separated scope claim. */
bool emu_caller_has_scope(const emu_caller *c, const char *scope);

/* "0192:123456789" / "urn:...:123456789" -> "123456789" (text after the last ':'). */
const char *emu_strip_prefix(const char *id);

#endif
