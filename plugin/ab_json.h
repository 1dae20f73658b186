/* ab_json.h - small helpers for reading untrusted JSON with cJSON.
 *
 * Broker and Maskinporten replies are untrusted input: a field can be
 * missing, null, of the wrong type or far longer than expected. These
 * helpers copy into fixed buffers with truncation (never overflow, never
 * split a UTF-8 sequence) and treat anything unexpected as "absent".
 */
#ifndef AB_JSON_H
#define AB_JSON_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

/* Copies the string member `name` of obj (case-insensitive lookup) into dst
 * (size dst_len > 0), truncating at a UTF-8 character boundary. Returns 1
 * when the member is a string, 0 otherwise (dst is then ""). */
int ab_json_copy_string(const cJSON *obj, const char *name, char *dst,
                        size_t dst_len);

/* Copies the C string src into dst with the same truncation rule. */
void ab_json_copy_text(char *dst, size_t dst_len, const char *src);

/* Reads the number member `name` as an integer. Returns 1 and sets *out
 * when it is a finite number within long long range, 0 otherwise. */
int ab_json_get_int64(const cJSON *obj, const char *name, long long *out);

/* Parses an ISO-8601 timestamp "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]"
 * (no zone = UTC) into *out. Returns 0, or -1 when it is not one. */
int ab_json_parse_time(const char *iso, time_t *out);

/* As ab_json_parse_time, keeping the fraction: microseconds since the
 * epoch in *us (digits beyond the sixth are dropped). */
int ab_json_parse_time_us(const char *iso, long long *us);

/* Formats microseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.ffffffZ"
 * (out holds at least 32 bytes). */
void ab_json_format_time_us(long long us, char *out, size_t outsz);

/* Reads the timestamp string member `name`. Returns 1 and sets *out when
 * present and valid, 0 otherwise (*out = 0). */
int ab_json_get_time(const cJSON *obj, const char *name, time_t *out);

#endif
