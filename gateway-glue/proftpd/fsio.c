/* fsio.c - ProFTPD FSIO handlers for Altinn Broker mounts.
 *
 * Each handler translates between FSIO's calling conventions and the core's
 * ab_vfs_methods, and logs the core's message when it fails. Nothing here
 * knows about the Broker. See reference/proftpd-fsio.md for why each
 * handler exists (fstat exact size, real fds, both "/m" and "/m/" mounts). */
#include "mod_altinn_broker.h"

#include <dirent.h>

/* Per open file: the core's handle plus the position that read/write/lseek
 * (SCP, and mod_sftp's copy fallback) need; SFTP itself uses pread/pwrite. */
typedef struct abp_handle {
  ab_file *file;
  off_t pos;
  int writing;
  int fsio_fd;         /* the descriptor FSIO holds (see abp_open) */
  long long written;   /* bytes that reached pwrite/write (FTP abort check) */
  const char *path;    /* as opened, to match the abandoned STOR's argument */
  struct abp_handle *next;
} abp_handle;

typedef struct abp_dir {
  ab_dir *dir;
  struct dirent dent;
} abp_dir;

static const ab_vfs_methods *vm;
static abp_handle *open_uploads; /* for abort marking */

/* The errno to hand to ProFTPD for a core error. mod_sftp turns only a few
 * errnos into specific SFTP statuses and texts; a size limit (EFBIG) would
 * read "No space on filesystem", so SFTP clients get "Quota exceeded"
 * instead. FTP replies carry strerror() and keep the precise errno. */
static int client_errno(int err_no) {
  if (err_no == 0) {
    return EIO; /* errno 0 would make mod_sftp answer OK; never let that happen */
  }
  const char *proto = pr_session_get_protocol(0);
  if (err_no == EFBIG && proto != NULL && strcmp(proto, "sftp") == 0) {
    return EDQUOT;
  }
  return err_no;
}

static int fail(const char *op, const char *path, const ab_error *err) {
  abp_log(err->err_no == ENOENT ? AB_LOG_DEBUG : AB_LOG_ERROR, "%s %s: %s", op,
          path ? path : "", err->message);
  errno = client_errno(err->err_no);
  return -1;
}

/* FSIO hands relative paths to the FS of the current directory (FTP's
 * LIST opens "." after CWD); the core wants them absolute and clean. */
static const char *absolute(pool *p, const char *path) {
  const char *full = path[0] == '/' ? path : pdircat(p, pr_fs_getvwd(), path, NULL);
  char clean[PR_TUNABLE_PATH_MAX + 1];
  pr_fs_clean_path(full, clean, sizeof(clean));
  return pstrdup(p, clean);
}

static void fill_stat(const ab_stat *as, const char *path, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_mode = (as->is_dir ? S_IFDIR : S_IFREG) | as->mode;
  st->st_size = (off_t) as->size;
  st->st_mtime = st->st_atime = st->st_ctime = as->mtime;
  st->st_nlink = as->is_dir ? 2 : 1;
  st->st_uid = session.uid;
  st->st_gid = session.gid;
  st->st_blksize = 65536;
  st->st_blocks = (blkcnt_t) ((as->size + 511) / 512);
  /* A stable inode per path, so clients that compare inodes see one file. */
  unsigned long h = 5381;
  for (const char *c = path; *c; c++) h = h * 33 + (unsigned char) *c;
  st->st_ino = (ino_t) h;
}

static int abp_stat(pr_fs_t *fs, const char *path, struct stat *st) {
  ab_error err;
  ab_stat as;
  path = absolute(fs->fs_pool, path);
  if (vm->stat(abp_vfs, path, &as, &err) < 0) {
    return fail("stat", path, &err);
  }
  fill_stat(&as, path, st);
  return 0;
}

static int abp_fstat(pr_fh_t *fh, int fd, struct stat *st) {
  (void) fd;
  abp_handle *h = fh->fh_data;
  ab_error err;
  ab_stat as;
  if (h == NULL || h->file == NULL || vm->fstat(h->file, &as, &err) < 0) {
    errno = EBADF;
    return -1;
  }
  fill_stat(&as, fh->fh_path, st);
  return 0;
}

/* True while the current command copies a file across file systems:
 * mod_sftp's RENAME/posix-rename (after our EXDEV) and copy-file, and
 * mod_core's RNTO, all use pr_fs_copy_file(). */
static int copying_across(void) {
  static const char *const cmds[] = { C_RNFR, C_RNTO, "RENAME", "COPY", "SITE_COPY", "CPFR", "CPTO" };
  const char *cmd = session.curr_cmd;
  for (size_t i = 0; cmd != NULL && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    if (strcmp(cmd, cmds[i]) == 0) {
      return 1;
    }
  }
  return 0;
}

static int abp_open(pr_fh_t *fh, const char *path, int flags) {
  ab_error err;
  ab_file *f = NULL;
  path = absolute(fh->fh_pool, path);
  if ((flags & O_ACCMODE) == O_RDONLY && copying_across()) {
    /* pr_fs_copy_file() takes a failed read for the end of the file: a
     * download that broke off would become a short copy reported as a
     * successful move or copy. Files leave a mount only by a download of
     * their own (get, then rm to confirm). */
    abp_log(AB_LOG_ERROR, "%s %s: moving or copying a file out of an Altinn Broker mount "
            "is not supported; download it (get), then remove it (rm) to confirm",
            session.curr_cmd, path);
    errno = EPERM;
    return -1;
  }
  if (vm->open(abp_vfs, path, flags, &f, &err) < 0) {
    return fail("open", path, &err);
  }
  abp_handle *h = pcalloc(fh->fh_pool, sizeof(*h));
  h->file = f;
  h->writing = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0;
  h->path = pstrdup(fh->fh_pool, fh->fh_path);
  /* FSIO gets a descriptor of ours, never the core's (whose data always
   * goes through our handlers anyway):
   *  - mod_xfer sends FTP downloads with sendfile(2) from the handle's
   *    descriptor when it can, bypassing our read handler; from the core's
   *    placeholder that would send nothing. sendfile fails on an O_PATH
   *    descriptor, and mod_xfer then falls back to reading through FSIO;
   *  - an abandoned upload is discarded before mod_sftp closes its handle
   *    (abp_fsio_abandon), and FSIO must not be left holding a descriptor
   *    the core has closed. */
  h->fsio_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->fsio_fd < 0) {
    int xerrno = errno;
    vm->close(f, 1, &err);
    errno = xerrno;
    return -1;
  }
  fh->fh_data = h;
  if (h->writing) {
    h->next = open_uploads;
    open_uploads = h;
  }
  return h->fsio_fd;
}

static void forget_upload(abp_handle *h) {
  for (abp_handle **p = &open_uploads; *p != NULL; p = &(*p)->next) {
    if (*p == h) {
      *p = h->next;
      return;
    }
  }
}

static int abp_close(pr_fh_t *fh, int fd) {
  (void) fd;
  abp_handle *h = fh->fh_data;
  ab_error err;
  if (h == NULL) {
    errno = EBADF;
    return -1;
  }
  if (h->writing) {
    forget_upload(h);
  }
  fh->fh_data = NULL;
  close(h->fsio_fd);
  if (h->file == NULL) {
    return 0;   /* abandoned: discarded already */
  }
  /* FTP ends failed and complete uploads alike with a close (ftp.c). */
  int aborted = h->writing && abp_ftp_upload_failed(h->written);
  /* The core closes the descriptor it handed out. */
  if (vm->close(h->file, aborted, &err) < 0) {
    abp_ftp_reply_error(err.message);
    return fail("close", fh->fh_path, &err);
  }
  return 0;
}

void abp_fsio_abandon(const char *path) {
  abp_handle *next;
  for (abp_handle *h = open_uploads; h != NULL; h = next) {
    next = h->next;
    if (path == NULL || strcmp(h->path, path) == 0) {
      /* Discarded now rather than at the close that follows, so the
       * transfer's notes are set before ProFTPD logs the failed STOR. */
      ab_error err;
      forget_upload(h);
      vm->close(h->file, 1, &err);
      h->file = NULL;
    }
  }
}

static ssize_t abp_pread(pr_fh_t *fh, int fd, void *buf, size_t len, off_t off) {
  (void) fd;
  abp_handle *h = fh->fh_data;
  ab_error err;
  if (h == NULL || h->file == NULL) {
    errno = EBADF;
    return -1;
  }
  ssize_t n = vm->pread(h->file, buf, len, off, &err);
  if (n < 0) {
    return fail("read", fh->fh_path, &err);
  }
  return n;
}

static ssize_t abp_pwrite(pr_fh_t *fh, int fd, const void *buf, size_t len, off_t off) {
  (void) fd;
  abp_handle *h = fh->fh_data;
  ab_error err;
  if (h == NULL || h->file == NULL) {
    errno = EBADF;
    return -1;
  }
  ssize_t n = vm->pwrite(h->file, buf, len, off, &err);
  if (n < 0) {
    return fail("write", fh->fh_path, &err);
  }
  h->written += n;
  return n;
}

static int abp_read(pr_fh_t *fh, int fd, char *buf, size_t len) {
  abp_handle *h = fh->fh_data;
  ssize_t n = abp_pread(fh, fd, buf, len, h->pos);
  if (n > 0) {
    h->pos += n;
  }
  return (int) n;
}

static int abp_write(pr_fh_t *fh, int fd, const char *buf, size_t len) {
  abp_handle *h = fh->fh_data;
  ssize_t n = abp_pwrite(fh, fd, buf, len, h->pos);
  if (n > 0) {
    h->pos += n;
  }
  return (int) n;
}

static off_t abp_lseek(pr_fh_t *fh, int fd, off_t off, int whence) {
  abp_handle *h = fh->fh_data;
  struct stat st;
  switch (whence) {
  case SEEK_SET: h->pos = off; break;
  case SEEK_CUR: h->pos += off; break;
  case SEEK_END:
    if (abp_fstat(fh, fd, &st) < 0) return -1;
    h->pos = st.st_size + off;
    break;
  default: errno = EINVAL; return -1;
  }
  return h->pos;
}

static int abp_unlink(pr_fs_t *fs, const char *path) {
  ab_error err;
  path = absolute(fs->fs_pool, path);
  if (vm->unlink(abp_vfs, path, &err) < 0) {
    return fail("remove", path, &err);
  }
  return 0;
}

static int abp_rename(pr_fs_t *fs, const char *from, const char *to) {
  ab_error err;
  from = absolute(fs->fs_pool, from);
  to = absolute(fs->fs_pool, to);
  if (vm->rename(abp_vfs, from, to, &err) < 0) {
    return fail("rename", from, &err);
  }
  return 0;
}

static int abp_mkdir(pr_fs_t *fs, const char *path, mode_t mode) {
  (void) fs; (void) mode;
  abp_log(AB_LOG_INFO, "mkdir %s: Altinn Broker mounts have no subdirectories", path);
  errno = EPERM;
  return -1;
}

static int abp_rmdir(pr_fs_t *fs, const char *path) {
  (void) fs;
  abp_log(AB_LOG_INFO, "rmdir %s: Altinn Broker mounts cannot be removed", path);
  errno = EPERM;
  return -1;
}

/* SETSTAT and friends: clients send these after uploads (times, modes);
 * the Broker has no such attributes, so they succeed as no-ops. */
static int abp_chmod(pr_fs_t *fs, const char *path, mode_t mode) {
  (void) fs; (void) path; (void) mode;
  return 0;
}
static int abp_fchmod(pr_fh_t *fh, int fd, mode_t mode) {
  (void) fh; (void) fd; (void) mode;
  return 0;
}
static int abp_chown(pr_fs_t *fs, const char *path, uid_t uid, gid_t gid) {
  (void) fs; (void) path; (void) uid; (void) gid;
  return 0;
}
static int abp_fchown(pr_fh_t *fh, int fd, uid_t uid, gid_t gid) {
  (void) fh; (void) fd; (void) uid; (void) gid;
  return 0;
}
static int abp_utimes(pr_fs_t *fs, const char *path, struct timeval *tvs) {
  (void) fs; (void) path; (void) tvs;
  return 0;
}
static int abp_futimes(pr_fh_t *fh, int fd, struct timeval *tvs) {
  (void) fh; (void) fd; (void) tvs;
  return 0;
}
static int abp_truncate(pr_fs_t *fs, const char *path, off_t len) {
  (void) fs; (void) path; (void) len;
  errno = EPERM;
  return -1;
}
static int abp_ftruncate(pr_fh_t *fh, int fd, off_t len) {
  (void) fh; (void) fd; (void) len;
  errno = EPERM;
  return -1;
}
static int abp_fsync(pr_fh_t *fh, int fd) {
  (void) fh; (void) fd;
  return 0;
}
static int abp_link(pr_fs_t *fs, const char *a, const char *b) {
  (void) fs; (void) a; (void) b;
  errno = EPERM;
  return -1;
}
static int abp_readlink(pr_fs_t *fs, const char *path, char *buf, size_t sz) {
  (void) fs; (void) path; (void) buf; (void) sz;
  errno = EINVAL;   /* nothing here is a symlink */
  return -1;
}
static int abp_access(pr_fs_t *fs, const char *path, int mode, uid_t uid,
                      gid_t gid, array_header *suppl) {
  (void) uid; (void) gid; (void) suppl;
  struct stat st;
  if (abp_stat(fs, path, &st) < 0) {
    return -1;
  }
  if ((mode & W_OK) && !(st.st_mode & S_IWUSR) && !S_ISDIR(st.st_mode)) {
    errno = EACCES;
    return -1;
  }
  return 0;
}
static int abp_faccess(pr_fh_t *fh, int mode, uid_t uid, gid_t gid, array_header *suppl) {
  (void) fh; (void) mode; (void) uid; (void) gid; (void) suppl;
  return 0;
}
static int abp_listxattr(pool *p, pr_fs_t *fs, const char *path, array_header **names) {
  (void) fs; (void) path;
  *names = make_array(p, 0, sizeof(char *));
  return 0;
}
static int abp_flistxattr(pool *p, pr_fh_t *fh, int fd, array_header **names) {
  (void) fh; (void) fd;
  *names = make_array(p, 0, sizeof(char *));
  return 0;
}

static int abp_chdir(pr_fs_t *fs, const char *path) {
  struct stat st;
  if (abp_stat(fs, path, &st) < 0) {
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  /* Virtual: no chdir(2). But FSIO resolves relative names (FTP's
   * "CWD /outbox" then "STOR a.txt") against the cwd that the system
   * chdir records, so record it too, or the file lands on the real disk. */
  pr_fs_setcwd(absolute(fs->fs_pool, path));
  return 0;
}

static void *abp_opendir(pr_fs_t *fs, const char *path) {
  ab_error err;
  ab_dir *d = NULL;
  path = absolute(fs->fs_pool, path);
  if (vm->opendir(abp_vfs, path, &d, &err) < 0) {
    fail("opendir", path, &err);
    return NULL;
  }
  abp_dir *ad = calloc(1, sizeof(*ad));
  if (ad == NULL) {
    vm->closedir(d);
    errno = ENOMEM;
    return NULL;
  }
  ad->dir = d;
  return ad;
}

static struct dirent *abp_readdir(pr_fs_t *fs, void *dirh) {
  (void) fs;
  abp_dir *ad = dirh;
  const char *name = vm->readdir(ad->dir);
  if (name == NULL) {
    return NULL;   /* end: errno untouched */
  }
  memset(&ad->dent, 0, sizeof(ad->dent));
  sstrncpy(ad->dent.d_name, name, sizeof(ad->dent.d_name));
  ad->dent.d_type = DT_UNKNOWN;
  ad->dent.d_ino = 1;
  return &ad->dent;
}

static int abp_closedir(pr_fs_t *fs, void *dirh) {
  (void) fs;
  abp_dir *ad = dirh;
  vm->closedir(ad->dir);
  free(ad);
  return 0;
}

static void set_handlers(pr_fs_t *fs) {
  fs->stat = abp_stat;
  fs->lstat = abp_stat;
  fs->fstat = abp_fstat;
  fs->open = abp_open;
  fs->close = abp_close;
  fs->read = abp_read;
  fs->pread = abp_pread;
  fs->write = abp_write;
  fs->pwrite = abp_pwrite;
  fs->lseek = abp_lseek;
  fs->unlink = abp_unlink;
  fs->rename = abp_rename;
  fs->mkdir = abp_mkdir;
  fs->rmdir = abp_rmdir;
  fs->chmod = abp_chmod;
  fs->fchmod = abp_fchmod;
  fs->chown = abp_chown;
  fs->fchown = abp_fchown;
  fs->lchown = abp_chown;
  fs->utimes = abp_utimes;
  fs->futimes = abp_futimes;
  fs->truncate = abp_truncate;
  fs->ftruncate = abp_ftruncate;
  fs->fsync = abp_fsync;
  fs->link = abp_link;
  fs->symlink = abp_link;
  fs->readlink = abp_readlink;
  fs->access = abp_access;
  fs->faccess = abp_faccess;
  fs->listxattr = abp_listxattr;
  fs->llistxattr = abp_listxattr;
  fs->flistxattr = abp_flistxattr;
  fs->chdir = abp_chdir;
  fs->opendir = abp_opendir;
  fs->readdir = abp_readdir;
  fs->closedir = abp_closedir;
  /* A rename from disk into a mount must not reach our rename(): with
   * EXDEV, mod_sftp copies through open/write/close, i.e. an upload. */
  fs->allow_xdev_rename = FALSE;
  fs->allow_xdev_link = FALSE;
}

int abp_fsio_register(pool *p) {
  vm = ab_vfs_methods_get();
  for (size_t i = 0; i < ab_vfs_mount_count(abp_vfs); i++) {
    const char *mp = ab_vfs_mount_path(abp_vfs, i);
    /* "/m/" (prefix) for everything below, "/m" (exact) for the mount
     * itself: FSIO looks file ops up without a trailing slash. */
    const char *paths[2] = { pstrcat(p, mp, "/", NULL), mp };
    for (int k = 0; k < 2; k++) {
      pr_fs_t *fs = pr_register_fs(p, "altinn_broker", paths[k]);
      if (fs == NULL) {
        abp_log(AB_LOG_ERROR, "cannot register %s: %s", paths[k], strerror(errno));
        return -1;
      }
      set_handlers(fs);
    }
    abp_log(AB_LOG_INFO, "mounted %s for user %s", mp, session.user);
  }
  return 0;
}
