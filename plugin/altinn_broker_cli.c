/* altinn_broker_cli.c - `altinn-broker`, the admin CLI.
 *
 * Reads the same AltinnBroker* directives as the ProFTPD module (from the
 * ProFTPD config file) and drives the same core through the same
 * ab_vfs_methods seam the module uses, so what works here works over SFTP.
 *
 *   altinn-broker [-c CONFIG] [-u USER] check
 *   altinn-broker [-c CONFIG] [-u USER] ls MOUNT
 *   altinn-broker [-c CONFIG] [-u USER] send MOUNT FILE [NAME]
 *   altinn-broker [-c CONFIG] [-u USER] get MOUNT NAME DEST [--confirm]
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ab_auth.h"
#include "ab_broker.h"
#include "ab_config.h"
#include "ab_vfs.h"

#define DEFAULT_CONFIG "/etc/proftpd/proftpd.conf"

static int verbose = 0;

static void cli_log(void *ctx, int level, const char *message) {
  (void) ctx;
  if (level <= AB_LOG_NOTICE || verbose) {
    fprintf(stderr, "altinn-broker: %s\n", message);
  }
}

static void usage(FILE *out) {
  fprintf(out,
    "usage: altinn-broker [-c CONFIG] [-u USER] [-v] COMMAND ...\n"
    "  check                          check every mount's key, token and resource access\n"
    "  ls MOUNT                       list the files in a mount (e.g. /inbox)\n"
    "  send MOUNT FILE [NAME]         send FILE through an outbox mount\n"
    "  get MOUNT NAME DEST [--confirm] download NAME from an inbox; --confirm confirms it\n"
    "CONFIG is the ProFTPD configuration with the AltinnBroker* directives\n"
    "(default " DEFAULT_CONFIG "); USER selects the mounts bound to an SFTP user.\n");
}

static char *mount_file(const char *mount, const char *name) {
  size_t n = strlen(mount) + strlen(name) + 2;
  char *p = malloc(n);
  if (p != NULL) {
    snprintf(p, n, "%s/%s", mount, name);
  }
  return p;
}

static int cmd_ls(ab_vfs *vfs, const char *mount) {
  const ab_vfs_methods *m = ab_vfs_methods_get();
  ab_error err;
  ab_dir *d;
  if (m->opendir(vfs, mount, &d, &err) < 0) {
    fprintf(stderr, "altinn-broker: ls %s: %s\n", mount, err.message);
    return 1;
  }
  const char *name;
  while ((name = m->readdir(d)) != NULL) {
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    char *path = mount_file(mount, name);
    ab_stat st;
    if (path != NULL && m->stat(vfs, path, &st, &err) == 0) {
      printf("%12lld  %s\n", st.size, name);
    }
    free(path);
  }
  m->closedir(d);
  return 0;
}

static int cmd_send(ab_vfs *vfs, const char *mount, const char *file, const char *name) {
  const ab_vfs_methods *m = ab_vfs_methods_get();
  ab_error err;
  int in = open(file, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    fprintf(stderr, "altinn-broker: cannot read %s: %s\n", file, strerror(errno));
    return 1;
  }
  if (name == NULL) {
    name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  }
  char *path = mount_file(mount, name);
  ab_file *f = NULL;
  if (path == NULL || m->open(vfs, path, O_WRONLY | O_CREAT | O_TRUNC, &f, &err) < 0) {
    fprintf(stderr, "altinn-broker: send %s: %s\n", path ? path : name, err.message);
    free(path);
    close(in);
    return 1;
  }
  static char buf[256 * 1024];
  off_t off = 0;
  ssize_t n;
  int rc = 0;
  while ((n = read(in, buf, sizeof(buf))) > 0) {
    if (m->pwrite(f, buf, (size_t) n, off, &err) < 0) {
      fprintf(stderr, "altinn-broker: send %s: %s\n", path, err.message);
      rc = 1;
      break;
    }
    off += n;
  }
  if (n < 0) {
    fprintf(stderr, "altinn-broker: reading %s: %s\n", file, strerror(errno));
    rc = 1;
  }
  close(in);
  if (m->close(f, rc != 0, &err) < 0) {
    fprintf(stderr, "altinn-broker: %s\n", err.message);
    rc = 1;
  }
  free(path);
  return rc;
}

static int cmd_get(ab_vfs *vfs, const char *mount, const char *name, const char *dest,
                   int confirm) {
  const ab_vfs_methods *m = ab_vfs_methods_get();
  ab_error err;
  char *path = mount_file(mount, name);
  ab_file *f = NULL;
  if (path == NULL || m->open(vfs, path, O_RDONLY, &f, &err) < 0) {
    fprintf(stderr, "altinn-broker: get %s: %s\n", path ? path : name, err.message);
    free(path);
    return 1;
  }
  int out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    fprintf(stderr, "altinn-broker: cannot write %s: %s\n", dest, strerror(errno));
    m->close(f, 0, &err);
    free(path);
    return 1;
  }
  static char buf[256 * 1024];
  off_t off = 0;
  ssize_t n;
  int rc = 0;
  while ((n = m->pread(f, buf, sizeof(buf), off, &err)) > 0) {
    if (write(out, buf, (size_t) n) != n) {
      fprintf(stderr, "altinn-broker: writing %s: %s\n", dest, strerror(errno));
      rc = 1;
      break;
    }
    off += n;
  }
  if (n < 0) {
    fprintf(stderr, "altinn-broker: get %s: %s\n", path, err.message);
    rc = 1;
  }
  close(out);
  m->close(f, 0, &err);
  if (rc == 0 && confirm && m->unlink(vfs, path, &err) < 0) {
    fprintf(stderr, "altinn-broker: confirm %s: %s\n", path, err.message);
    rc = 1;
  }
  free(path);
  return rc;
}

/* One line per onboarding step, "OK" or what is wrong and what to do. */
static int cmd_check(const ab_config *cfg) {
  int failures = 0;
  ab_http_options hopts = { .ca_pem = cfg->ca_pem, .ca_pem_len = cfg->ca_pem_len };
  ab_http *http = ab_http_new(&hopts);
  for (size_t i = 0; i < cfg->n_mounts && http != NULL; i++) {
    const ab_mount_cfg *mc = &cfg->mounts[i];
    ab_error err;
    printf("mount %s (%s, resource %s, client %s, org %s)\n", mc->path,
           mc->direction == AB_OUTBOX ? "outbox" : "inbox", mc->resource_id,
           mc->client->name, mc->client->org);
    char *scope = ab_config_client_scope(cfg, mc->client);
    ab_auth_config ac = {
      .client_id = mc->client->client_id, .kid = mc->client->kid,
      .key_pem = mc->client->key_pem, .key_pem_len = mc->client->key_pem_len,
      .audience = cfg->maskinporten_issuer, .token_url = cfg->token_url,
      .exchange_url = cfg->exchange_url, .scope = scope,
      .systemuser_org = mc->client->systemuser_org,
    };
    ab_auth *auth = ab_auth_new(&ac, &err);
    if (auth == NULL) {
      printf("  [FAIL] private key %s: %s\n", mc->client->key_path, err.message);
      failures++;
      free(scope);
      continue;
    }
    printf("  [ OK ] private key %s loads (kid %s)\n", mc->client->key_path, mc->client->kid);
    if (ab_auth_token(auth, http, &err) == NULL) {
      printf("  [FAIL] token for scope \"%s\": %s\n", scope, err.message);
      failures++;
    } else {
      printf("  [ OK ] Maskinporten token and Altinn token for scope \"%s\"\n", scope);
      ab_broker b = { .base_url = cfg->platform_url, .http = http, .auth = auth };
      ab_search q = { .resource_id = mc->resource_id,
                      .role = mc->direction == AB_OUTBOX ? "Sender" : "Recipient" };
      char (*ids)[AB_ID_LEN] = NULL;
      size_t n = 0;
      if (ab_broker_search(&b, &q, &ids, &n, &err) < 0) {
        if (strcmp(err.code, "BRO-00006") == 0) {
          printf("  [FAIL] access to resource %s: denied (BRO-00006). Ask the resource owner to "
                 "give organisation %s%s%s access to %s it\n", mc->resource_id, mc->client->org,
                 mc->client->systemuser_org ? " / system user for " : "",
                 mc->client->systemuser_org ? mc->client->systemuser_org : "",
                 mc->direction == AB_OUTBOX ? "send on (action write)" : "receive on (action read)");
        } else {
          printf("  [FAIL] access to resource %s: %s\n", mc->resource_id, err.message);
        }
        failures++;
      } else {
        printf("  [ OK ] resource %s is accessible (%zu transfer(s) found)\n", mc->resource_id, n);
      }
      free(ids);
    }
    ab_auth_free(auth);
    free(scope);
  }
  ab_http_free(http);
  printf("%s\n", failures == 0 ? "all checks passed" : "some checks failed");
  return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *config_path = DEFAULT_CONFIG;
  const char *user = NULL;
  int opt;
  static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' }, { "user", required_argument, NULL, 'u' },
    { "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  while ((opt = getopt_long(argc, argv, "+c:u:vh", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c': config_path = optarg; break;
    case 'u': user = optarg; break;
    case 'v': verbose = 1; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;

  ab_error err;
  ab_config *cfg = ab_config_new();
  if (cfg == NULL || ab_config_load_file(cfg, config_path, &err) < 0 ||
      ab_config_load_secrets(cfg, &err) < 0) {
    fprintf(stderr, "altinn-broker: %s\n", cfg ? err.message : "out of memory");
    ab_config_free(cfg);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 2;
  if (strcmp(cmd, "check") == 0 && nargs == 0) {
    rc = cmd_check(cfg);
  } else if ((strcmp(cmd, "ls") == 0 && nargs == 1) ||
             (strcmp(cmd, "send") == 0 && (nargs == 2 || nargs == 3)) ||
             (strcmp(cmd, "get") == 0 && (nargs == 3 || (nargs == 4 && strcmp(args[3], "--confirm") == 0)))) {
    ab_vfs *vfs = ab_vfs_new(cfg, cli_log, NULL, &err);
    if (vfs == NULL || ab_vfs_login(vfs, user, &err) < 0) {
      fprintf(stderr, "altinn-broker: %s\n", err.message);
      rc = 1;
    } else if (cmd[0] == 'l') {
      rc = cmd_ls(vfs, args[0]);
    } else if (cmd[0] == 's') {
      rc = cmd_send(vfs, args[0], args[1], nargs == 3 ? args[2] : NULL);
    } else {
      rc = cmd_get(vfs, args[0], args[1], args[2], nargs == 4);
    }
    ab_vfs_free(vfs);
  } else {
    usage(stderr);
  }
  ab_config_free(cfg);
  curl_global_cleanup();
  return rc;
}
