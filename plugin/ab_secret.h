/* ab_secret.h - reading secret files (private keys, PKCS#12 files, JWKs,
 * passwords) that only the gateway's administrator may read.
 *
 * The daemon reads every secret once, as root, before any session drops
 * privileges or chroots; sessions inherit the parsed key and never open a
 * secret file. A secret file must be a regular file (no symlink), owned by
 * the user reading it (root for the daemon) and not accessible to group or
 * others; anything else is refused with the command that fixes it.
 */
#ifndef AB_SECRET_H
#define AB_SECRET_H

#include <stddef.h>

#include "ab_error.h"

/* Largest secret file read (keys, certificates and JWKs are a few KiB). */
#define AB_SECRET_MAX (1024 * 1024)

/* Reads the whole secret file `path` into a malloc'ed, NUL-terminated buffer
 * (*len bytes without the NUL). `what` names the file in messages
 * ("private key", "PKCS#12 password file"). Returns 0, or -1 with err set:
 * EACCES for a file group/others can reach or that another user owns,
 * EINVAL for a non-regular file or a symlink, EFBIG above AB_SECRET_MAX.
 * Free the buffer with ab_secret_wipe. */
int ab_secret_read_file(const char *path, const char *what, char **out,
                        size_t *len, ab_error *err);

/* Reads a password file: its first line, without the line end. Same rules
 * and ownership of the result as ab_secret_read_file. */
int ab_secret_read_password(const char *path, const char *what, char **out,
                            ab_error *err);

/* Overwrites len bytes of p and frees it (NULL is fine). */
void ab_secret_wipe(void *p, size_t len);

#endif
