/* ab_receipts.h - receipts: a read-only JSON file per sent upload, in the
 * outbox's "sent" directory, that says what became of it.
 *
 *   /outbox/sent/NAME.json            the newest upload of NAME
 *   /outbox/sent/NAME~<id8>.json      earlier uploads of the same name
 *
 * {"fileName", "path", "fileTransferId", "status", "statusText", "size",
 *  "md5", "sendersFileTransferReference", "sent", "checked",
 *  "recipients": [{"recipient", "status"}], "duplicateOf"?, "final"}
 *
 * "status" is the Broker's fileTransferStatus (Published, UploadProcessing,
 * Failed - e.g. by the malware scan -, AllConfirmedDownloaded, Purged) and
 * each recipient's status (Initialized, DownloadStarted, DownloadConfirmed)
 * as last read from the transfer's overview; "checked" says when. "final"
 * is true once nothing can change any more.
 */
#ifndef AB_RECEIPTS_H
#define AB_RECEIPTS_H

#include <stddef.h>
#include <time.h>

#include "ab_broker.h"
#include "ab_journal.h"

/* The shortest time between two overviews of one transfer. */
#define AB_RECEIPT_REFRESH_S 5

/* The receipt file name of list[i] (list newest first, as from
 * ab_journal_list). out must hold 300 bytes. */
void ab_receipt_name(const ab_journal_entry *list, size_t n, size_t i, char *out, size_t outsz);

/* Index of the entry whose receipt is called name, or -1. */
long ab_receipt_find(const ab_journal_entry *list, size_t n, const char *name);

/* The receipt's JSON text (malloc'ed, ends with a newline), or NULL on OOM.
 * mount_path gives the "path" the file was sent as. */
char *ab_receipt_render(const ab_journal_entry *e, const char *mount_path);

/* 1 when the status may still change and was last read at least
 * AB_RECEIPT_REFRESH_S before now. */
int ab_receipt_stale(const ab_journal_entry *e, time_t now);

/* Takes the status, status text and recipients' statuses from an
 * overview into e, stamped `now`. */
void ab_receipt_apply(ab_journal_entry *e, const ab_transfer *t, time_t now);

#endif
