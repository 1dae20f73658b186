/* emu_ratelimit.h - Altinn APIM rate limits (broker-api.md §9).
 *
 * Per organisation and endpoint, a sliding 60-second window of real time:
 * details 15, search 10, everything else 120 (knobs can change them). The
 * design bar "zero 429 at Altinn's limits" is only meaningful if the
 * emulator enforces exactly these numbers.
 */
#ifndef EMU_RATELIMIT_H
#define EMU_RATELIMIT_H

#include <stdbool.h>

/* Records a request; false when it is over the limit, with *retry_after_s
 * set to when the oldest counted request leaves the window. */
bool emu_ratelimit_allow(const char *org, const char *endpoint, int limit, int *retry_after_s);
void emu_ratelimit_reset(void);

#endif
