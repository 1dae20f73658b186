/* ab_hub.h - the gateway's shared-state services, over an ab_store.
 *
 * The hub is what the agent process (ab_agent.c) runs for all sessions of
 * a gateway, and what a process without an agent (the admin CLI, or a
 * session that could not reach the agent) runs for itself:
 *
 *   tokens    one Maskinporten grant + Altinn exchange per client and token
 *             lifetime, single-flight across threads, processes and (with
 *             Redis) nodes; a token the Broker refused is replaced once;
 *   budget    the Broker's per-organisation rate limits (search 10/min,
 *             details 15/min, other endpoints 120/min each) shared by every
 *             caller of the store;
 *   inbox     "read whole" markers, confirm claims (one confirm per file),
 *             confirmed markers, and the inbox listings, kept fresh from Altinn
 *             Events and search by a background thread (ab_hub_feed.c);
 *   journal   one record per upload (fileTransferId, name, size, MD5,
 *             sender's reference, state), for receipts and duplicate detection.
 *
 * Requests and replies are cJSON objects; the protocol (op names, fields)
 * is documented in ab_agent.h, which carries them over a socket. With Redis
 * configured the hub keeps an embedded store too: when Redis is unreachable
 * it serves tokens and rate budgets node-locally, keeps writes in a
 * pending queue that is replayed when Redis returns, and refuses what could
 * not be made safe without it (confirming a download), saying so in the log.
 *
 * Thread-safe: many threads may call ab_hub_handle at once.
 */
#ifndef AB_HUB_H
#define AB_HUB_H

#include <cjson/cJSON.h>

#include "ab_config.h"
#include "ab_error.h"
#include "ab_vfs.h"

typedef struct ab_hub ab_hub;

typedef struct ab_hub_options {
  const ab_config *cfg;   /* finished, secrets loaded; outlives the hub */
  ab_log_fn log;          /* may be NULL */
  void *log_ctx;
  int memory_only;        /* 1: no state directory, no Redis (a lone session) */
} ab_hub_options;

/* Opens the stores and prepares one authenticated client per
 * AltinnBrokerClient (parsing the keys: call while they are loaded). */
ab_hub *ab_hub_new(const ab_hub_options *opts, ab_error *err);
void ab_hub_free(ab_hub *h);

/* What a connection to the hub may do: set by the "login" op. */
#define AB_HUB_PEER_GROUPS 32
typedef struct ab_hub_peer {
  int logged_in;
  int admin;              /* no user, no groups: every mount */
  char user[128];
  char groups[AB_HUB_PEER_GROUPS][64];
  size_t n_groups;
  unsigned long id;       /* distinguishes claims of different peers */
} ab_hub_peer;

/* Handles one request (see ab_agent.h) and returns the reply, which is
 * never NULL unless memory runs out. */
cJSON *ab_hub_handle(ab_hub *h, ab_hub_peer *peer, const cJSON *req);

/* Starts the thread that keeps the inbox feeds fresh in the background
 * (Altinn Events, overviews, search reconciliation; ab_hub_feed.c). The
 * agent calls it; a hub without it works a feed only when a listing is
 * asked for. ab_hub_free stops it. */
int ab_hub_start_background(ab_hub *h, ab_error *err);

/* Background work, called about once a second by the agent: node
 * heartbeat, replay of writes queued while Redis was down. A place for
 * more (listing refresh from Altinn Events). */
void ab_hub_tick(ab_hub *h);

/* A fingerprint of what a hub serves (state directory, Redis, clients),
 * so a process can tell whether a running agent is for its configuration. */
void ab_hub_config_fingerprint(const ab_config *cfg, char out[17]);

/* "local" or "redis", for log lines. */
const char *ab_hub_store_name(const ab_hub *h);

#endif
