/* emu_tus.h - resumable uploads, TUS 1.0.0 (broker-api.md §4).
 *
 * Base URL /broker/api/v1/filetransfer/upload/tus/{fileTransferId}; partial
 * uploads for concatenation live at .../{id}/partial/{32-hex id}. Bytes
 * are appended straight to files in the data dir and MD5 is updated as
 * they arrive (appends are strictly sequential in TUS), so completion needs
 * no second pass over a single upload; a concatenated upload is stitched
 * and hashed by a background thread, as the service's finalisation job is.
 */
#ifndef EMU_TUS_H
#define EMU_TUS_H

struct emu_tus;

/* Frees the TUS state of a transfer and deletes its partial files (store lock held). */
void emu_tus_free(struct emu_tus *tus);

#endif
