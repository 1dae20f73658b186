/* ab_multi_thread.h - a helper thread that drives a libcurl multi handle.
 *
 * A session sending a file while its client is still writing it would
 * otherwise spend its one thread on TLS and socket copies between WRITEs.
 * The helper runs curl_multi_perform/curl_multi_poll on the handle's
 * transfers; the owner keeps every decision (which requests to start,
 * what a finished one means) and touches the multi handle only between
 * ab_multi_thread_lock and ab_multi_thread_unlock.
 *
 * Everything the transfers share with other threads must be thread-safe:
 * their callbacks run on the helper, and a CURLSH they use needs lock
 * callbacks (ab_http sets them).
 */
#ifndef AB_MULTI_THREAD_H
#define AB_MULTI_THREAD_H

#include <curl/curl.h>

typedef struct ab_multi_thread ab_multi_thread;

/* Called on the helper, with the multi handle held, for each message
 * curl_multi_info_read returns. */
typedef void (*ab_multi_done_fn)(CURLMsg *msg, void *ctx);

/* Called on the helper, with the multi handle held, before each round of
 * curl_multi_perform: the owner's chance to have the helper act on a
 * request it posted without taking the handle (resume a paused transfer,
 * say), after waking it with curl_multi_wakeup. */
typedef void (*ab_multi_tick_fn)(void *ctx);

/* Starts driving multi. NULL when no thread can be started: the owner then
 * drives the handle itself. The helper has every signal blocked. tick may
 * be NULL. */
ab_multi_thread *ab_multi_thread_start(CURLM *multi, ab_multi_done_fn done,
                                       ab_multi_tick_fn tick, void *ctx);

/* Takes the multi handle from the helper (interrupting its poll), and
 * hands it back; the helper then picks up transfers added meanwhile. */
void ab_multi_thread_lock(ab_multi_thread *t);
void ab_multi_thread_unlock(ab_multi_thread *t);

/* What the helper's last curl_multi_perform/poll returned (CURLM_OK while
 * it works); after a failure it stops driving. Call with the handle held. */
CURLMcode ab_multi_thread_failure(const ab_multi_thread *t);

/* Stops and joins the helper: the multi handle, with its transfers still
 * running, is the owner's alone again. NULL is ignored. */
void ab_multi_thread_stop(ab_multi_thread *t);

#endif
