/* emu_tokens.h - the clock the token issuers and token checks read, and
 * token revocation (test knobs, POST /_emulator/tokens).
 *
 * Maskinporten, the token exchange and the Broker's token check all read
 * emu_token_now(): real time plus an offset. An offset of -300 is what a
 * gateway whose clock runs 5 minutes ahead sees: its grants look "issued in
 * the future" (MP-130). Every response's Date header follows the same
 * clock, as a real server's would, so a client can learn the difference.
 *
 * Revocation makes every token issued so far (whatever the offset then)
 * invalid (401 at the exchange,
 * the Broker and Events), as a rotated signing key or withdrawn consent
 * would; tokens issued afterwards are fine. That is how tests produce a 401
 * in the middle of a session that already holds a cached token.
 *
 *   POST /_emulator/tokens {"clockOffsetSeconds": N}  set the offset
 *   POST /_emulator/tokens {"revoke": true}           revoke all tokens so far
 *   GET  /_emulator/tokens                            {"clockOffsetSeconds", "revokedBefore", "now"}
 * /_emulator/reset clears both.
 */
#ifndef EMU_TOKENS_H
#define EMU_TOKENS_H

#include <stdbool.h>

#include <microhttpd.h>

/* Token time in whole seconds since the epoch. */
double emu_token_now(void);

/* The iat for a token issued now: never at or before the last revocation
 * (so a token fetched in the same second as a revocation is not revoked). */
double emu_token_issue_time(void);

/* True when a token with this iat was issued before the last revocation. */
bool emu_token_revoked(double iat);

/* Adds a Date header in token time when the offset is not zero (MHD adds
 * the real time itself otherwise). */
void emu_tokens_date_header(struct MHD_Response *resp);

void emu_tokens_reset(void);

#endif
