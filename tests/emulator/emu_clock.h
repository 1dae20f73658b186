/* emu_clock.h - the emulated Broker clock and ISO-8601 text.
 *
 * Broker lifecycle times (created, status changes, expiry, grace purge,
 * processing delay) run on an emulated clock that starts at real time and
 * can run faster (knob clockSpeed) or be pushed forward
 * (POST /_emulator/clock), so tests can watch a 30-day TTL expire in
 * seconds. Tokens deliberately use real time: clients sign grants with their
 * real clock and Maskinporten checks them against its own.
 */
#ifndef EMU_CLOCK_H
#define EMU_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define EMU_ISO_LEN 40

void emu_clock_init(double speed);

/* Emulated time, microseconds since the epoch. */
int64_t emu_clock_now_us(void);

/* Changes the speed from now on without a jump in emulated time. */
void emu_clock_set_speed(double speed);
double emu_clock_speed(void);

/* Moves emulated time forward by us microseconds. */
void emu_clock_advance(int64_t us);

/* "2026-08-18T11:40:51.123456+00:00" (what the Broker writes). */
void emu_clock_iso(int64_t us, char out[EMU_ISO_LEN]);

/* Parses ISO-8601 date-time with optional fraction and Z/±hh:mm offset (no
 * offset = UTC). A space where the '+' of the offset should be is accepted,
 * because an unencoded '+' in a query string arrives as a space. */
bool emu_clock_parse_iso(const char *s, int64_t *us);

/* ISO-8601 duration ("P30D", "PT2H", "P1DT30M", "PT1.5S") to microseconds.
 * Years and months are rejected: the Broker's TimeSpan cannot hold them. */
bool emu_duration_parse(const char *s, int64_t *us);

/* xs:duration as .NET's XmlConvert.ToTimeSpan reads it (what PUT /resource
 * validates): optional '-', 'P', then nY (365 days), nM (30 days), nD, and
 * after 'T' nH, nM, n[.fraction]S, in that order, at least one of them;
 * upper case only. "30D" or "P1W" are rejected. */
bool emu_duration_parse_xs(const char *s, int64_t *us);

/* .NET TimeSpan text ("30.00:00:00", "02:00:00"), as GET /resource shows it. */
void emu_duration_timespan(int64_t us, char *out, int outlen);

#endif
