/* emu_worker.h - the Broker's background jobs: finishing UploadProcessing
 * (clean -> Published, malware marker -> Failed), expiry purge and the
 * purge grace period after AllConfirmedDownloaded (broker-api.md §6.3).
 * Runs on the emulated clock. */
#ifndef EMU_WORKER_H
#define EMU_WORKER_H

int emu_worker_start(void);
void emu_worker_stop(void);

#endif
