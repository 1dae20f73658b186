/* ab_status.h - "what became of transfer X?" for support and scripts
 * (`altinn-broker status ID`), answered through a logged-in session so the
 * call uses the gateway's tokens and rate budget like every other. */
#ifndef AB_STATUS_H
#define AB_STATUS_H

#include "ab_broker.h"
#include "ab_vfs.h"

/* Fetches the Broker's overview of transfer id as each organisation the
 * session acts for, in mount order, until one may see it (a sender or a
 * recipient). *org (may be NULL) receives that organisation. Fails with
 * ENOENT when none may, naming the organisations asked; other failures
 * (network, rate limit) stop at once. out is ab_transfer_clear'ed by the
 * caller on success. */
int ab_vfs_transfer_status(ab_vfs *vfs, const char *id, ab_transfer *out,
                           const char **org, ab_error *err);

#endif
