/* mod_altinn_broker.c - ProFTPD module: Altinn 3 Broker as virtual
 * directories.
 *
 * This file holds only what ProFTPD expects of a module: directives (handed
 * to the core's config parser, so the admin CLI reads them the same way),
 * the daemon-side checks after parsing (keys loaded as root, before any
 * session drops privileges), the per-session setup (before chroot: spool
 * and HTTPS; after login: the user's mounts) and abort detection. The FSIO
 * handlers are in fsio.c. */
#include "mod_altinn_broker.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "ab_agent.h"
#include "ab_config.h"

module altinn_broker_module;

ab_vfs *abp_vfs = NULL;

/* The daemon's configuration: built while ProFTPD parses its config file,
 * finished and given its keys at core.postparse, inherited by each session
 * through fork(). */
static ab_config *abp_config = NULL;
static int abp_log_fd = -1;

/* The first directive that was refused, "file:line: reason". ProFTPD 1.3.8
 * stops on a refused directive in the main file or a single included file,
 * but when the Include names a directory or a pattern (Debian's
 * "Include /etc/proftpd/conf.d/") it only logs the error, skips the rest of
 * that file and starts anyway: a mount would silently be missing and its
 * users would write to the real disk. So the module remembers the refusal
 * and refuses to start at postparse. */
static char abp_refused[AB_ERROR_MSG_MAX];
static pool *abp_pool = NULL;

/* The agent (ab_agent.h): forked by the daemon, which keeps the write end
 * of a pipe the agent watches: when the daemon exits, the agent sees EOF
 * and exits too. Sessions close their inherited copy. */
static pid_t abp_agent_pid = -1;
static int abp_agent_pipe = -1;
static int abp_restarting = 0;
static int abp_watch_timer = -1;
/* How often the daemon checks that its agent is alive (and replaces it). */
#define AGENT_WATCH_SECONDS 10
#define RESTART_ENV "ALTINN_BROKER_AGENT_RESTART"

void abp_log(int level, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  /* Lines quote client paths: no forged lines, no terminal escapes. */
  for (unsigned char *p = (unsigned char *) line; *p != '\0'; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      *p = '?';
    }
  }
  if (abp_log_fd >= 0) {
    static const char *names[] = { "error", "notice", "info", "debug" };
    pr_log_writefile(abp_log_fd, MOD_ALTINN_BROKER_VERSION, "%s: %s",
                     names[level < 0 || level > 3 ? 3 : level], line);
    return;
  }
  if (level <= AB_LOG_NOTICE) {
    pr_log_pri(level == AB_LOG_ERROR ? PR_LOG_ERR : PR_LOG_NOTICE, "%s: %s",
               MOD_ALTINN_BROKER_VERSION, line);
  } else {
    pr_log_debug(level == AB_LOG_INFO ? DEBUG3 : DEBUG5, "%s: %s",
                 MOD_ALTINN_BROKER_VERSION, line);
  }
}

static void core_log(void *ctx, int level, const char *message) {
  (void) ctx;
  abp_log(level, "%s", message);
}

/* Configuration handlers: every AltinnBroker* directive goes to the core. */

MODRET set_altinnbroker(cmd_rec *cmd) {
  CHECK_CONF(cmd, CONF_ROOT);
  if (abp_config == NULL) {
    abp_config = ab_config_new();
    if (abp_config == NULL) {
      CONF_ERROR(cmd, "out of memory");
    }
  }
  const char *source = abp_config_source(cmd->tmp_pool, cmd->argv[0]);
  const char **argv = pcalloc(cmd->tmp_pool, sizeof(char *) * (cmd->argc + 1));
  for (unsigned int i = 1; i < cmd->argc; i++) {
    argv[i - 1] = cmd->argv[i];
  }
  ab_error err;
  if (ab_config_directive(abp_config, cmd->argv[0], (int) cmd->argc - 1, argv,
                          source, &err) < 0) {
    /* ProFTPD adds the directive, file and line itself and refuses to
     * start; drop the core's own "file:line: Directive: " prefix. */
    const char *msg = err.message;
    size_t sl = strlen(source);
    if (strncmp(msg, source, sl) == 0 && strncmp(msg + sl, ": ", 2) == 0) {
      msg += sl + 2;
    }
    size_t dl = strlen(cmd->argv[0]);
    if (strncasecmp(msg, cmd->argv[0], dl) == 0 && msg[dl] == ':') {
      msg += dl + 1;
      while (*msg == ' ') msg++;
    }
    if (abp_refused[0] == '\0') {
      snprintf(abp_refused, sizeof(abp_refused), "%s", err.message);
    }
    CONF_ERROR(cmd, pstrdup(cmd->tmp_pool, msg));
  }
  return PR_HANDLED(cmd);
}

/* The agent */

static void agent_log(void *ctx, int level, const char *message) {
  (void) ctx;
  abp_log(level, "%s", message);
}

/* A pipe whose ends are above fds 0-2: `proftpd -n` closes stdin and
 * stdout before startup, and each session puts its connection on fds 0 and
 * 1, so a pipe there would be closed under us. */
static int pipe_above_stdio(int out[2]) {
  int raw[2];
  if (pipe(raw) < 0) {
    return -1;
  }
  out[0] = fcntl(raw[0], F_DUPFD_CLOEXEC, 3);
  out[1] = fcntl(raw[1], F_DUPFD_CLOEXEC, 3);
  close(raw[0]);
  close(raw[1]);
  if (out[0] < 0 || out[1] < 0) {
    if (out[0] >= 0) close(out[0]);
    if (out[1] >= 0) close(out[1]);
    return -1;
  }
  return 0;
}

/* Forks the agent as root. Sessions that start before it listens, or when
 * it cannot start, work alone (and say so in the log). */
static void start_agent(void) {
  if (abp_config == NULL || abp_config->agent_off || abp_config->agent_external ||
      ServerType != SERVER_STANDALONE ||
      abp_agent_pid > 0) {
    return;
  }
  /* fds[0..1]: the daemon's lifeline (agent reads); fds[2..3]: "ready". */
  int fds[4];
  if (pipe_above_stdio(fds) < 0 || pipe_above_stdio(fds + 2) < 0) {
    abp_log(AB_LOG_ERROR, "cannot start the agent: pipe: %s", strerror(errno));
    return;
  }
  uid_t daemon_uid = geteuid();
  pid_t daemon_pid = getpid();
  PRIVS_ROOT
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[1]);
    close(fds[2]);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != daemon_pid) {
      _exit(0); /* the daemon died before we set the signal */
    }
    ab_agent_options o = {
      .cfg = abp_config, .log = agent_log, .allowed_uid = daemon_uid, .parent_fd = fds[0],
      .ready_fd = fds[3],
    };
    ab_error err;
    if (ab_agent_run(&o, &err) < 0) {
      abp_log(AB_LOG_ERROR, "agent: %s", err.message);
      _exit(1);
    }
    _exit(0);
  }
  PRIVS_RELINQUISH
  close(fds[0]);
  close(fds[3]);
  if (pid < 0) {
    abp_log(AB_LOG_ERROR, "cannot start the agent: fork: %s", strerror(errno));
    close(fds[1]);
    close(fds[2]);
    return;
  }
  abp_agent_pid = pid;
  abp_agent_pipe = fds[1];
  /* Wait until it listens, so no session starts before it (it may wait up
   * to 10 s for a previous agent to release the state directory). */
  struct pollfd p = { .fd = fds[2], .events = POLLIN };
  char c;
  if (poll(&p, 1, 15000) <= 0 || read(fds[2], &c, 1) != 1) {
    abp_log(AB_LOG_ERROR, "the agent did not start (see the lines above); sessions work alone");
  }
  close(fds[2]);
}

/* Daemon timer: an agent that died (a crash, an OOM kill) is replaced, so
 * sessions are degraded for seconds, not until the next restart. */
static int abp_watch_cb(CALLBACK_FRAME) {
  if (abp_agent_pid > 0 && kill(abp_agent_pid, 0) < 0 && errno == ESRCH) {
    abp_log(AB_LOG_ERROR, "the agent (pid %ld) is gone; starting a new one", (long) abp_agent_pid);
    if (abp_agent_pipe >= 0) {
      close(abp_agent_pipe);
      abp_agent_pipe = -1;
    }
    abp_agent_pid = -1;
    start_agent();
  }
  return 1; /* keep the timer */
}

static void watch_agent(void) {
  if (abp_watch_timer < 0 && abp_agent_pid > 0) {
    abp_watch_timer = pr_timer_add(AGENT_WATCH_SECONDS, -1, &altinn_broker_module, abp_watch_cb,
                                   "altinn-broker agent watch");
  }
}

/* Tells the agent to exit (EOF on its pipe) and waits for it, so the next
 * one can take over the state directory. */
static void stop_agent(void) {
  if (abp_agent_pipe >= 0) {
    close(abp_agent_pipe);
    abp_agent_pipe = -1;
  }
  if (abp_agent_pid <= 0) {
    return;
  }
  for (int i = 0; i < 100; i++) {
    pid_t r = waitpid(abp_agent_pid, NULL, WNOHANG);
    if (r == abp_agent_pid || (r < 0 && errno == ECHILD)) {
      abp_agent_pid = -1;
      return;
    }
    pr_timer_usleep(100 * 1000);
  }
  abp_log(AB_LOG_ERROR, "the agent (pid %ld) did not exit in 10 s; killing it", (long) abp_agent_pid);
  kill(abp_agent_pid, SIGKILL);
  waitpid(abp_agent_pid, NULL, 0);
  abp_agent_pid = -1;
}

/* Events */

/* A bad configuration must stop the daemon with a failing exit status,
 * also for `proftpd -t` (pr_session_disconnect would exit 0). */
static void refuse_to_start(void) {
  pr_session_end(PR_SESS_END_FL_ERROR);
}

static void abp_postparse_ev(const void *event_data, void *user_data) {
  (void) event_data; (void) user_data;
  if (abp_refused[0] != '\0') {
    pr_log_pri(PR_LOG_ERR, "%s: configuration error: %s", MOD_ALTINN_BROKER_VERSION, abp_refused);
    refuse_to_start();
  }
  if (abp_config == NULL) {
    return;
  }
  ab_error err;
  int rc = ab_config_finish(abp_config, &err);
  if (rc == 0) {
    /* Keys are root-only files: read them now, in the daemon, so sessions
     * (unprivileged, chrooted) inherit the bytes and never open the files. */
    PRIVS_ROOT
    rc = ab_config_load_secrets(abp_config, &err);
    PRIVS_RELINQUISH
  }
  if (rc < 0) {
    pr_log_pri(PR_LOG_ERR, "%s: configuration error: %s", MOD_ALTINN_BROKER_VERSION, err.message);
    refuse_to_start();
  }
  if (abp_config->log_file != NULL && abp_log_fd < 0) {
    PRIVS_ROOT
    int res = pr_log_openfile(abp_config->log_file, &abp_log_fd, 0600);
    PRIVS_RELINQUISH
    if (res < 0) {
      pr_log_pri(PR_LOG_ERR, "%s: cannot open AltinnBrokerLog %s: %s", MOD_ALTINN_BROKER_VERSION,
                 abp_config->log_file,
                 res == PR_LOG_WRITABLE_DIR ? "its directory is world-writable" :
                 res == PR_LOG_SYMLINK ? "it is a symbolic link" : strerror(errno));
      refuse_to_start();
    }
  }
  if (abp_restarting || getenv(RESTART_ENV) != NULL) {
    /* SIGHUP: the new configuration gets a new agent. */
    abp_restarting = 0;
    unsetenv(RESTART_ENV);
    start_agent();
    watch_agent();
  }
}

/* Standalone daemon, after daemonizing, before any session (not for
 * `proftpd -t`, which ends before this). */
static void abp_startup_ev(const void *event_data, void *user_data) {
  (void) event_data; (void) user_data;
  start_agent();
  watch_agent();
}

static void abp_restart_ev(const void *event_data, void *user_data) {
  (void) event_data; (void) user_data;
  if (abp_watch_timer >= 0) {
    pr_timer_remove(abp_watch_timer, &altinn_broker_module);
    abp_watch_timer = -1;
  }
  stop_agent();
  abp_restarting = 1;
  /* mod_dso unloads and reloads the module on a restart, which resets every
   * static here; the environment survives to tell the new instance. */
  setenv(RESTART_ENV, "1", 1);
  /* The config is parsed again after a restart; start from scratch. */
  ab_config_free(abp_config);
  abp_config = NULL;
  abp_refused[0] = '\0';
  if (abp_log_fd >= 0) {
    close(abp_log_fd);
    abp_log_fd = -1;
  }
}

static void abp_exit_ev(const void *event_data, void *user_data) {
  (void) event_data; (void) user_data;
  ab_vfs_free(abp_vfs);
  abp_vfs = NULL;
}

/* Command handlers */

/* The user's groups as ProFTPD resolved them at login: the primary group
 * and every supplementary one. */
static ab_principal session_principal(pool *p) {
  ab_principal who = { .user = session.user };
  size_t n = (session.group != NULL) + (session.groups ? session.groups->nelts : 0);
  const char **groups = pcalloc(p, sizeof(char *) * (n + 1));
  size_t k = 0;
  if (session.group != NULL) {
    groups[k++] = session.group;
  }
  for (unsigned int i = 0; session.groups != NULL && i < session.groups->nelts; i++) {
    groups[k++] = ((char **) session.groups->elts)[i];
  }
  who.groups = groups;
  who.n_groups = k;
  return who;
}

MODRET abp_post_pass(cmd_rec *cmd) {
  if (abp_vfs == NULL) {
    return PR_DECLINED(cmd);
  }
  ab_error err;
  ab_principal who = session_principal(cmd->tmp_pool ? cmd->tmp_pool : cmd->pool);
  if (ab_vfs_login(abp_vfs, &who, &err) < 0) {
    abp_log(AB_LOG_ERROR, "session for %s refused: %s", session.user, err.message);
    /* A user who would see two organisations' files at one path, or whose
     * client cannot be set up, must not go on with the real disk in place
     * of the mounts. */
    pr_session_disconnect(&altinn_broker_module, PR_SESS_DISCONNECT_CONFIG_ACL,
                          "Altinn Broker mounts are misconfigured for this user");
    return PR_DECLINED(cmd);
  }
  ab_vfs_set_reporter(abp_vfs, abp_notes_report, NULL);
  /* After login and chroot: the mount paths are in the session's view, and
   * pr_fsio_chroot() will not rewrite them (see proftpd-fsio.md §7.11). */
  abp_fsio_register(abp_pool);
  return PR_DECLINED(cmd);
}

/* Before every command: the previous transfer's notes must not show up in
 * this command's ExtendedLog line. */
MODRET abp_pre_any(cmd_rec *cmd) {
  (void) cmd;
  if (abp_vfs != NULL) {
    abp_notes_clear();
  }
  return PR_DECLINED(cmd);
}

/* mod_sftp dispatches STOR/APPE to POST_CMD_ERR before closing the handle
 * of an upload whose client went away; on a normal CLOSE the close comes
 * first, so this only ever finds uploads that were abandoned. */
MODRET abp_stor_err(cmd_rec *cmd) {
  if (abp_vfs != NULL) {
    abp_fsio_abandon(cmd->arg);
  }
  return PR_DECLINED(cmd);
}

/* Initialization */

static int abp_init(void) {
  /* Once, in the daemon, before any fork: libcurl's global state. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pr_event_register(&altinn_broker_module, "core.postparse", abp_postparse_ev, NULL);
  pr_event_register(&altinn_broker_module, "core.restart", abp_restart_ev, NULL);
  pr_event_register(&altinn_broker_module, "core.startup", abp_startup_ev, NULL);
  return 0;
}

static int abp_sess_init(void) {
  /* Only the daemon keeps (and watches) the agent. */
  if (abp_watch_timer >= 0) {
    pr_timer_remove(abp_watch_timer, &altinn_broker_module);
    abp_watch_timer = -1;
  }
  if (abp_agent_pipe >= 0) {
    close(abp_agent_pipe);
    abp_agent_pipe = -1;
  }
  abp_agent_pid = -1;
  if (abp_config == NULL || abp_config->n_mounts == 0) {
    return 0;
  }
  abp_pool = make_sub_pool(session.pool);
  pr_pool_tag(abp_pool, MOD_ALTINN_BROKER_VERSION);
  pr_event_register(&altinn_broker_module, "core.exit", abp_exit_ev, NULL);
  /* Before authentication and chroot: open the spool directory and set up
   * HTTPS while the files they need are still reachable. */
  ab_error err;
  PRIVS_ROOT
  abp_vfs = ab_vfs_new(abp_config, core_log, NULL, &err);
  PRIVS_RELINQUISH
  if (abp_vfs == NULL) {
    abp_log(AB_LOG_ERROR, "cannot start a session: %s", err.message);
    /* Refuse the session rather than let uploads land on the real disk. */
    return -1;
  }
  if (ab_vfs_uses_agent(abp_vfs)) {
    /* The agent holds the keys and the Redis password: this process, soon
     * running as the user, keeps no key material. */
    ab_config_wipe_secrets(abp_config);
  }
  return 0;
}

static conftable abp_conftab[] = {
  { "AltinnBrokerEnvironment",     set_altinnbroker, NULL },
  { "AltinnBrokerPlatformURL",     set_altinnbroker, NULL },
  { "AltinnBrokerMaskinportenURL", set_altinnbroker, NULL },
  { "AltinnBrokerCACertificate",   set_altinnbroker, NULL },
  { "AltinnBrokerSpoolDir",        set_altinnbroker, NULL },
  { "AltinnBrokerStateDir",        set_altinnbroker, NULL },
  { "AltinnBrokerClient",          set_altinnbroker, NULL },
  { "AltinnBrokerMount",           set_altinnbroker, NULL },
  { "AltinnBrokerRateLimit",       set_altinnbroker, NULL },
  { "AltinnBrokerRedis",           set_altinnbroker, NULL },
  { "AltinnBrokerRedisUser",       set_altinnbroker, NULL },
  { "AltinnBrokerRedisPassword",   set_altinnbroker, NULL },
  { "AltinnBrokerRedisTLS",        set_altinnbroker, NULL },
  { "AltinnBrokerRedisCA",         set_altinnbroker, NULL },
  { "AltinnBrokerRedisPrefix",     set_altinnbroker, NULL },
  { "AltinnBrokerRedisTimeout",    set_altinnbroker, NULL },
  { "AltinnBrokerAgent",           set_altinnbroker, NULL },
  { "AltinnBrokerUpload",          set_altinnbroker, NULL },
  { "AltinnBrokerLog",             set_altinnbroker, NULL },
  { "AltinnBrokerMetricsFile",     set_altinnbroker, NULL },
  { NULL, NULL, NULL }
};

static cmdtable abp_cmdtab[] = {
  { PRE_CMD,      C_ANY,  G_NONE, abp_pre_any,   FALSE, FALSE, 0, NULL },
  { POST_CMD,     C_PASS, G_NONE, abp_post_pass, FALSE, FALSE, 0, NULL },
  { POST_CMD_ERR, C_STOR, G_NONE, abp_stor_err,  FALSE, FALSE, 0, NULL },
  { POST_CMD_ERR, C_APPE, G_NONE, abp_stor_err,  FALSE, FALSE, 0, NULL },
  { 0, NULL, NULL, NULL, 0, 0, 0, NULL }
};

module altinn_broker_module = {
  NULL, NULL,
  0x20,                       /* PR_MODULE_API_VERSION */
  "altinn_broker",            /* mod_altinn_broker.so, symbol altinn_broker_module */
  abp_conftab,
  abp_cmdtab,
  NULL,
  abp_init,
  abp_sess_init,
  MOD_ALTINN_BROKER_VERSION,
  NULL, 0                     /* handle, priority: set by ProFTPD */
};
