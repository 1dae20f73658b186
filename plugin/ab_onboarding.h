/* ab_onboarding.h - Altinn Formidling's onboarding steps, as
 * `altinn-broker check` walks them, and what to do when one fails.
 *
 * The getting-started guide's steps are: get the scopes, register a
 * Maskinporten client with a key or enterprise certificate, get access to
 * the Broker resource, integrate, subscribe to events. For one mount the
 * check runs five steps:
 *
 *   1 key           the key or certificate loads and Maskinporten accepts it
 *   2 maskinporten  the client gets a token with the scopes the mount needs
 *   3 exchange      Altinn exchanges that token for an Altinn token
 *   4 resource      the organisation may use the resource in the mount's direction
 *   5 events        the event subscription exists and is validated
 *
 * This module turns what a step saw (an ab_error from ab_auth or ab_broker,
 * an ab_auth_report) into a verdict, a one-line finding and a one-line fix,
 * naming the client, organisation, system user, scope and resource. It does
 * no I/O, so every mapping is unit-tested.
 */
#ifndef AB_ONBOARDING_H
#define AB_ONBOARDING_H

#include "ab_auth.h"
#include "ab_config.h"
#include "ab_error.h"

typedef enum ab_step {
  AB_STEP_KEY = 1,
  AB_STEP_MASKINPORTEN = 2,
  AB_STEP_EXCHANGE = 3,
  AB_STEP_RESOURCE = 4,
  AB_STEP_EVENTS = 5
} ab_step;

#define AB_STEP_COUNT 5

typedef enum ab_verdict {
  AB_VERDICT_OK = 0,
  AB_VERDICT_WARN,        /* works, but something needs attention */
  AB_VERDICT_SKIP,        /* not checked (not configured, or an earlier step failed) */
  AB_VERDICT_FAIL,        /* the configuration or an onboarding step is wrong */
  AB_VERDICT_UNAVAILABLE  /* a service could not be reached or failed (5xx, 429,
                           * network, timeout): nothing proven wrong */
} ab_verdict;

typedef struct ab_step_result {
  ab_verdict verdict;
  char finding[AB_ERROR_MSG_MAX]; /* what the step found */
  char fix[AB_ERROR_MSG_MAX];     /* what to do; "" when nothing */
  char code[24];                  /* MP-nnn, BRO-nnnnn, OAuth error, or "" */
  int http_status;
} ab_step_result;

/* Who is being checked, for the messages. */
typedef struct ab_onboarding_subject {
  const ab_config *cfg;
  const ab_client_cfg *client;
  const ab_mount_cfg *mount;
  const char *scope;              /* the scope set the client requests */
} ab_onboarding_subject;

/* Exit codes of `altinn-broker check` (documented in README):
 * 0 every step passed (warnings allowed), 2 usage or unreadable
 * configuration, 3-7 the first failing step (key, maskinporten, exchange,
 * resource, events) over all mounts, 8 nothing failed but a service was
 * unavailable. */
#define AB_CHECK_EXIT_OK 0
#define AB_CHECK_EXIT_USAGE 2
#define AB_CHECK_EXIT_UNAVAILABLE 8
int ab_check_exit_code(ab_step step);

const char *ab_step_name(ab_step step);        /* "key", "maskinporten", ... */
const char *ab_verdict_name(ab_verdict v);     /* "ok", "warn", "skip", "fail", "unavailable" */

/* Sets r (verdict, finding, fix); finding and fix are printf formats. */
void ab_step_set(ab_step_result *r, ab_verdict v, const char *code, int http_status,
                 const char *fix, const char *finding_fmt, ...)
  __attribute__((format(printf, 6, 7)));

/* Classifies a failed token fetch: which step failed (key problems that
 * Maskinporten reports, such as an unknown kid or an invalid certificate,
 * belong to step 1) and what to do. `refused_scopes` names the scopes
 * Maskinporten would not grant when the caller found them out ("" if not
 * known). Returns the step. */
ab_step ab_onboarding_token_failure(const ab_onboarding_subject *s, const ab_auth_report *rep,
                                    const ab_error *err, const char *refused_scopes,
                                    ab_step_result *out);

/* Verdict on a loaded credential (step 1 before any request): an expired
 * or not yet valid certificate, a certificate of another organisation, or
 * one that expires within 30 days. */
void ab_onboarding_key(const ab_onboarding_subject *s, time_t now, ab_step_result *out);

/* Verdict on a token that was obtained (step 2): every needed scope
 * granted, a clock that had to be corrected, a slow token endpoint. */
void ab_onboarding_token_ok(const ab_onboarding_subject *s, const ab_auth_report *rep,
                            ab_step_result *out);

/* Verdict on the resource access probe (step 4); err NULL = it worked. */
void ab_onboarding_resource(const ab_onboarding_subject *s, const ab_error *err,
                            ab_step_result *out);

#endif
