/* emu_store.h - file transfers: metadata in memory, bytes on disk.
 *
 * One process-wide store behind one mutex (emu_store_lock). Every function
 * taking an emu_transfer must be called with the lock held, and transfer
 * pointers are only valid while it is held: reset frees them. File bytes
 * live in <dataDir>/<fileTransferId>.bin and are never read into memory
 * whole; uploads stream to a private temp file and are renamed into place.
 */
#ifndef EMU_STORE_H
#define EMU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "emu_config.h"

/* fileTransferStatus (broker-api.md §6.1), numeric values as the Broker's */
enum {
  EMU_FT_INITIALIZED = 0,
  EMU_FT_UPLOAD_STARTED = 1,
  EMU_FT_UPLOAD_PROCESSING = 2,
  EMU_FT_PUBLISHED = 3,
  EMU_FT_CANCELLED = 4,
  EMU_FT_ALL_CONFIRMED = 5,
  EMU_FT_PURGED = 6,
  EMU_FT_FAILED = 7,
  EMU_FT_COUNT
};

/* recipient status (§6.2) */
enum { EMU_RS_INITIALIZED = 0, EMU_RS_DOWNLOAD_STARTED = 1, EMU_RS_DOWNLOAD_CONFIRMED = 2, EMU_RS_COUNT };

typedef struct emu_status_entry {
  int status;
  char *text;               /* detail text, NULL = default text */
  int64_t at;
} emu_status_entry;

typedef struct emu_rstatus_entry {
  size_t recipient;         /* index into recipients */
  int status;
  int64_t at;
  char vendor[16];          /* org of the calling client (statistics), "" = none */
} emu_rstatus_entry;

typedef struct emu_recipient {
  char *id;                 /* normalised "0192:<orgnr>" */
  char org[16];
  int status;               /* highest reached */
  int64_t changed;
  int64_t last_download_started; /* debounce ranged downloads (5 min) */
} emu_recipient;

typedef struct emu_transfer {
  char id[37];
  uint64_t seq;             /* creation order, tie-break for equal timestamps */
  const emu_resource *resource;
  char *file_name;
  char *ref;                /* sendersFileTransferReference */
  char *sender;             /* exactly as given */
  char sender_org[16];
  char sender_vendor[16];   /* org of the client that initialized it (statistics) */
  emu_recipient *recipients;
  size_t nrecipients;
  cJSON *property_list;     /* object string -> string */
  char checksum[33];        /* as given at initialize (lower-case) or filled after upload; "" = none */
  bool checksum_given;
  bool use_virus_scan;
  int64_t size;
  char stored_md5[33];      /* MD5 of the stored bytes, "" before upload */
  int status;
  char *status_text;        /* detail text of the current status, NULL = default */
  int64_t created, status_changed, expiration, published;
  int64_t processing_due;   /* UploadProcessing -> result at this emulated time */
  int64_t purge_due;        /* grace purge after AllConfirmedDownloaded, 0 = none */
  emu_status_entry *hist;
  size_t nhist, caphist;
  emu_rstatus_entry *rhist;
  size_t nrhist, caprhist;
  bool has_file;
  int uploads_active;       /* streamed/TUS uploads currently writing */
  int64_t last_upload_activity; /* emulated time of the last upload byte (stuck-upload job) */
  struct emu_tus *tus;      /* emu_tus.c state, NULL when no TUS upload */
} emu_transfer;

int emu_store_init(const char *data_dir);
void emu_store_shutdown(void);
void emu_store_lock(void);
void emu_store_unlock(void);

/* New transfer in Initialized, created = now (lock held). */
emu_transfer *emu_store_new(const emu_resource *res);
emu_transfer *emu_store_get(const char *id);
size_t emu_store_count(void);
emu_transfer *emu_store_at(size_t i);

/* Status change with history entry (detail NULL = default text). Also
 * stamps `published` and emits the matching events. */
void emu_store_set_status(emu_transfer *t, int status, const char *detail);
/* Recipient status change with history, made by vendor (the calling
 * client's org, NULL = none); the current status never goes down. */
void emu_store_set_recipient_status(emu_transfer *t, size_t idx, int status, const char *vendor);
/* Index of the recipient whose org is org, or -1. */
long emu_store_recipient_index(const emu_transfer *t, const char *org);

/* <dataDir>/<id>.bin (malloc'ed), and a fresh private temp path for an
 * upload to transfer id (a GUID; one that does not exist yet is fine). */
char *emu_store_file_path(const emu_transfer *t);
char *emu_store_temp_path(const char *id);
void emu_store_delete_file(emu_transfer *t);
/* Deletes the bytes and sets Purged (emits filepurged/neverconfirmed events). */
void emu_store_purge(emu_transfer *t);

/* Forgets every transfer and deletes their files. */
void emu_store_reset(void);

const char *emu_ft_status_name(int status);
const char *emu_ft_status_text(int status);
const char *emu_rs_status_name(int status);
const char *emu_rs_status_text(int status);
/* Parses an enum query value: name (any case) or number; -1 if invalid. */
int emu_ft_status_parse(const char *s);
int emu_rs_status_parse(const char *s);

#endif
