/* emu_main.c - altinn-emulator: one HTTPS server that plays Maskinporten,
 * Altinn token exchange, Broker API v1 and Altinn Events for the tests,
 * benchmarks and demo (README.md in this directory).
 *
 *   altinn-emulator --config FILE [--port N] [--data-dir DIR]
 *
 * Prints exactly "altinn-emulator listening on https://127.0.0.1:PORT" on
 * stdout once it accepts connections (scripts wait for that line; with
 * --port 0 it carries the port the kernel chose), and exits 0 on SIGTERM
 * or SIGINT.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "emu_auth.h"
#include "emu_clock.h"
#include "emu_config.h"
#include "emu_events.h"
#include "emu_faults.h"
#include "emu_http.h"
#include "emu_ratelimit.h"
#include "emu_registry.h"
#include "emu_stats.h"
#include "emu_store.h"
#include "emu_worker.h"

static void usage(FILE *f)
{
  fprintf(f, "usage: altinn-emulator --config FILE [--port N] [--data-dir DIR]\n");
}

int main(int argc, char **argv)
{
  const char *config_path = NULL, *data_dir = NULL;
  int port = -1;
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"port", required_argument, NULL, 'p'},
      {"data-dir", required_argument, NULL, 'd'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "c:p:d:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      config_path = optarg;
      break;
    case 'p': {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || v < 0 || v > 65535) {
        fprintf(stderr, "altinn-emulator: bad --port %s\n", optarg);
        return 2;
      }
      port = (int)v;
      break;
    }
    case 'd':
      data_dir = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (!config_path || optind != argc) {
    usage(stderr);
    return 2;
  }

  /* Signals are taken synchronously by sigwait in this thread; every thread
   * started below inherits the mask. SIGPIPE is ignored: a client that goes
   * away mid-response must not kill the server. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  emu_clock_init(1.0); /* before the config: the clockSpeed knob re-anchors it */
  emu_config *cfg = emu_config_load(config_path, port, data_dir);
  if (!cfg)
    return 1;
  int rc = 1;
  struct MHD_Daemon *d = NULL;
  bool events = false, worker = false;
  if (emu_store_init(cfg->data_dir) != 0 || emu_auth_init(cfg) != 0 ||
      emu_registry_init(cfg) != 0)
    goto out;
  d = emu_http_start(cfg);
  if (!d)
    goto out;
  if (emu_events_init(cfg) != 0)
    goto out;
  events = true;
  if (emu_worker_start() != 0)
    goto out;
  worker = true;

  printf("altinn-emulator listening on https://%s:%d\n", cfg->listen_address, cfg->port);
  fflush(stdout);

  int sig = 0;
  sigwait(&set, &sig);
  rc = 0;
out:
  if (d)
    MHD_stop_daemon(d);
  if (worker)
    emu_worker_stop();
  if (events)
    emu_events_shutdown();
  emu_store_shutdown();
  emu_registry_shutdown();
  emu_auth_shutdown();
  emu_stats_reset();
  emu_ratelimit_reset();
  emu_faults_clear();
  emu_config_free(cfg);
  return rc;
}
