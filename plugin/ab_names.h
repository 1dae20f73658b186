/* ab_names.h - file names crossing the trust boundary in both directions.
 *
 * Upload names come from the SFTP client and become the Broker's fileName;
 * Broker file names come from other organisations and become names in an
 * SFTP listing. Both are untrusted.
 *
 * The inbox naming rule (README "Inbox file names") is built from three
 * pieces here: ab_name_sanitize makes one safe, portable path component;
 * ab_name_fold gives the key under which two names count as "the same"
 * (a person or a case-insensitive file system could mistake one for the
 * other); ab_name_with_id makes a name unique with a transfer id suffix.
 * Which transfer gets which name is decided by ab_listing.c. */
#ifndef AB_NAMES_H
#define AB_NAMES_H

#include <stddef.h>

#include "ab_error.h"

/* Longest sanitized name in bytes; leaves room for the "~<id>" suffix. */
#define AB_NAME_BASE_MAX 200

/* Checks a name the client wants to upload under: one path component,
 * 1..255 bytes, valid UTF-8, no control characters, no bidirectional
 * controls or line/paragraph separators (they make a recipient see another
 * name than the one sent), not "." or "..". */
int ab_name_check_upload(const char *name, ab_error *err);

/* Maps an untrusted Broker file name to a safe single path component in
 * out (outsz >= 8). The rules, in order:
 *  - invalid UTF-8 bytes, C0/C1 controls, DEL, line/paragraph separators,
 *    private-use and non-characters become '_';
 *  - '/' and '\\' and their look-alikes (fraction/division slash, fullwidth
 *    and big solidus...) become '_', and so do the characters Windows
 *    forbids in names (: * ? " < > |);
 *  - invisible format characters are removed: bidirectional controls
 *    (U+202A-202E, U+2066-2069, U+200E/F, U+061C, which can make
 *    "x\u202Efdp.exe" display as "xexe.pdf"), zero-width characters, the
 *    byte order mark, soft hyphen, variation selectors and tag characters;
 *  - other Unicode spaces become ' ';
 *  - leading spaces, trailing spaces and trailing dots are dropped (Windows
 *    drops trailing ones silently); then a leading '.' or '-' (or a dot
 *    look-alike) becomes '_' (no hidden files, no "." or "..", no
 *    command-line options);
 *  - a Windows device name (CON, NUL, COM1, LPT1... with any extension)
 *    gets a leading '_';
 *  - the result is at most AB_NAME_BASE_MAX bytes, cut at a character
 *    boundary, keeping an extension of up to 16 bytes;
 *  - an empty result becomes "unnamed". */
void ab_name_sanitize(const char *untrusted, char *out, size_t outsz);

/* The comparison key of a (sanitized) name into out (outsz >= 8): two
 * names with equal keys count as the same name. Folds ASCII and Latin-1
 * case, fullwidth forms to ASCII, Latin-1 accented letters to their base
 * letter, drops combining marks, and maps common Cyrillic and Greek
 * letters that look like Latin ones ("і" U+0456 -> "i"). Truncates (safely)
 * when out is too small. */
void ab_name_fold(const char *name, char *out, size_t outsz);

/* Makes name unique by inserting "~<first idlen chars of id>" before the
 * extension: ("report.xml", id, 8) -> "report~0b6b4c5e.xml". idlen is
 * clamped to the length of id. */
void ab_name_with_id(const char *name, const char *id, size_t idlen, char *out,
                     size_t outsz);

#endif
