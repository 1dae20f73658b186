/* Unit tests: the upload spool (plugin/ab_spool.c) - bytes at any offset,
 * gaps refused, the size limit, and an MD5 that needs no second pass when
 * writes come in order. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "ab_spool.h"

#define SIZE (1024 * 1024 + 123)
#define CHUNK 32768

static unsigned char data[SIZE];
static char dir[] = "/tmp/ab-test-spool.XXXXXX";
static int dirfd_ = -1;

static int setup(void **state) {
  (void) state;
  srand(42);
  for (size_t i = 0; i < SIZE; i++) data[i] = (unsigned char) rand();
  if (mkdtemp(dir) == NULL) return -1;
  dirfd_ = open(dir, O_PATH | O_DIRECTORY);
  return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state) {
  (void) state;
  close(dirfd_);
  rmdir(dir);
  return 0;
}

static void md5_of(const unsigned char *p, size_t n, char out[33]) {
  unsigned char d[16];
  unsigned int len = 0;
  EVP_Digest(p, n, d, &len, EVP_md5(), NULL);
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static size_t blocks(void) {
  return (SIZE + CHUNK - 1) / CHUNK;
}

static void write_block(ab_spool *s, size_t i) {
  ab_error err;
  size_t off = i * CHUNK, n = SIZE - off < CHUNK ? SIZE - off : CHUNK;
  assert_int_equal(ab_spool_pwrite(s, data + off, n, (off_t) off, &err), (ssize_t) n);
}

static void check_md5(ab_spool *s) {
  char want[33], got[33];
  ab_error err;
  md5_of(data, SIZE, want);
  assert_int_equal(ab_spool_size(s), SIZE);
  assert_int_equal(ab_spool_first_gap(s), -1);
  assert_int_equal(ab_spool_md5(s, got, &err), 0);
  assert_string_equal(got, want);
}

static void in_order_needs_no_reread(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  assert_non_null(s);
  for (size_t i = 0; i < blocks(); i++) write_block(s, i);
  check_md5(s);
  assert_int_equal(ab_spool_reread_bytes(s), 0);
  /* and the bytes are on disk */
  unsigned char back[100];
  assert_int_equal(pread(ab_spool_fd(s), back, sizeof(back), 5000), (ssize_t) sizeof(back));
  assert_memory_equal(back, data + 5000, sizeof(back));
  ab_spool_free(s);
}

static void swapped_pairs_reread_little(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  size_t n = blocks();
  for (size_t k = 0; k < n; k++) {
    size_t i = k % 2 == 0 ? (k + 1 < n ? k + 1 : k) : k - 1;
    write_block(s, i);
  }
  check_md5(s);
  /* only each block that arrived early is read back: about half */
  assert_true(ab_spool_reread_bytes(s) > 0);
  assert_true(ab_spool_reread_bytes(s) <= SIZE / 2 + CHUNK);
  ab_spool_free(s);
}

static void reverse_order(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  for (size_t i = blocks(); i-- > 0;) write_block(s, i);
  check_md5(s);
  assert_int_equal(ab_spool_reread_bytes(s), SIZE - CHUNK);
  ab_spool_free(s);
}

static void overwrite_rehashes(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  for (size_t i = 0; i < blocks(); i++) write_block(s, i);
  /* rewrite block 3 with other bytes, then the right ones again */
  unsigned char junk[CHUNK];
  memset(junk, 0xab, sizeof(junk));
  assert_int_equal(ab_spool_pwrite(s, junk, sizeof(junk), 3 * CHUNK, &err), CHUNK);
  write_block(s, 3);
  check_md5(s);
  assert_int_equal(ab_spool_reread_bytes(s), SIZE); /* one full pass */
  ab_spool_free(s);
}

/* Hashing in a helper thread (pipeline=on): the same MD5 whatever the
 * order, and a write over bytes the thread may have hashed forces the
 * final pass, so the MD5 is always that of the final bytes. */
static void behind_in_order(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  assert_int_equal(ab_spool_hash_behind(s), 0);
  for (size_t i = 0; i < blocks(); i++) write_block(s, i);
  check_md5(s);
  assert_int_equal(ab_spool_reread_bytes(s), SIZE); /* the thread read it all back once */
  ab_spool_free(s);
}

static void behind_reverse_and_swapped(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  assert_int_equal(ab_spool_hash_behind(s), 0);
  for (size_t i = blocks(); i-- > 0;) write_block(s, i);
  check_md5(s);
  ab_spool_free(s);
  s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  assert_int_equal(ab_spool_hash_behind(s), 0);
  size_t n = blocks();
  for (size_t k = 0; k < n; k++) write_block(s, k % 2 == 0 ? (k + 1 < n ? k + 1 : k) : k - 1);
  check_md5(s);
  ab_spool_free(s);
}

static void behind_overwrite(void **state) {
  (void) state;
  ab_error err;
  for (int round = 0; round < 20; round++) {
    ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
    assert_int_equal(ab_spool_hash_behind(s), 0);
    for (size_t i = 0; i < blocks(); i++) write_block(s, i);
    /* junk over block 0 (hashed or not, depending on the thread), then
     * the right bytes again: the MD5 must be of the final content */
    unsigned char junk[CHUNK];
    memset(junk, 0xab, sizeof(junk));
    assert_int_equal(ab_spool_pwrite(s, junk, sizeof(junk), 0, &err), CHUNK);
    if (round % 2 == 0) write_block(s, 0);
    if (round % 2 == 0) {
      check_md5(s);
    } else {
      char want[33], got[33];
      unsigned char *final = malloc(SIZE);
      memcpy(final, data, SIZE);
      memset(final, 0xab, CHUNK);
      md5_of(final, SIZE, want);
      free(final);
      assert_int_equal(ab_spool_md5(s, got, &err), 0);
      assert_string_equal(got, want);
    }
    ab_spool_free(s);
  }
}

static void behind_freed_while_writing(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  assert_int_equal(ab_spool_hash_behind(s), 0);
  for (size_t i = 0; i < blocks() / 2; i++) write_block(s, i);
  ab_spool_free(s); /* an aborted upload: the thread ends with it */
}

static void gap_is_refused(void **state) {
  (void) state;
  ab_error err;
  char md5[33];
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  /* a "resume" that starts at 65536 without the beginning */
  assert_int_equal(ab_spool_pwrite(s, data, 1000, 65536, &err), 1000);
  assert_int_equal(ab_spool_first_gap(s), 0);
  assert_int_equal(ab_spool_md5(s, md5, &err), -1);
  assert_int_equal(err.err_no, ENODATA);
  assert_non_null(strstr(err.message, "offset 0"));
  /* a hole in the middle */
  assert_int_equal(ab_spool_pwrite(s, data, 100, 0, &err), 100);
  assert_int_equal(ab_spool_first_gap(s), 100);
  ab_spool_free(s);
}

static void empty_file(void **state) {
  (void) state;
  ab_error err;
  char md5[33];
  ab_spool *s = ab_spool_new(dirfd_, dir, 0, NULL, &err);
  assert_int_equal(ab_spool_md5(s, md5, &err), 0);
  assert_string_equal(md5, "d41d8cd98f00b204e9800998ecf8427e");
  ab_spool_free(s);
}

static void limit(void **state) {
  (void) state;
  ab_error err;
  ab_spool *s = ab_spool_new(dirfd_, dir, 1000, "x is larger than 1000 bytes", &err);
  assert_int_equal(ab_spool_pwrite(s, data, 1000, 0, &err), 1000);
  assert_int_equal(ab_spool_pwrite(s, data, 1, 1000, &err), -1);
  assert_int_equal(err.err_no, EFBIG);
  assert_string_equal(err.message, "x is larger than 1000 bytes");
  ab_spool_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(in_order_needs_no_reread),
    cmocka_unit_test(swapped_pairs_reread_little),
    cmocka_unit_test(reverse_order),
    cmocka_unit_test(overwrite_rehashes),
    cmocka_unit_test(behind_in_order),
    cmocka_unit_test(behind_reverse_and_swapped),
    cmocka_unit_test(behind_overwrite),
    cmocka_unit_test(behind_freed_while_writing),
    cmocka_unit_test(gap_is_refused),
    cmocka_unit_test(empty_file),
    cmocka_unit_test(limit),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
