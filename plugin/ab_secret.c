/* ab_secret.c - root-only secret files (see ab_secret.h). */
#include "ab_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

void ab_secret_wipe(void *p, size_t len) {
  if (p != NULL) {
    OPENSSL_cleanse(p, len);
    free(p);
  }
}

int ab_secret_read_file(const char *path, const char *what, char **out,
                        size_t *len, ab_error *err) {
  *out = NULL;
  *len = 0;
  /* O_NOFOLLOW: a symlink could point a root-only reader at any file. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP) {
      return ab_error_set(err, EINVAL, "%s %s is a symbolic link; point the setting at "
                          "the file itself", what, path);
    }
    return ab_error_set(err, e, "cannot open %s %s: %s", what, path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ab_error_set(err, EINVAL, "%s %s is not a regular file", what, path);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    close(fd);
    return ab_error_set(err, EACCES, "%s %s is readable by group or others (mode %04o); "
                        "make it readable by its owner only: chmod 600 %s",
                        what, path, (unsigned) (st.st_mode & 07777), path);
  }
  uid_t me = geteuid();
  if (st.st_uid != me) {
    close(fd);
    if (me == 0) {
      return ab_error_set(err, EACCES, "%s %s is owned by uid %u, not root; a secret that "
                          "another user owns is not a secret: chown root:root %s",
                          what, path, (unsigned) st.st_uid, path);
    }
    return ab_error_set(err, EACCES, "%s %s is owned by uid %u, not by the reading user "
                        "(uid %u)", what, path, (unsigned) st.st_uid, (unsigned) me);
  }
  if (st.st_size > AB_SECRET_MAX) {
    close(fd);
    return ab_error_set(err, EFBIG, "%s %s is larger than %d bytes", what, path, AB_SECRET_MAX);
  }
  size_t cap = (size_t) st.st_size + 1;
  char *buf = malloc(cap);
  if (buf == NULL) {
    close(fd);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t got = 0;
  while (got < cap - 1) {
    ssize_t n = read(fd, buf + got, cap - 1 - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += (size_t) n;
  }
  close(fd);
  buf[got] = '\0';
  *out = buf;
  *len = got;
  return 0;
}

int ab_secret_read_password(const char *path, const char *what, char **out,
                            ab_error *err) {
  size_t len = 0;
  if (ab_secret_read_file(path, what, out, &len, err) < 0) {
    return -1;
  }
  /* The first line is the password: editors add a final newline. */
  size_t n = strcspn(*out, "\r\n");
  OPENSSL_cleanse(*out + n, len - n);
  return 0;
}
