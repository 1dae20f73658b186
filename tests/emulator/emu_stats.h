/* emu_stats.h - counters the tests read from GET /_emulator/state.
 *
 * Grants and exchanges are counted per client_id because a design bar is
 * "100 logins <= 2 Maskinporten grants per client"; requests are counted
 * per endpoint name so tests can prove a listing did not call search.
 */
#ifndef EMU_STATS_H
#define EMU_STATS_H

#include <cjson/cJSON.h>

void emu_stats_request(const char *endpoint);
void emu_stats_grant(const char *client_id);
void emu_stats_exchange(const char *client_id);
void emu_stats_rate_limited(void);

/* Adds "grants", "exchanges", "requests", "rateLimited" to obj. */
void emu_stats_add_json(cJSON *obj);
void emu_stats_reset(void);

#endif
