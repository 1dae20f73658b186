/* ab_config.h - the gateway's configuration: environment, Maskinporten
 * clients and mounts.
 *
 * The same directives are read by the ProFTPD module (one directive at a
 * time, as ProFTPD parses its config) and by the admin CLI (which scans the
 * ProFTPD config file for AltinnBroker* lines), so both see one truth:
 *
 *   AltinnBrokerEnvironment   tt02 | production | custom
 *   AltinnBrokerPlatformURL   https://host[:port]        (custom; overrides)
 *   AltinnBrokerMaskinportenURL https://host[:port]/     (custom; the issuer, "aud")
 *   AltinnBrokerCACertificate /path/ca.pem                (extra trust; default: system CAs)
 *   AltinnBrokerSpoolDir      /var/spool/altinn-broker
 *   AltinnBrokerStateDir      /var/lib/altinn-broker      (root-owned, 0700: the agent's store)
 *   AltinnBrokerRedis         host:port                   (shared state on Redis; default: embedded)
 *   AltinnBrokerRedisUser     <ACL user>
 *   AltinnBrokerRedisPassword <password> | file:/path     (file: mode 0600, read at startup)
 *   AltinnBrokerRedisTLS      on|off
 *   AltinnBrokerRedisCA       /path/ca.pem                (trust for TLS; default: system CAs)
 *   AltinnBrokerRedisPrefix   <key prefix>                (one per gateway cluster; default "altinn-broker:")
 *   AltinnBrokerRedisTimeout  <milliseconds>              (connect and per command; default 500)
 *   AltinnBrokerAgent         on|off|external             (default on: the daemon forks the agent;
 *                                                          external: `altinn-broker agent` runs it)
 *   AltinnBrokerLog           /var/log/proftpd/altinn-broker.log  (the module's log)
 *   AltinnBrokerMetricsFile   /var/lib/prometheus/node-exporter/altinn_broker.prom
 *                             (written by the agent when counts change, at most once a second; ab_metrics.h)
 *   AltinnBrokerClient <name> client-id=<id> org=<9 digits> CREDENTIAL
 *                             [alg=RS256|RS384|RS512] [scope="..."] [resource=<aud>]
 *                             [systemuser-org=<9 digits> [external-ref=<ref>]]
 *     CREDENTIAL, one of (see ab_key.h):
 *       key=<pem file> kid=<key id> [key-password-file=<file>]   registered key
 *       jwk=<jwk file> [kid=<key id>]                             registered key as JWK
 *       p12=<pkcs12 file> [p12-password-file=<file>]              enterprise certificate
 *       key=<pem file> cert=<pem chain> [key-password-file=]      enterprise certificate
 *   AltinnBrokerMount  <path> client=<name> resource=<id> direction=outbox|inbox
 *                             [recipients=0192:<org>[,0192:<org>...]]
 *                             [users=<u1>[,<u2>...]] [groups=<g1>[,<g2>...]]
 *                             [outbox options, see ab_config_outbox.h]
 *   AltinnBrokerUpload [key=value...]                   (see ab_config_outbox.h)
 *     inbox only:             [events=pull|webhook|off] [confirm=on-rm|after-read|never]
 *                             [layout=flat|by-sender]
 *   AltinnBrokerRateLimit <endpoint>=<calls per minute> ...  (initialize upload overview details
 *                             search download confirmdownload; default: Altinn's limits)
 *
 * Who sees which mount (users=, groups=) is decided in ab_audience.h.
 */
#ifndef AB_CONFIG_H
#define AB_CONFIG_H

#include <stddef.h>

#include "ab_auth.h"
#include "ab_config_outbox.h"
#include "ab_error.h"
#include "ab_key.h"

typedef enum ab_direction {
  AB_OUTBOX = 1, /* files put here are sent through the Broker */
  AB_INBOX = 2   /* files sent to us through the Broker are listed here */
} ab_direction;

typedef struct ab_client_cfg {
  char *name;
  char *client_id;
  char *org;             /* our organisation number, 9 digits */
  char *kid;
  char *key_path;        /* key=: PEM private key */
  char *key_password_path;
  char *cert_path;       /* cert=: PEM chain for key= (enterprise certificate) */
  char *jwk_path;
  char *p12_path;
  char *p12_password_path;
  char *alg;             /* NULL = RS256 (or the JWK's alg) */
  char *resource;        /* the grant's `resource` claim, NULL = none */
  char *systemuser_org;  /* NULL unless acting as a system user */
  char *external_ref;    /* the system user's externalRef, NULL = none */
  char *scope;           /* NULL = derived from the mounts that use it */
  ab_key *key;           /* filled by ab_config_load_secrets */
  char *source;          /* "file:line" of the directive, for messages */
} ab_client_cfg;

/* When an inbox confirms a download (README "Inbox: confirming"). */
typedef enum ab_confirm_policy {
  AB_CONFIRM_ON_RM = 0,      /* rm confirms, and only a file read whole (default) */
  AB_CONFIRM_AFTER_READ = 1, /* closing a file read whole confirms it */
  AB_CONFIRM_NEVER = 2       /* rm is refused; `altinn-broker confirm` confirms */
} ab_confirm_policy;

/* events= not given: pull when the client's scope= asks for Altinn Events,
 * off otherwise (decided by ab_config_finish). */
#define AB_MOUNT_EVENTS_AUTO (-1)

typedef struct ab_mount_cfg {
  char *path;            /* absolute path as the SFTP user sees it, no trailing '/' */
  char *client_name;
  ab_client_cfg *client; /* resolved by ab_config_finish */
  char *resource_id;
  ab_direction direction;
  char **recipients;     /* normalised "0192:<org>" */
  size_t n_recipients;
  char **users;          /* SFTP users who see this mount */
  size_t n_users;
  char **groups;         /* SFTP groups whose members see it (no users and
                          * no groups: every user sees it) */
  size_t n_groups;
  ab_outbox_cfg outbox;  /* direction=outbox only */
  char *source;
  /* inbox */
  int events;            /* ab_events_mode (ab_feed.h): 0 pull, 1 webhook, 2 off;
                          * AB_MOUNT_EVENTS_AUTO until ab_config_finish decides */
  ab_confirm_policy confirm;
  int by_sender;         /* layout=by-sender: a directory per sending organisation */
  int inbox_options_set; /* one of the three was given (refused on outboxes) */
} ab_mount_cfg;

typedef struct ab_config {
  char *environment;     /* "tt02", "production" or "custom" */
  char *platform_url;    /* no trailing '/' */
  char *maskinporten_issuer; /* with trailing '/' */
  char *token_url;
  char *exchange_url;
  char *ca_file;
  char *ca_pem;          /* CA bytes, filled by ab_config_load_secrets */
  size_t ca_pem_len;
  char *spool_dir;
  char *state_dir;
  char *log_file;        /* AltinnBrokerLog, NULL: ProFTPD's system log */
  char *metrics_file;    /* AltinnBrokerMetricsFile, NULL: none */
  /* Shared state on Redis; redis_host NULL = the embedded store. */
  char *redis_host;
  int redis_port;
  char *redis_user;
  char *redis_password;      /* literal, or read from redis_password_file */
  char *redis_password_file;
  char *redis_password_source; /* "file:line" of the password directive */
  int redis_tls;
  char *redis_ca_file;
  char *redis_ca_pem;        /* filled by ab_config_load_secrets */
  size_t redis_ca_pem_len;
  char *redis_prefix;        /* default "altinn-broker:" */
  int redis_timeout_ms;      /* default 500 */
  int agent_off;             /* AltinnBrokerAgent off: sessions work alone */
  int agent_external;        /* AltinnBrokerAgent external: the daemon does not fork one
                              * (`altinn-broker agent` runs it); sessions connect to it */
  ab_client_cfg *clients;
  size_t n_clients;
  ab_mount_cfg *mounts;
  size_t n_mounts;
  ab_upload_cfg upload;  /* AltinnBrokerUpload */
  /* AltinnBrokerRateLimit: calls per minute per organisation, by Broker
   * endpoint (0 = Altinn's limit) */
  int rate_limits[7];
} ab_config;

/* Returns a new empty configuration, or NULL on OOM. */
ab_config *ab_config_new(void);
void ab_config_free(ab_config *cfg);

/* Applies one directive. argv holds the arguments after the directive name.
 * source ("file:line") is kept for later messages. Unknown or malformed
 * directives fail with a message that says what is expected. */
int ab_config_directive(ab_config *cfg, const char *directive, int argc,
                        const char *const *argv, const char *source,
                        ab_error *err);

/* Checks the whole: environment URLs, every mount's client exists, at least
 * one mount, no two mounts at the same or nested paths that one user could
 * see (ab_audience.h). Messages start with the offending directive's
 * "file:line". */
int ab_config_finish(ab_config *cfg, ab_error *err);

/* Frees every secret the configuration holds in memory (the clients'
 * keys and certificates, the Redis password): what a session calls once
 * the agent holds them, so a session process never has key material. */
void ab_config_wipe_secrets(ab_config *cfg);

/* Loads every client's key or certificate (ab_key_load) and the CA file.
 * Secret files must be regular files owned by the reading user (root, for
 * the daemon) and closed to group and others (ab_secret.h). Call while the
 * process can still read them (before privileges are dropped). */
int ab_config_load_secrets(ab_config *cfg, ab_error *err);

/* Reads the CA file (AltinnBrokerCACertificate) into memory, if any. */
int ab_config_load_ca(ab_config *cfg, ab_error *err);

/* Loads one client's key or certificate into c->key (no-op when loaded). */
int ab_config_load_client_key(ab_client_cfg *c, ab_error *err);

/* The key source described by a client's settings. */
ab_key_source ab_config_key_source(const ab_client_cfg *c);

/* Fills *out to authenticate as client c with `scope` (borrowed strings:
 * cfg, c and scope must outlive the ab_auth built from it). */
void ab_config_auth(const ab_config *cfg, const ab_client_cfg *c, const char *scope,
                    ab_auth_config *out);

/* Reads every AltinnBroker* directive from a ProFTPD configuration file
 * (other lines are ignored) and then runs ab_config_finish. Used by the
 * admin CLI. Reads lines as ProFTPD does: a trailing backslash continues a
 * line, and `Include` follows a file, every file of a directory
 * ("/etc/proftpd/conf.d/") or a wildcard pattern, in name order, skipping
 * editor backups ("*~", "*.sw?"). */
int ab_config_load_file(ab_config *cfg, const char *path, ab_error *err);

/* The calls per minute AltinnBrokerRateLimit allows for Broker endpoint
 * `endpoint` ("search", "overview", ...), or 0 when not configured (then
 * Altinn's limit applies). */
int ab_config_rate_limit(const ab_config *cfg, const char *endpoint);

/* The scopes a client needs for the mounts that use it (malloc'ed),
 * or its configured scope. */
char *ab_config_client_scope(const ab_config *cfg, const ab_client_cfg *c);

#endif
