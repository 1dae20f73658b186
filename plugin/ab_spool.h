/* ab_spool.h - an upload being received: bytes on disk, never in memory.
 *
 * The client's WRITEs land in an anonymous file (O_TMPFILE) in the spool
 * directory, at any offset and in any order. The spool also keeps what the
 * CLOSE needs to know without a second look at the bytes:
 *  - which byte ranges were written, so a file with a hole (a resumed
 *    upload that never sent the start, a client that skipped a block) is
 *    refused instead of being sent with zeros in it;
 *  - the MD5 of the file, computed while the writes arrive in order. A
 *    write ahead of the hashed prefix is only recorded; once the prefix
 *    reaches it, those bytes are read back from the spool (still in the
 *    page cache) and hashed. Only a write that changes bytes already
 *    hashed forces a full pass over the spool at the end.
 */
#ifndef AB_SPOOL_H
#define AB_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

#include "ab_error.h"

typedef struct ab_spool ab_spool;

/* Creates an empty spool file in the directory dirfd (opened with O_PATH
 * before any chroot); dir_name is only for messages. limit > 0 makes any
 * write past limit bytes fail with EFBIG and limit_message (a printf-free
 * sentence naming the limit, copied). */
ab_spool *ab_spool_new(int dirfd, const char *dir_name, long long limit,
                       const char *limit_message, ab_error *err);
void ab_spool_free(ab_spool *s);

/* The file descriptor (for reading the bytes back to send them). */
int ab_spool_fd(const ab_spool *s);

/* Writes len bytes at off. Returns len, or -1 with err: ENOSPC when the
 * spool disk is full, EFBIG past the limit, EIO otherwise. */
ssize_t ab_spool_pwrite(ab_spool *s, const void *buf, size_t len, off_t off,
                        ab_error *err);

/* Size of the file: one past the highest byte written. */
long long ab_spool_size(const ab_spool *s);

/* Offset of the first byte in [0, size) never written, or -1 when the
 * file is whole. */
long long ab_spool_first_gap(const ab_spool *s);

/* How many bytes from the start are written without a gap. */
long long ab_spool_written_prefix(const ab_spool *s);

/* From now on the MD5 is computed by a helper thread that reads the
 * written prefix back from the spool (page cache), so the WRITEs only
 * write. For the pipelined mode, where the session's own thread also
 * sends the bytes; the default keeps the single-threaded hashing above,
 * which reads nothing twice. ab_spool_md5 waits for the thread and ends
 * it. Returns -1 (hashing stays in the writes) if no thread could start. */
int ab_spool_hash_behind(ab_spool *s);

/* Completes the MD5 (lower-case hex into md5) of a whole file. Fails with
 * ENODATA when the file has a gap (see ab_spool_first_gap), EIO when the
 * spool cannot be read back. */
int ab_spool_md5(ab_spool *s, char md5[33], ab_error *err);

/* Bytes that had to be read back from the spool to compute the MD5 so
 * far (0 when every write came in order). For logs and tests. */
long long ab_spool_reread_bytes(const ab_spool *s);

#endif
