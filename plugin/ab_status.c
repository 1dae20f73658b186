/* ab_status.c - a transfer's overview as one of the session's
 * organisations (see ab_status.h). */
#include "ab_status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ab_vfs_internal.h"

/* The Broker answers a transfer the caller is no party to with 404, or
 * with 401/403 (BRO-00006) depending on the version: all mean "not as
 * this organisation; try the next". */
static int not_ours(const ab_error *e) {
  return e->http_status == 404 || e->http_status == 403 ||
         (e->http_status == 401 && strcmp(e->code, "BRO-00006") == 0);
}

int ab_vfs_transfer_status(ab_vfs *vfs, const char *id, ab_transfer *out,
                           const char **org, ab_error *err) {
  char asked[256] = "";
  for (size_t i = 0; i < vfs->n_clients; i++) {
    ab_client_session *cs = &vfs->clients[i];
    if (ab_broker_overview(&cs->broker, id, out, err) == 0) {
      if (org != NULL) {
        *org = cs->cfg->org;
      }
      return 0;
    }
    if (!not_ours(err)) {
      return ab_error_prefix(err, "status of %s as organisation %s", id, cs->cfg->org);
    }
    size_t n = strlen(asked);
    snprintf(asked + n, sizeof(asked) - n, "%s%s", n ? ", " : "", cs->cfg->org);
  }
  if (vfs->n_clients == 0) {
    return ab_error_set(err, ENOENT, "no mount is visible here, so no organisation to ask as");
  }
  int status = err->http_status;
  char code[sizeof(err->code)];
  snprintf(code, sizeof(code), "%s", err->code);
  return ab_error_set_http(err, ENOENT, status, code,
                           "fileTransferId %s is not known to organisation %s (the Broker shows a "
                           "transfer only to its sender and recipients)", id, asked);
}
