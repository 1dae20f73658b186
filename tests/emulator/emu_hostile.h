/* emu_hostile.h - replies rewritten to be hostile (POST /_emulator/hostile).
 *
 * Faults (emu_faults.h) make a request fail; hostile rules make it succeed
 * with a reply a careless client would trust: a fileName with "/" or "..",
 * a negative or wrong fileTransferSize, malformed JSON, a body of many MiB.
 * A rule matches an endpoint name (and optionally one fileTransferId) and
 * rewrites the next `count` JSON/text replies of that endpoint:
 *
 *   {"endpoint":"overview", "id":"<guid>", "count":1,
 *    "set":    {"fileName":"../../etc/passwd", "fileTransferSize":-1},
 *                               members replaced/added in an object reply
 *    "append": ["../x", 5],     items added to an array reply (search)
 *    "body":   "{\"fileTr",     the whole body replaced (malformed JSON...)
 *    "contentType": "text/html", "status": 200,   optional, with "body"
 *    "padBytes": 20000000}      that many spaces before the body: valid
 *                               JSON, but bigger than any client buffer
 *
 * {"clear":true} removes every rule; POST /_emulator/reset does too.
 * Streamed bodies (downloads) are not rewritten. */
#ifndef EMU_HOSTILE_H
#define EMU_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>

#include "emu_http.h"

/* Adds one rule or an array of them, or clears on {"clear":true}. Returns
 * false with a message in err when the request is malformed. */
bool emu_hostile_post(const cJSON *j, char *err, size_t errlen);
void emu_hostile_clear(void);
cJSON *emu_hostile_json(void);

/* Called by emu_reply for every reply of a faultable endpoint: when a rule
 * matches r, takes one use of it and returns the rewritten body (malloc'ed,
 * length in *out_len), possibly changing *status and ctype (a buffer of
 * ctype_len bytes holding the original). NULL: reply unchanged. */
char *emu_hostile_apply(const emu_request *r, unsigned *status, char *ctype, size_t ctype_len,
                        const char *body, size_t len, size_t *out_len);

#endif
