/* cli_transfer.c - `altinn-broker ls|send|get`: the same core session and
 * ab_vfs_methods the ProFTPD module uses, driven from the command line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static char *mount_file(const char *mount, const char *name) {
  size_t n = strlen(mount) + strlen(name) + 2;
  char *p = malloc(n);
  if (p != NULL) {
    snprintf(p, n, "%s/%s", mount, name);
  }
  return p;
}

static int do_ls(cli_context *ctx, ab_vfs *vfs, const char *mount) {
  const ab_vfs_methods *m = ab_vfs_methods_get();
  ab_error err;
  ab_dir *d;
  if (m->opendir(vfs, mount, &d, &err) < 0) {
    fprintf(stderr, "altinn-broker: ls %s: %s\n", mount, err.message);
    return 1;
  }
  const char *name;
  cJSON *list = ctx->json ? cJSON_CreateArray() : NULL;
  while ((name = m->readdir(d)) != NULL) {
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    char *path = mount_file(mount, name);
    ab_stat st;
    if (path != NULL && m->stat(vfs, path, &st, &err) == 0) {
      if (list != NULL) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddNumberToObject(o, "size", (double) st.size);
        cJSON_AddNumberToObject(o, "mtime", (double) st.mtime);
        cJSON_AddItemToArray(list, o);
      } else {
        printf("%12lld  %s\n", st.size, name);
      }
    }
    free(path);
  }
  m->closedir(d);
  if (list != NULL) {
    char *text = cJSON_Print(list);
    printf("%s\n", text ? text : "[]");
    cJSON_free(text);
    cJSON_Delete(list);
  }
  return 0;
}

static int do_send(cli_context *ctx, ab_vfs *vfs, const char *mount, const char *file,
                   const char *name) {
  const ab_vfs_methods *m = ab_vfs_methods_get();
  ab_error err;
  int in = open(file, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    fprintf(stderr, "altinn-broker: cannot read %s: %s\n", file, strerror(errno));
    return 1;
  }
  if (name == NULL) {
    name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  }
  char *path = mount_file(mount, name);
  ab_file *f = NULL;
  if (path == NULL || m->open(vfs, path, O_WRONLY | O_CREAT | O_TRUNC, &f, &err) < 0) {
    fprintf(stderr, "altinn-broker: send %s: %s\n", path ? path : name, err.message);
    free(path);
    close(in);
    return 1;
  }
  static char buf[256 * 1024];
  off_t off = 0;
  ssize_t n;
  int rc = 0;
  struct stat st;
  cli_progress progress;
  cli_progress_start(ctx, &progress, name, fstat(in, &st) == 0 ? (long long) st.st_size : 0);
  /* The bytes go to the Broker when the file is closed (as over SFTP). */
  ab_vfs_set_progress(vfs, cli_progress_upload, &progress);
  while ((n = read(in, buf, sizeof(buf))) > 0) {
    if (m->pwrite(f, buf, (size_t) n, off, &err) < 0) {
      fprintf(stderr, "altinn-broker: send %s: %s\n", path, err.message);
      rc = 1;
      break;
    }
    off += n;
  }
  if (n < 0) {
    fprintf(stderr, "altinn-broker: reading %s: %s\n", file, strerror(errno));
    rc = 1;
  }
  close(in);
  if (m->close(f, rc != 0, &err) < 0) {
    cli_progress_end(&progress);
    fprintf(stderr, "altinn-broker: %s\n", err.message);
    rc = 1;
  } else {
    cli_progress_end(&progress);
  }
  ab_vfs_set_progress(vfs, NULL, NULL);
  free(path);
  return rc;
}

static int do_get(cli_context *ctx, ab_vfs *vfs, const char *mount, const char *name,
                  const char *dest, int confirm) {
  const ab_vfs_methods *m = ab_vfs_methods_get();
  ab_error err;
  char *path = mount_file(mount, name);
  ab_file *f = NULL;
  if (path == NULL || m->open(vfs, path, O_RDONLY, &f, &err) < 0) {
    fprintf(stderr, "altinn-broker: get %s: %s\n", path ? path : name, err.message);
    free(path);
    return 1;
  }
  int out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    fprintf(stderr, "altinn-broker: cannot write %s: %s\n", dest, strerror(errno));
    m->close(f, 0, &err);
    free(path);
    return 1;
  }
  static char buf[256 * 1024];
  off_t off = 0;
  ssize_t n;
  int rc = 0;
  ab_stat st;
  cli_progress progress;
  cli_progress_start(ctx, &progress, name, m->fstat(f, &st, &err) == 0 ? st.size : 0);
  while ((n = m->pread(f, buf, sizeof(buf), off, &err)) > 0) {
    if (write(out, buf, (size_t) n) != n) {
      fprintf(stderr, "altinn-broker: writing %s: %s\n", dest, strerror(errno));
      rc = 1;
      break;
    }
    off += n;
    cli_progress_update(&progress, off);
  }
  cli_progress_end(&progress);
  if (n < 0) {
    fprintf(stderr, "altinn-broker: get %s: %s\n", path, err.message);
    rc = 1;
  }
  close(out);
  m->close(f, 0, &err);
  if (rc == 0 && confirm && m->unlink(vfs, path, &err) < 0) {
    fprintf(stderr, "altinn-broker: confirm %s: %s\n", path, err.message);
    rc = 1;
  }
  free(path);
  return rc;
}

int cli_cmd_ls(cli_context *ctx, int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: altinn-broker ls MOUNT\n");
    return 2;
  }
  ab_vfs *vfs = cli_open_session(ctx);
  int rc = vfs ? do_ls(ctx, vfs, argv[1]) : 1;
  ab_vfs_free(vfs);
  return rc;
}

int cli_cmd_send(cli_context *ctx, int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: altinn-broker send MOUNT FILE [NAME]\n");
    return 2;
  }
  ab_vfs *vfs = cli_open_session(ctx);
  if (vfs != NULL) {
    cli_watch(ctx, vfs);
  }
  int rc = vfs ? do_send(ctx, vfs, argv[1], argv[2], argc == 4 ? argv[3] : NULL) : 1;
  ab_vfs_free(vfs);
  cli_print_reports(ctx);
  return rc;
}

int cli_cmd_get(cli_context *ctx, int argc, char **argv) {
  int confirm = argc == 5 && strcmp(argv[4], "--confirm") == 0;
  if (argc != 4 && !confirm) {
    fprintf(stderr, "usage: altinn-broker get MOUNT NAME DEST [--confirm]\n");
    return 2;
  }
  ab_vfs *vfs = cli_open_session(ctx);
  if (vfs != NULL) {
    cli_watch(ctx, vfs);
  }
  int rc = vfs ? do_get(ctx, vfs, argv[1], argv[2], argv[3], confirm) : 1;
  ab_vfs_free(vfs);
  cli_print_reports(ctx);
  return rc;
}

int cli_cmd_confirm(cli_context *ctx, int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: altinn-broker confirm MOUNT NAME\n");
    return 2;
  }
  ab_vfs *vfs = cli_open_session(ctx);
  if (vfs == NULL) {
    return 1;
  }
  char *path = mount_file(argv[1], argv[2]);
  ab_error err;
  int rc = 0;
  if (path == NULL || ab_vfs_confirm(vfs, path, &err) < 0) {
    fprintf(stderr, "altinn-broker: confirm %s: %s\n", path ? path : argv[2],
            path ? err.message : "out of memory");
    rc = 1;
  } else {
    printf("confirmed %s\n", path);
  }
  free(path);
  ab_vfs_free(vfs);
  return rc;
}
