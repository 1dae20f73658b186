/* emu_x5c.h - grants signed with an enterprise certificate
 * (virksomhetssertifikat) instead of a registered key (auth-and-events.md
 * §1.2): the JWT header carries "x5c", an array of standard-base64 DER
 * certificates, leaf first.
 *
 * Checks, each with the Maskinporten code a client would see:
 *   not an array of strings, not standard base64, not DER    MP-123
 *   leaf not trusted (neither issued by a CA in the config's
 *   "enterpriseCa" nor equal to the client's "certificate"),
 *   expired or not yet valid                                 MP-120
 *   organisation number in the leaf (subject serialNumber, or
 *   organizationIdentifier "NTRNO-<orgnr>") is not the client's MP-122
 */
#ifndef EMU_X5C_H
#define EMU_X5C_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "emu_config.h"

/* The leaf's public key (caller frees) when x5c passes every check above;
 * NULL otherwise, with the error_description (ending in "(MP-xxx)") in err. */
EVP_PKEY *emu_x5c_key(const emu_config *cfg, const emu_client *client, const cJSON *x5c, char *err,
                      size_t errlen);

#endif
