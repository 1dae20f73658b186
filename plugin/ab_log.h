/* ab_log.h - the log sink the gateway gives the core.
 *
 * The gateway decides where messages go (ProFTPD: AltinnBrokerLog or its
 * own log; the CLI: stderr). Messages are single lines and never carry a
 * secret: no key, password, assertion or token, at any level.
 */
#ifndef AB_LOG_H
#define AB_LOG_H

/* level is one of AB_LOG_* */
enum { AB_LOG_ERROR = 0, AB_LOG_NOTICE = 1, AB_LOG_INFO = 2, AB_LOG_DEBUG = 3 };
typedef void (*ab_log_fn)(void *ctx, int level, const char *message);

#endif
