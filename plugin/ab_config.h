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
 *   AltinnBrokerStateDir      /var/lib/altinn-broker
 *   AltinnBrokerClient <name> client-id=<id> org=<9 digits> key=<pem file> kid=<key id>
 *                             [systemuser-org=<9 digits>] [scope="..."]
 *   AltinnBrokerMount  <path> client=<name> resource=<id> direction=outbox|inbox
 *                             [recipients=0192:<org>[,0192:<org>...]] [users=<u1>[,<u2>...]]
 */
#ifndef AB_CONFIG_H
#define AB_CONFIG_H

#include <stddef.h>

#include "ab_error.h"

typedef enum ab_direction {
  AB_OUTBOX = 1, /* files put here are sent through the Broker */
  AB_INBOX = 2   /* files sent to us through the Broker are listed here */
} ab_direction;

typedef struct ab_client_cfg {
  char *name;
  char *client_id;
  char *org;             /* our organisation number, 9 digits */
  char *kid;
  char *key_path;
  char *systemuser_org;  /* NULL unless acting as a system user */
  char *scope;           /* NULL = derived from the mounts that use it */
  char *key_pem;         /* key bytes, filled by ab_config_load_secrets */
  size_t key_pem_len;
  char *source;          /* "file:line" of the directive, for messages */
} ab_client_cfg;

typedef struct ab_mount_cfg {
  char *path;            /* absolute path as the SFTP user sees it, no trailing '/' */
  char *client_name;
  ab_client_cfg *client; /* resolved by ab_config_finish */
  char *resource_id;
  ab_direction direction;
  char **recipients;     /* normalised "0192:<org>" */
  size_t n_recipients;
  char **users;          /* SFTP users who see this mount; none = every user */
  size_t n_users;
  char *source;
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
  ab_client_cfg *clients;
  size_t n_clients;
  ab_mount_cfg *mounts;
  size_t n_mounts;
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
 * one mount. Messages start with the offending directive's "file:line". */
int ab_config_finish(ab_config *cfg, ab_error *err);

/* Reads private keys and the CA file into memory. Refuses a key file that
 * group or others can read, or that is not a regular file. Call while the
 * process can still read them (before privileges are dropped). */
int ab_config_load_secrets(ab_config *cfg, ab_error *err);

/* Reads every AltinnBroker* directive from a ProFTPD configuration file
 * (other lines are ignored; `Include` is followed) and then runs
 * ab_config_finish. Used by the admin CLI. */
int ab_config_load_file(ab_config *cfg, const char *path, ab_error *err);

/* The mount whose path equals `path` or contains it ("/outbox/x" is in
 * "/outbox"), among those visible to `user` (NULL = any). */
const ab_mount_cfg *ab_config_find_mount(const ab_config *cfg,
                                         const char *user, const char *path);

/* True when `user` may see mount m (user NULL: the admin, sees all). */
int ab_mount_visible_to(const ab_mount_cfg *m, const char *user);

/* The scopes a client needs for the mounts that use it (malloc'ed),
 * or its configured scope. */
char *ab_config_client_scope(const ab_config *cfg, const ab_client_cfg *c);

#endif
