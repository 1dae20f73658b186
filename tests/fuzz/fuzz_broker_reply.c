/* fuzz_broker_reply.c - Broker replies, as the Broker client sees them.
 *
 * Input: [operation][status shape][header shape][body...]. The real
 * ab_broker_* calls run against a fake HTTP layer that answers with the
 * body (fuzz_fake_http.c), so status handling, ProblemDetails mapping and
 * the wire parsers (ab_broker_wire.c, ab_problem.c, ab_json.c) all see it.
 * Invariants: a success carries only GUID-shaped ids and bounded strings;
 * a failure carries an errno and a one-line printable message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_broker.h"
#include "ab_broker_wire.h"
#include "fuzz_fake_http.h"

static void check_transfer(const ab_transfer *t) {
  if (!ab_broker_valid_id(t->id)) {
    abort();
  }
  fuzz_check_terminated(t->resource_id, sizeof(t->resource_id));
  fuzz_check_terminated(t->file_name, sizeof(t->file_name));
  fuzz_check_terminated(t->sender, sizeof(t->sender));
  fuzz_check_terminated(t->status, sizeof(t->status));
  fuzz_check_terminated(t->status_text, sizeof(t->status_text));
  fuzz_check_terminated(t->checksum, sizeof(t->checksum));
  fuzz_check_terminated(t->senders_reference, sizeof(t->senders_reference));
  if (t->size < -1) {
    abort(); /* negative sizes are "unknown" (-1), nothing else */
  }
  if (t->n_recipients > 0 && t->recipients == NULL) {
    abort();
  }
  for (size_t i = 0; i < t->n_recipients; i++) {
    fuzz_check_terminated(t->recipients[i].recipient, sizeof(t->recipients[i].recipient));
    fuzz_check_terminated(t->recipients[i].status, sizeof(t->recipients[i].status));
  }
  for (size_t i = 0; i < t->n_properties; i++) {
    if (t->properties[i].key == NULL || t->properties[i].value == NULL) {
      abort();
    }
  }
}

static void check_ids(char (*ids)[AB_ID_LEN], size_t n) {
  if (n > 0 && ids == NULL) {
    abort();
  }
  for (size_t i = 0; i < n; i++) {
    if (!ab_broker_valid_id(ids[i])) {
      abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) {
    return 0;
  }
  const char *body = (const char *) data + 3;
  size_t len = size - 3;
  fuzz_http_set_reply(data[1], data[2], data + 3, len);
  static const char id[] = "0b6b4c5e-1d2a-4c3b-9e8f-123456789abc";
  ab_broker b = { .base_url = "https://platform.invalid/", .http = NULL, .auth = NULL };
  ab_error err;
  ab_error_clear(&err);
  int rc = 0;
  switch (data[0] % 6) {
  case 0: {
    ab_transfer t;
    rc = ab_broker_overview(&b, id, &t, &err);
    if (rc == 0) {
      check_transfer(&t);
    }
    ab_transfer_clear(&t);
    break;
  }
  case 1: {
    char (*ids)[AB_ID_LEN] = NULL;
    size_t n = 0;
    ab_search q = { .resource_id = "demo-resource", .status = "Published", .role = "Recipient" };
    rc = ab_broker_search(&b, &q, &ids, &n, &err);
    if (rc == 0) {
      check_ids(ids, n);
    }
    free(ids);
    break;
  }
  case 2: {
    const char *recipients[] = { "0192:312345678" };
    ab_transfer_init in = {
      .file_name = "report.xml", .resource_id = "demo-resource", .sender = "0192:999888777",
      .recipients = recipients, .n_recipients = 1, .senders_reference = "fuzz",
    };
    char out[AB_ID_LEN];
    rc = ab_broker_initialize(&b, &in, out, &err);
    if (rc == 0 && !ab_broker_valid_id(out)) {
      abort();
    }
    break;
  }
  case 3:
    rc = ab_broker_confirm(&b, id, &err);
    break;
  case 4: {
    /* The wire parsers on their own, with any length. */
    ab_transfer t;
    if (ab_broker_parse_overview(body, len, &t, &err) == 0) {
      check_transfer(&t);
    } else {
      fuzz_check_error(&err);
    }
    ab_transfer_clear(&t);
    char (*ids)[AB_ID_LEN] = NULL;
    size_t n = 0;
    if (ab_broker_parse_search(body, len, &ids, &n, &err) == 0) {
      check_ids(ids, n);
    } else {
      fuzz_check_error(&err);
    }
    free(ids);
    char one[AB_ID_LEN];
    if (ab_broker_parse_id(body, len, one, &err) == 0 && !ab_broker_valid_id(one)) {
      abort();
    }
    return 0;
  }
  default: {
    /* Untrusted ids must never make a URL. */
    char text[64];
    size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
    memcpy(text, body, n);
    text[n] = '\0';
    char *url = ab_broker_url("https://platform.invalid", text, "/download", &err);
    if (url != NULL && !ab_broker_valid_id(text)) {
      abort();
    }
    free(url);
    return 0;
  }
  }
  if (rc != 0) {
    fuzz_check_error(&err);
  }
  /* One request, or two when a 401/429 is retried; never a loop. */
  if (fuzz_http_requests() > 2) {
    abort();
  }
  return 0;
}
