/* fuzz_problem.c - error replies: Broker ProblemDetails (ab_problem.c) and
 * Maskinporten OAuth errors (ab_maskinporten_set_error).
 *
 * Input: [status shape][header shape][body...]. Invariants: parsed fields
 * are terminated and the code is printable; every resulting ab_error has an
 * errno and a one-line printable message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ab_http.h"
#include "ab_maskinporten.h"
#include "ab_problem.h"
#include "fuzz_fake_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  static const long statuses[] = { 400, 401, 403, 404, 409, 413, 416, 429, 500, 503, 418, 302 };
  static const char *const ctypes[] = { "application/problem+json", "text/plain",
                                        "text/plain; charset=utf-8", "text/html", "" };
  ab_http_response resp;
  memset(&resp, 0, sizeof(resp));
  resp.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
  strcpy(resp.content_type, ctypes[data[1] % (sizeof(ctypes) / sizeof(ctypes[0]))]);
  if (data[1] & 0x80) {
    strcpy(resp.retry_after, "30");
  }
  /* A real reply body is NUL-terminated after body_len; so is this one. */
  resp.body_len = size - 2;
  resp.body = malloc(resp.body_len + 1);
  if (resp.body == NULL) {
    abort();
  }
  memcpy(resp.body, data + 2, resp.body_len);
  resp.body[resp.body_len] = '\0';

  ab_problem p;
  ab_problem_parse(resp.body, resp.body_len, &p);
  fuzz_check_terminated(p.code, sizeof(p.code));
  fuzz_check_terminated(p.title, sizeof(p.title));
  fuzz_check_terminated(p.detail, sizeof(p.detail));
  for (const unsigned char *c = (const unsigned char *) p.code; *c != '\0'; c++) {
    if (*c <= ' ' || *c > '~') {
      abort();
    }
  }

  ab_error err;
  ab_problem_set_error(&err, "overview", &resp);
  fuzz_check_error(&err);
  ab_maskinporten_set_error(&err, "11111111-1111-4111-8111-111111111111", &resp);
  fuzz_check_error(&err);
  free(resp.body);
  return 0;
}
