/* fuzz_names.c - file names across the trust boundary (ab_names.c).
 *
 * Input: any bytes, used as an upload name and as a Broker file name. Invariants: whatever a Broker file name is, the name it
 * becomes in a listing is one safe path component that the upload check
 * itself would accept, not hidden, not an option, free of the characters
 * Windows forbids, at most 200 bytes; with an id suffix it stays safe. An upload name that passes the check contains no separator,
 * control character or invalid UTF-8. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_names.h"
#include "fuzz_fake_http.h"

static void check_listing_name(const char *name, size_t max) {
  ab_error err;
  size_t n = strlen(name);
  if (n == 0 || n > max || name[0] == '.' || name[0] == '-' || name[0] == ' ' ||
      name[n - 1] == '.' || name[n - 1] == ' ' || strpbrk(name, "/\\:*?\"<>|") != NULL) {
    fprintf(stderr, "unsafe listing name \"%s\"\n", name);
    abort();
  }
  if (ab_name_check_upload(name, &err) != 0) {
    fprintf(stderr, "listing name \"%s\" fails the name check: %s\n", name, err.message);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL) {
    abort();
  }
  memcpy(s, data, size);
  s[size] = '\0';

  ab_error err;
  if (ab_name_check_upload(s, &err) == 0) {
    for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
      if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\') {
        abort();
      }
    }
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 255) {
      abort();
    }
  } else {
    fuzz_check_error(&err);
  }

  char safe[256];
  ab_name_sanitize(s, safe, sizeof(safe));
  check_listing_name(safe, 200);
  char small[8];
  ab_name_sanitize(s, small, sizeof(small));
  check_listing_name(small, sizeof(small) - 1);

  char unique[256];
  /* Ids are GUIDs by the time they get here (ab_broker_valid_id). */
  ab_name_with_id(safe, "0b6b4c5e-1d2a-4c3b-9e8f-123456789abc", 8, unique, sizeof(unique));
  check_listing_name(unique, 255);
  ab_name_with_id(safe, "0b6b4c5e-1d2a-4c3b-9e8f-123456789abc", 36, unique, sizeof(unique));
  check_listing_name(unique, 255);

  /* The comparison key: any input, any buffer size, always terminated. */
  char key[256], tiny[8];
  ab_name_fold(s, key, sizeof(key));
  fuzz_check_terminated(key, sizeof(key));
  ab_name_fold(safe, tiny, sizeof(tiny));
  fuzz_check_terminated(tiny, sizeof(tiny));
  free(s);
  return 0;
}
