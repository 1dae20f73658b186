/* ab_names.h - file names crossing the trust boundary in both directions.
 *
 * Upload names come from the SFTP client and become the Broker's fileName;
 * Broker file names come from other organisations and become names in an
 * SFTP listing. Both are untrusted. */
#ifndef AB_NAMES_H
#define AB_NAMES_H

#include <stddef.h>

#include "ab_error.h"

/* Checks a name the client wants to upload under: one path component,
 * 1..255 bytes, valid UTF-8, no control characters, not "." or "..". */
int ab_name_check_upload(const char *name, ab_error *err);

/* Maps an untrusted Broker file name to a safe single path component in
 * out (size >= 256): '/', '\\', control characters and invalid UTF-8 become
 * '_', a leading '.' becomes '_' (no hidden or "..") and an empty result
 * becomes "unnamed". The result is at most 200 bytes, leaving room for
 * ab_name_make_unique's suffix. */
void ab_name_sanitize(const char *untrusted, char *out, size_t outsz);

/* Makes name unique among others by inserting "~<first 8 hex of id>"
 * before the extension: "report.xml" -> "report~0b6b4c5e.xml". */
void ab_name_with_id(const char *name, const char *id, char *out, size_t outsz);

#endif
