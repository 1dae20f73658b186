/* ab_base64.h - base64url (RFC 4648 §5) as used by JWTs.
 *
 * JWT segments are base64url without '=' padding. The decoder also accepts
 * padded input and the standard alphabet ('+', '/'), because tokens from
 * other software are read defensively; anything else is rejected.
 */
#ifndef AB_BASE64_H
#define AB_BASE64_H

#include <stddef.h>

/* Encodes len bytes of in as unpadded base64url into a malloc'ed,
 * NUL-terminated string. Returns NULL on OOM. */
char *ab_base64url_encode(const void *in, size_t len);

/* Decodes len characters of in (base64url or standard base64, padding
 * optional) into a malloc'ed buffer of *out_len bytes, NUL-terminated for
 * convenience. Returns NULL on invalid input or OOM. */
unsigned char *ab_base64url_decode(const char *in, size_t len, size_t *out_len);

#endif
