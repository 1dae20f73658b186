/* ab_redis.h - one connection to a Redis server: TCP or TLS (OpenSSL),
 * AUTH, and commands with a deadline.
 *
 * hiredis (Debian's 0.14) is used for what it does well, formatting
 * commands (RESP) and parsing replies; the socket, TLS and timeouts are
 * ours, because that hiredis has no TLS and blocks without a deadline on
 * some paths. Not thread-safe: one user at a time (ab_store_redis holds a
 * mutex around it).
 */
#ifndef AB_REDIS_H
#define AB_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "ab_error.h"

typedef struct ab_redis ab_redis;

typedef struct ab_redis_options {
  const char *host;
  int port;
  const char *user;        /* NULL: AUTH with the password only */
  const char *password;    /* NULL: no AUTH */
  int tls;
  const char *ca_pem;      /* NULL: the system's trust store */
  size_t ca_pem_len;
  int timeout_ms;          /* connect, and each command's reply */
} ab_redis_options;

/* Connects (and authenticates). NULL with err (errno EAGAIN for network
 * failures and timeouts, EACCES for a refused AUTH, EPROTO for TLS
 * verification failures). The options' strings are copied. */
ab_redis *ab_redis_connect(const ab_redis_options *opts, ab_error *err);
void ab_redis_close(ab_redis *r);

/* Sends one command and waits for its reply (free with freeReplyObject).
 * NULL with err on a network failure or timeout (errno EAGAIN; the
 * connection is then unusable: close it). A Redis error reply is returned
 * as a reply of type REDIS_REPLY_ERROR, not as a failure. */
redisReply *ab_redis_command(ab_redis *r, int argc, const char **argv, ab_error *err);

#endif
