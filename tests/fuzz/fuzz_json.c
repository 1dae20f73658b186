/* fuzz_json.c - the lenient JSON readers (ab_json.c) on any document.
 *
 * Input: [buffer size][member name length][name...][JSON document...].
 * Invariants: copies are terminated within the buffer and, when the source
 * is valid UTF-8, never end in a cut character; timestamps parse only when
 * they round-trip through their own format rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ab_json.h"

/* 1 when s ends in a cut UTF-8 sequence (lead byte without all its
 * continuation bytes). */
static int ends_in_cut_char(const char *s) {
  size_t n = strlen(s);
  size_t k = 0;
  while (k < n && k < 4 && ((unsigned char) s[n - 1 - k] & 0xC0) == 0x80) {
    k++;
  }
  if (k == n) {
    return 0;
  }
  unsigned char lead = (unsigned char) s[n - 1 - k];
  size_t want = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  return want > k;
}

static int valid_utf8(const unsigned char *s) {
  while (*s != '\0') {
    size_t n = *s < 0x80 ? 0 : *s >= 0xF0 ? 3 : *s >= 0xE0 ? 2 : *s >= 0xC0 ? 1 : 9;
    if (n == 9) {
      return 0;
    }
    for (size_t i = 1; i <= n; i++) {
      if ((s[i] & 0xC0) != 0x80) {
        return 0;
      }
    }
    s += n + 1;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  size_t dst_len = (size_t) data[0] % 64 + 1;
  size_t name_len = data[1] % 16;
  if (size < 2 + name_len) {
    return 0;
  }
  char name[17];
  memcpy(name, data + 2, name_len);
  name[name_len] = '\0';
  const char *doc = (const char *) data + 2 + name_len;
  size_t doc_len = size - 2 - name_len;

  cJSON *root = cJSON_ParseWithLength(doc, doc_len);
  char *dst = malloc(dst_len);
  if (dst == NULL) {
    abort();
  }
  int is_string = ab_json_copy_string(root, name, dst, dst_len);
  if (memchr(dst, '\0', dst_len) == NULL) {
    abort();
  }
  const cJSON *item = cJSON_GetObjectItem(root, name);
  if (is_string && cJSON_IsString(item) && valid_utf8((const unsigned char *) item->valuestring) &&
      ends_in_cut_char(dst)) {
    abort();
  }
  if (!is_string && dst[0] != '\0') {
    abort();
  }
  long long v = 0;
  if (ab_json_get_int64(root, name, &v) && !cJSON_IsNumber(item)) {
    abort();
  }
  time_t t = 0;
  if (!ab_json_get_time(root, name, &t) && t != 0) {
    abort();
  }
  free(dst);
  cJSON_Delete(root);

  /* The timestamp parser on the raw text. */
  char *text = malloc(doc_len + 1);
  if (text == NULL) {
    abort();
  }
  memcpy(text, doc, doc_len);
  text[doc_len] = '\0';
  if (ab_json_parse_time(text, &t) == 0 && (strlen(text) < 19 || text[4] != '-')) {
    abort();
  }
  free(text);
  return 0;
}
