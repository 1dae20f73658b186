/* emu_util.h - small helpers shared by the emulator: ids, files, paths.
 *
 * Nothing here knows about HTTP or Altinn; it exists so the handlers do not
 * each grow their own copy of "read a whole small file" or "make a GUID".
 */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Random RFC 4122 version-4 UUID, lower-case hyphenated (Broker GUID form). */
void emu_uuid4(char out[37]);

/* 32 random hex characters (trace ids, temp file names). */
void emu_random_hex(char *out, size_t nbytes);

/* True when s is a hyphenated GUID (any case). */
bool emu_is_guid(const char *s);

/* Reads a whole small file (keys, certificates, config) into a NUL-terminated
 * malloc'ed buffer. NULL on error with errno set. */
char *emu_read_file(const char *path, size_t *len);

/* dir + "/" + rel, or a copy of rel when it is absolute or dir is NULL. */
char *emu_path_join(const char *dir, const char *rel);

/* Wall clock in microseconds (real time, not the emulated clock). */
int64_t emu_real_now_us(void);

/* Monotonic clock in milliseconds (rate limits, delays). */
int64_t emu_mono_ms(void);

/* Sleeps for ms milliseconds (fault latency). */
void emu_sleep_ms(long ms);

/* Case-insensitive ASCII prefix test. */
bool emu_starts_with_ci(const char *s, const char *prefix);

/* Lower-case hex of n bytes into out (2n+1 chars). */
void emu_hex(const unsigned char *in, size_t n, char *out);

#endif
