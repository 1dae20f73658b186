/* ab_inbox_admin.h - what the admin CLI does with inboxes beyond the
 * gateway seam (ab_vfs.h): Altinn Events subscriptions for a mount, events
 * from the webhook receiver, and the state of each inbox's listing. Works
 * on a session opened with ab_vfs_new_admin + ab_vfs_login(NULL). */
#ifndef AB_INBOX_ADMIN_H
#define AB_INBOX_ADMIN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "ab_broker.h"
#include "ab_error.h"
#include "ab_vfs.h"

/* The inbox mount at `path` (exactly a mount path): its Broker client (for
 * Events calls), organisation and resource. Pointers stay valid while the
 * session lives. Fails with EINVAL when path is not an inbox mount. */
int ab_inbox_admin_target(ab_vfs *vfs, const char *path, ab_broker **broker,
                          const char **org, const char **resource_id, ab_error *err);

/* Hands a CloudEvent from the webhook receiver to the inbox listings (the
 * agent's, or this process's own). Returns how many inboxes it concerned,
 * or -1 with err. */
int ab_inbox_admin_event(ab_vfs *vfs, const cJSON *event, ab_error *err);

/* Lets due listing work happen for up to wait_ms: the agent's background
 * thread, or (no agent) this process now. *background tells which.
 * Returns the seconds until work is next due, or -1 with err. */
int ab_inbox_admin_work(ab_vfs *vfs, long wait_ms, int *background, ab_error *err);

/* A short status line of the listing behind mount i into out; "" when
 * mount i is no inbox or the status is unknown. */
void ab_inbox_admin_status(ab_vfs *vfs, size_t i, char *out, size_t outsz);

#endif
