/* cli_output.c - what the transfer commands show besides their errors: a
 * progress line on a terminal for long transfers, and with --json one
 * object per transfer (the core's ab_report: fileTransferId, outcome,
 * bytes) so scripts need not parse text. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void human_size(double bytes, char *out, size_t size) {
  static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    u++;
  }
  snprintf(out, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void cli_progress_start(cli_context *ctx, cli_progress *p, const char *label, long long total) {
  memset(p, 0, sizeof(*p));
  /* Only for a person watching: not in scripts, pipes or --json. */
  p->active = !ctx->json && isatty(STDERR_FILENO);
  p->label = label;
  p->total = total;
  p->start = now_seconds();
}

static void draw(cli_progress *p, int final) {
  double t = now_seconds();
  if (!final && t - p->last_draw < 0.1) {
    return;
  }
  p->last_draw = t;
  char done[32], total[32], rate[32];
  human_size((double) p->done, done, sizeof(done));
  human_size((double) p->total, total, sizeof(total));
  double elapsed = t - p->start;
  human_size(elapsed > 0 ? (double) p->done / elapsed : 0, rate, sizeof(rate));
  fprintf(stderr, "\r%s  %3.0f%%  %s of %s  %s/s  ", p->label,
          p->total > 0 ? 100.0 * (double) p->done / (double) p->total : 100.0, done, total, rate);
  if (final) {
    fputc('\n', stderr);
  }
  fflush(stderr);
  p->drawn = 1;
}

void cli_progress_update(cli_progress *p, long long done) {
  p->done = done;
  if (p->active) {
    draw(p, 0);
  }
}

void cli_progress_upload(void *ctx, long long sent, long long total) {
  cli_progress *p = ctx;
  (void) total;
  /* A large file goes up in several requests (TUS chunks), each counted
   * from 0: add what this one sent since the last call. */
  p->done += sent >= p->request_sent ? sent - p->request_sent : sent;
  p->request_sent = sent;
  if (p->active) {
    draw(p, 0);
  }
}

void cli_progress_end(cli_progress *p) {
  if (p->active && p->drawn) {
    draw(p, 1);
  }
}

static void collect(void *c, const ab_report *r) {
  cli_context *ctx = c;
  if (ctx->reports == NULL) {
    ctx->reports = cJSON_CreateArray();
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "op", r->op);
  cJSON_AddStringToObject(o, "outcome", r->outcome);
  cJSON_AddStringToObject(o, "mount", r->mount);
  cJSON_AddStringToObject(o, "name", r->name);
  cJSON_AddStringToObject(o, "fileTransferId", r->file_transfer_id);
  cJSON_AddStringToObject(o, "org", r->org);
  cJSON_AddStringToObject(o, "resource", r->resource);
  cJSON_AddNumberToObject(o, "bytes", (double) r->bytes);
  if (r->cause[0] != '\0') {
    cJSON_AddStringToObject(o, "cause", r->cause);
    cJSON_AddStringToObject(o, "error", r->reason);
  }
  cJSON_AddItemToArray(ctx->reports, o);
}

void cli_watch(cli_context *ctx, ab_vfs *vfs) {
  ab_vfs_set_reporter(vfs, collect, ctx);
}

void cli_print_reports(cli_context *ctx) {
  if (ctx->json) {
    char *text = cJSON_Print(ctx->reports != NULL ? ctx->reports : cJSON_CreateArray());
    printf("%s\n", text ? text : "[]");
    cJSON_free(text);
  }
  cJSON_Delete(ctx->reports);
  ctx->reports = NULL;
}
