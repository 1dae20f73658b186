/* ab_agent.h - the gateway's agent: one process that serves the shared
 * state (ab_hub) to every session, and the session side that talks to it.
 *
 * Why a process: ProFTPD runs each session in its own process, chrooted
 * and as the user's uid. The agent is forked by the daemon (as root, after
 * the configuration is parsed, before any session) and keeps what sessions
 * must share and must not hold themselves: the private keys (sessions wipe
 * theirs once connected), the one Altinn token per client, the Broker rate
 * budget, the inbox markers and the upload journal (ab_hub.h). It exits
 * when the daemon does (EOF on a pipe from the daemon) and is replaced on a
 * daemon restart (SIGHUP). If it dies otherwise (crash, OOM kill), the
 * daemon notices within 10 s and starts a new one; sessions that start
 * meanwhile work alone (logging "degraded"). The admin
 * CLI uses it too when one runs for the same configuration; without an
 * agent, a process runs a hub of its own. `altinn-broker agent` runs one
 * in the foreground where the daemon does not fork it (inetd).
 *
 * Transport: a unix stream socket <AltinnBrokerStateDir>/agent.sock in the
 * root-only (0700) state directory. Sessions connect in sess_init, before
 * authentication and chroot, with root privileges; the agent checks the
 * peer with SO_PEERCRED and serves only uid 0 and the daemon's `User`.
 * A session keeps its one connection for its lifetime (after chroot it
 * could not reconnect). If the agent goes away mid-session (daemon
 * restart), the session keeps the token it holds until that expires, and
 * later calls fail with "the gateway's agent is gone" (nothing is lost:
 * an upload fails at CLOSE, a listing or rm fails with that message).
 *
 * Protocol: newline-delimited JSON, one request object per line, one reply
 * object per line, in order. Every reply has "ok": true, or "ok": false
 * with "errno" (an errno value), "error" (one line, no secrets) and, when
 * the Broker or Maskinporten said so, "status" and "code".
 *
 *   {"op":"hello"}                      -> {"version":1,"store":"local|redis","state_dir","node",
 *                                          "config"}: config = ab_hub_config_fingerprint
 *   {"op":"login","user":"alice","groups":["staff"]}
 *                                       once per connection, before anything below;
 *                                          no user and no groups = the admin (all mounts). Later
 *                                          requests may only name clients and organisations
 *                                          of mounts this user sees.
 *   {"op":"stats"}                      -> {"grants","tokensServed","budgetRefused","replayed",
 *                                          "store","degraded","nodes"}
 *   {"op":"token","client":NAME,["rejected":FP]}
 *                                       -> {"token","valid_ms"}: an Altinn token and how long
 *                                          it may be used. FP (ab_token_fingerprint) names a
 *                                          token the Broker answered 401 to: it is replaced.
 *   {"op":"budget","org":ORG,"endpoint":E}
 *                                       -> {"granted":bool,"retry_ms"}: may this caller make
 *                                          one call to Broker endpoint E (initialize, upload,
 *                                          overview, details, search, download,
 *                                          confirmdownload) now? If not, when to ask again.
 *   {"op":"read_mark","org","id"}       the transfer was read whole
 *   {"op":"read_check","org","id"}      -> {"read":bool}
 *   {"op":"confirm_claim","org","id"}   -> {"state":"claimed","claim":C} | {"state":"busy"}
 *                                          (another session is confirming it) |
 *                                          {"state":"confirmed"} (already confirmed here);
 *                                          errno EAGAIN while Redis is unreachable.
 *   {"op":"confirm_done","org","id","claim":C,"confirmed":bool}
 *                                       releases the claim; confirmed=true records it, and
 *                                          every node's listing drops the transfer.
 *   {"op":"inbox_list","org","resource",["have":V],["wait_ms":N]}
 *                                       -> {"version":V,"listing":"<lines>"} |
 *                                          {"version":V,"unchanged":true} (when "have" is the
 *                                          current version): the inbox listing (ab_hub_feed.c)
 *                                          as lines of ab_inbox_wire.h, names final (flat view
 *                                          name, or gname in sender directory dir).
 *                                          wait_ms: when work is due, let it happen first
 *                                          (at most that long).
 *   {"op":"inbox_status","org","resource"} -> {"listed","pending","lastSweep","lastEvents",
 *                                          "working"}
 *   {"op":"inbox_recheck","org","id"}   look at transfer id again (a download said it is gone)
 *   {"op":"inbox_event","event":{CloudEvent}}  (admin) an Altinn event from the webhook
 *                                          receiver -> {"feeds":n}: how many inboxes it
 *                                          concerned (each then re-checks that transfer)
 *   {"op":"inbox_work",["wait_ms":N]}   (admin) let due feed work happen (a hub without the
 *                                          background thread does it now) -> {"due_s",
 *                                          "background"}
 *   {"op":"journal_add","org","entry":{"id":ID, "mount","name","size","md5","ref","state",
 *                                      "user","at"}}
 *                                       -> {"created":bool,["previous":ID]}: records or updates
 *                                          the upload record of transfer ID; "previous" names an
 *                                          earlier transfer with the same "ref" (duplicate).
 *                                       An entry may carry "keys": [strings]; each is then an
 *                                          index to this record (see journal_lookup).
 *   {"op":"journal_get","org","id"}     -> {"entry":{...}}
 *   {"op":"journal_list","org",["max":N]} -> {"entries":[...]} newest first
 *   {"op":"journal_lookup","org","key"} -> {"entry":{...}|null}: the record last added with
 *                                          that key in its "keys" (the outbox's duplicate and
 *                                          name checks, without listing the journal)
 *
 * New request types are added in ab_hub.c's dispatch; background work in
 * ab_hub_tick, which the agent calls every second, or (the inbox feeds) in
 * the hub's own thread (ab_hub_start_background).
 */
#ifndef AB_AGENT_H
#define AB_AGENT_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#include "ab_audience.h"
#include "ab_config.h"
#include "ab_error.h"
#include "ab_hub.h"
#include "ab_vfs.h"

#define AB_AGENT_SOCKET "agent.sock"

/* --- the agent process ----------------------------------------------- */

typedef struct ab_agent_options {
  const ab_config *cfg;   /* finished, secrets loaded */
  ab_log_fn log;          /* the agent serializes its calls: the sink need not be
                             thread-safe */
  void *log_ctx;
  uid_t allowed_uid;      /* besides root: the daemon's User */
  int parent_fd;          /* read end of a pipe from the daemon: EOF = exit; -1 = none */
  int ready_fd;           /* written to (one byte) and closed once the socket listens; -1 = none */
} ab_agent_options;

/* Serves until the parent pipe reaches EOF or SIGTERM/SIGINT arrives; the
 * store is then flushed. Returns 0, or -1 with err when it could not start
 * (state directory, socket, keys). Installs its own signal handlers. */
int ab_agent_run(const ab_agent_options *opts, ab_error *err);

/* --- the session side ------------------------------------------------ */

typedef struct ab_shared ab_shared;

/* Connects to the agent serving cfg's state directory. NULL with err when
 * none runs (errno ENOENT/ECONNREFUSED), it refused us, or it serves a
 * different configuration (errno ESTALE: e.g. another organisation's CLI
 * config pointing at the same state directory). */
ab_shared *ab_shared_connect(const ab_config *cfg, ab_error *err);

/* Serves requests from a hub in this process (no agent); takes ownership
 * of the hub. */
ab_shared *ab_shared_in_process(ab_hub *hub);

/* 1 when requests go to an agent process. */
int ab_shared_is_agent(const ab_shared *s);
void ab_shared_free(ab_shared *s);

/* One request (consumed). Returns the reply (ok=true; caller deletes), or
 * NULL with err from the reply's error or the transport (errno EAGAIN when
 * the agent is gone). */
cJSON *ab_shared_call(ab_shared *s, cJSON *req, ab_error *err);

/* Tells the agent whom this session acts for (who NULL: the admin). */
int ab_shared_login(ab_shared *s, const ab_principal *who, ab_error *err);

/* An ab_token_source_fn for ab_auth: ctx is an ab_shared_token_ctx. */
typedef struct ab_shared_token_ctx {
  ab_shared *shared;
  const char *client;     /* AltinnBrokerClient name */
} ab_shared_token_ctx;
char *ab_shared_token(void *ctx, const char *rejected, long long *valid_ms, ab_error *err);

/* 1 granted, 0 not now (*retry_ms says when to ask again), -1 error. */
int ab_shared_budget(ab_shared *s, const char *org, const char *endpoint, long long *retry_ms,
                     ab_error *err);

int ab_shared_read_mark(ab_shared *s, const char *org, const char *id, ab_error *err);
/* 1 read whole, 0 not, -1 error. */
int ab_shared_read_check(ab_shared *s, const char *org, const char *id, ab_error *err);

enum { AB_CLAIM_BUSY = 0, AB_CLAIM_OK = 1, AB_CLAIM_ALREADY_CONFIRMED = 2 };
/* AB_CLAIM_* or -1; claim (160 bytes) receives the claim to pass to done. */
int ab_shared_confirm_claim(ab_shared *s, const char *org, const char *id, char claim[160],
                            ab_error *err);
int ab_shared_confirm_done(ab_shared *s, const char *org, const char *id, const char *claim,
                           int confirmed, ab_error *err);

/* The inbox listing (see "inbox_list"): returns 0 with *version and
 * *listing (lines of ab_inbox_wire.h; caller frees; NULL when unchanged
 * since `have`), or -1. */
int ab_shared_inbox_list(ab_shared *s, const char *org, const char *resource,
                         unsigned long long have, long wait_ms, unsigned long long *version,
                         char **listing, ab_error *err);
/* Asks for transfer id to be looked at again. */
int ab_shared_inbox_recheck(ab_shared *s, const char *org, const char *id, ab_error *err);

/* Records an upload (entry is not consumed). previous (37 bytes, may be
 * NULL) receives the id of an earlier transfer with the same "ref", or "". */
int ab_shared_journal_add(ab_shared *s, const char *org, const cJSON *entry, char *previous,
                          ab_error *err);

#endif
