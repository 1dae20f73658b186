/* ab_config_outbox.h - settings for uploads: the outbox options of an
 * AltinnBrokerMount and the AltinnBrokerUpload directive.
 *
 *   AltinnBrokerMount /outbox ... direction=outbox
 *       [max-size=<size>]                 refuse larger files before sending anything
 *       [resend=allow|refuse]             a name already sent (default allow)
 *       [duplicates=send|refuse]          same bytes to the same recipients within the
 *                                         window: sent again, logged and marked in the
 *                                         receipt (default), or refused at CLOSE
 *       [duplicate-window=<duration>]     how far back duplicates count (default 24h, 0 = off)
 *       [temp-names=<glob>[,<glob>]|none] names spooled but sent only when renamed
 *                                         (default *.filepart,.in.* - WinSCP, ProFTPD
 *                                         HiddenStores ".in.NAME.", lftp ".in.NAME")
 *       [recipient-dirs=no|any|<org>[,<org>]]  /outbox/<org>/NAME sends to that org
 *       [sidecars=no|yes]                 NAME.properties carries NAME's propertyList
 *       [reference=<template>]            sendersFileTransferReference (default sftp:%u:%t:%n)
 *       [receipts=yes|no]                 the read-only receipts directory <mount>/sent
 *
 *   AltinnBrokerUpload [tus-above=<size>] [chunk=<size>] [parallel=<n>]
 *       [retries=<n>] [retry-delay=<duration>] [retry-max-wait=<duration>]
 *       [connect-timeout=<duration>] [stall-timeout=<duration>]
 *       [pipeline=off|on]                 on: a file of tus-above or more is sent
 *                                         while the client still writes it (see
 *                                         ab_outbox_stream.c for what that gives up)
 *
 * Sizes take K, M, G, T suffixes (powers of 1024); durations ms, s, m, h, d
 * (a bare number is seconds).
 */
#ifndef AB_CONFIG_OUTBOX_H
#define AB_CONFIG_OUTBOX_H

#include <stddef.h>

#include "ab_error.h"

enum { AB_RESEND_ALLOW = 0, AB_RESEND_REFUSE = 1 };
enum { AB_DUPLICATES_SEND = 0, AB_DUPLICATES_REFUSE = 1 };
enum { AB_RECIPIENT_DIRS_NO = 0, AB_RECIPIENT_DIRS_ANY = 1, AB_RECIPIENT_DIRS_LISTED = 2 };

typedef struct ab_outbox_cfg {
  long long max_size;          /* bytes; 0 = only the Broker's own limits */
  int resend;                  /* AB_RESEND_* */
  int duplicates;              /* AB_DUPLICATES_* */
  long long duplicate_window_s;/* 0 = no duplicate detection */
  char **temp_patterns;        /* fnmatch globs */
  size_t n_temp_patterns;
  int recipient_dirs;          /* AB_RECIPIENT_DIRS_* */
  char **recipient_dir_orgs;   /* 9-digit numbers, for AB_RECIPIENT_DIRS_LISTED */
  size_t n_recipient_dir_orgs;
  int sidecars;
  char *reference;             /* template: %u user, %n name, %t UTC time, %i upload id, %% */
  int receipts;
} ab_outbox_cfg;

typedef struct ab_upload_cfg {
  long long tus_above;         /* files of at least this many bytes go by TUS */
  long long chunk;             /* bytes per TUS PATCH */
  int parallel;                /* TUS partial uploads in parallel, at most */
  int retries;                 /* further attempts after a failure that is safe to repeat */
  long long retry_delay_ms;    /* first backoff; doubles, with jitter */
  long long retry_max_wait_ms; /* longest single wait, also for Retry-After */
  long long connect_timeout_ms;
  long long stall_timeout_ms;  /* no progress for this long aborts a request */
  int pipeline;                /* send while the client writes (ab_outbox_stream.c) */
} ab_upload_cfg;

/* Fills the defaults (documented above). Returns -1 on OOM. */
int ab_outbox_cfg_init(ab_outbox_cfg *o);
void ab_outbox_cfg_free(ab_outbox_cfg *o);
void ab_upload_cfg_init(ab_upload_cfg *u);

/* Applies one key=value of an outbox mount. Returns 1 when applied, 0
 * when key is not an outbox option, -1 with err (prefixed by source) when
 * the value is wrong. */
int ab_outbox_cfg_option(ab_outbox_cfg *o, const char *key, const char *value,
                         const char *source, ab_error *err);

/* Applies an AltinnBrokerUpload directive (argv: key=value words). */
int ab_upload_cfg_directive(ab_upload_cfg *u, int argc, const char *const *argv,
                            const char *source, ab_error *err);

/* Parses "64M" (powers of 1024) into bytes; -1 when malformed. */
long long ab_parse_size(const char *s);

/* Parses "500ms", "30s", "5m", "24h", "7d" or "30" (seconds) into
 * milliseconds; -1 when malformed. */
long long ab_parse_duration_ms(const char *s);

#endif
