/* emu_broker_multipart.c - POST /broker/api/v1/filetransfer/upload
 * (broker-api.md §3.3): initialize and upload in one multipart/form-data
 * request.
 *
 * libmicrohttpd's post processor splits the form; the file part
 * ("FileTransfer", a part with a filename) streams into a temp file with
 * its MD5, the other fields are kept. Like ASP.NET, which buffers the whole
 * form before model binding, nothing is decided before the body is
 * complete. Field names bind case-insensitively: Metadata.FileName,
 * .ResourceId, .SendersFileTransferReference, .Sender, .Checksum,
 * .DisableVirusScan ("true"/"false"), .Recipients (repeated, or indexed
 * [0], [1], ...), .PropertyList[key] or .PropertyList.key. Then the steps
 * of initialize (emu_broker_initialize, model errors keyed "Metadata.X")
 * and of the streamed upload (size, checksum) run; errors are the union of
 * both, success is 200 {"fileTransferId"}.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "emu_broker.h"
#include "emu_endpoints.h"
#include "emu_problem.h"
#include "emu_util.h"

#define PP_BUFFER (64 * 1024)
#define MAX_FIELDS_BYTES (1024 * 1024)     /* all non-file fields together */
#define MAX_BODY ((int64_t)2147483647)     /* RequestFormLimits(MultipartBodyLengthLimit = int.MaxValue) */

typedef struct field {
  char *key;
  char *value;
  size_t len;
} field;

typedef struct form_state {
  struct MHD_PostProcessor *pp;
  field *fields;
  size_t nfields, capfields;
  size_t field_bytes;
  bool too_big;
  char id[37];              /* temp-file name only; the transfer gets its own id */
  char *temp_path;
  int fd;
  bool has_file;            /* a FileTransfer part with a filename was seen */
  EVP_MD_CTX *md5;
  int64_t file_bytes;
  int write_errno;
} form_state;

static bool key_is(const char *key, const char *name)
{
  return strcasecmp(key, name) == 0;
}

static void file_chunk(form_state *s, const char *data, size_t size)
{
  if (s->fd < 0 || s->write_errno)
    return;
  EVP_DigestUpdate(s->md5, data, size);
  for (size_t off = 0; off < size;) {
    ssize_t n = write(s->fd, data + off, size - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      s->write_errno = errno;
      return;
    }
    off += (size_t)n;
  }
  s->file_bytes += (int64_t)size;
  if (s->file_bytes > MAX_BODY)
    s->too_big = true;
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
  (void)kind;
  (void)content_type;
  (void)transfer_encoding;
  form_state *s = cls;
  if (!key)
    return MHD_YES;
  if (filename && key_is(key, "FileTransfer")) {
    if (off == 0 && s->has_file)
      return MHD_YES; /* IFormFile binds the first file part */
    s->has_file = true;
    file_chunk(s, data, size);
    return MHD_YES;
  }
  if (filename)
    return MHD_YES; /* other files bind to nothing */
  s->field_bytes += strlen(key) + size;
  if (s->field_bytes > MAX_FIELDS_BYTES) {
    s->too_big = true;
    return MHD_YES;
  }
  field *f = NULL;
  if (off == 0) {
    if (s->nfields == s->capfields) {
      size_t nc = s->capfields ? s->capfields * 2 : 16;
      field *nf = realloc(s->fields, nc * sizeof *nf);
      if (!nf)
        return MHD_NO;
      s->fields = nf;
      s->capfields = nc;
    }
    f = &s->fields[s->nfields++];
    *f = (field){strdup(key), calloc(1, 1), 0};
  } else if (s->nfields > 0) {
    f = &s->fields[s->nfields - 1]; /* the value continues */
  } else {
    return MHD_YES;
  }
  char *nv = realloc(f->value, f->len + size + 1);
  if (!nv)
    return MHD_NO;
  memcpy(nv + f->len, data, size);
  f->len += size;
  nv[f->len] = '\0';
  f->value = nv;
  return MHD_YES;
}

static void form_begin(emu_request *r)
{
  if (!emu_http_consumes(r, "multipart/form-data"))
    return;
  form_state *s = calloc(1, sizeof *s);
  if (!s) {
    emu_problem(r, 500, 0, NULL);
    return;
  }
  r->state = s;
  s->fd = -1;
  emu_uuid4(s->id);
  s->temp_path = emu_store_temp_path(s->id);
  s->md5 = EVP_MD_CTX_new();
  if (s->temp_path)
    s->fd = open(s->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (s->fd < 0 || !s->md5 || EVP_DigestInit_ex(s->md5, EVP_md5(), NULL) != 1) {
    fprintf(stderr, "altinn-emulator: cannot create %s: %s\n", s->temp_path ? s->temp_path : "?",
            strerror(errno));
    emu_problem(r, 500, 8, NULL);
    return;
  }
  /* NULL when the body is not a form (no Content-Type): then no field binds */
  s->pp = MHD_create_post_processor(r->conn, PP_BUFFER, on_part, s);
}

static void form_data(emu_request *r, const char *buf, size_t len)
{
  form_state *s = r->state;
  if (s && s->pp && MHD_post_process(s->pp, buf, len) != MHD_YES) {
    MHD_destroy_post_processor(s->pp);
    s->pp = NULL; /* malformed: what was parsed so far is what binds */
  }
}

/* ---- binding ---- */

static const field *first(const form_state *s, const char *name)
{
  for (size_t i = 0; i < s->nfields; i++)
    if (key_is(s->fields[i].key, name))
      return &s->fields[i];
  return NULL;
}

/* Metadata.Recipients: indexed keys [0], [1], ... (stopping at the first
 * gap, as ASP.NET does) win over repeated plain keys. */
static cJSON *recipients(const form_state *s)
{
  cJSON *arr = cJSON_CreateArray();
  char key[48];
  for (int i = 0;; i++) {
    snprintf(key, sizeof key, "Metadata.Recipients[%d]", i);
    const field *f = first(s, key);
    if (!f)
      break;
    cJSON_AddItemToArray(arr, cJSON_CreateString(f->value));
  }
  if (cJSON_GetArraySize(arr) > 0)
    return arr;
  for (size_t i = 0; i < s->nfields; i++)
    if (key_is(s->fields[i].key, "Metadata.Recipients"))
      cJSON_AddItemToArray(arr, cJSON_CreateString(s->fields[i].value));
  if (cJSON_GetArraySize(arr) == 0) {
    cJSON_Delete(arr);
    return NULL;
  }
  return arr;
}

/* Metadata.PropertyList[key] and Metadata.PropertyList.key */
static cJSON *property_list(const form_state *s)
{
  static const char prefix[] = "Metadata.PropertyList";
  const size_t plen = sizeof prefix - 1;
  cJSON *o = cJSON_CreateObject();
  for (size_t i = 0; i < s->nfields; i++) {
    const char *k = s->fields[i].key;
    if (strncasecmp(k, prefix, plen) != 0)
      continue;
    k += plen;
    char name[256];
    size_t n = strlen(k);
    if (k[0] == '[' && n > 2 && k[n - 1] == ']')
      snprintf(name, sizeof name, "%.*s", (int)(n - 2), k + 1);
    else if (k[0] == '.' && n > 1)
      snprintf(name, sizeof name, "%s", k + 1);
    else
      continue;
    if (!cJSON_GetObjectItemCaseSensitive(o, name))
      cJSON_AddStringToObject(o, name, s->fields[i].value);
  }
  return o;
}

/* The form as the JSON body initialize takes; conversion errors go to errors. */
static cJSON *metadata(const form_state *s, cJSON *errors)
{
  static const struct {
    const char *form, *json;
  } strings[] = {{"Metadata.FileName", "fileName"},
                 {"Metadata.ResourceId", "resourceId"},
                 {"Metadata.SendersFileTransferReference", "sendersFileTransferReference"},
                 {"Metadata.Sender", "sender"},
                 {"Metadata.Checksum", "checksum"}};
  cJSON *body = cJSON_CreateObject();
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
    const field *f = first(s, strings[i].form);
    if (f && f->len > 0) /* ASP.NET binds "" as null */
      cJSON_AddStringToObject(body, strings[i].json, f->value);
  }
  cJSON *rc = recipients(s);
  if (rc)
    cJSON_AddItemToObject(body, "recipients", rc);
  cJSON_AddItemToObject(body, "propertyList", property_list(s));
  const field *dvs = first(s, "Metadata.DisableVirusScan");
  if (dvs && dvs->len > 0) {
    if (strcasecmp(dvs->value, "true") == 0 || strcasecmp(dvs->value, "false") == 0) {
      cJSON_AddBoolToObject(body, "disableVirusScan", strcasecmp(dvs->value, "true") == 0);
    } else {
      char msg[300];
      snprintf(msg, sizeof msg, "The value '%.200s' is not valid for DisableVirusScan.", dvs->value);
      emu_problem_add(errors, "Metadata.DisableVirusScan", msg);
    }
  }
  return body;
}

static void form_finish(emu_request *r)
{
  form_state *s = r->state;
  if (!s)
    return;
  if (s->pp) {
    MHD_destroy_post_processor(s->pp);
    s->pp = NULL;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  char md5[33] = "";
  EVP_DigestFinal_ex(s->md5, digest, &dlen);
  emu_hex(digest, dlen < 16 ? dlen : 16, md5);
  if (close(s->fd) != 0 && !s->write_errno)
    s->write_errno = errno;
  s->fd = -1;
  if (s->too_big) {
    emu_problem(r, 400, 0, "Multipart body length limit 2147483647 exceeded.");
    return;
  }
  if (s->write_errno) {
    fprintf(stderr, "altinn-emulator: writing %s: %s\n", s->temp_path, strerror(s->write_errno));
    emu_problem(r, 500, 8, NULL);
    return;
  }

  cJSON *errors = cJSON_CreateObject();
  cJSON *body = metadata(s, errors);
  if (!s->has_file)
    emu_problem_add(errors, "FileTransfer", "The FileTransfer field is required.");
  char id[37];
  bool created = emu_broker_initialize(r, body, errors, "Metadata.", id);
  cJSON_Delete(body);
  if (!created)
    return;

  /* the upload half (§3.2), on the transfer just created */
  emu_store_lock();
  emu_transfer *t = emu_store_get(id);
  if (!t) {
    emu_problem(r, 404, 1, NULL); /* reset meanwhile */
  } else if (emu_broker_size_ok(r, t, s->file_bytes)) {
    emu_store_set_status(t, EMU_FT_UPLOAD_STARTED, NULL);
    emu_broker_upload_complete(r, t, s->temp_path, s->file_bytes, md5);
  }
  emu_store_unlock();
}

static void form_cleanup(emu_request *r, bool completed)
{
  (void)completed;
  form_state *s = r->state;
  if (!s)
    return;
  if (s->pp)
    MHD_destroy_post_processor(s->pp);
  if (s->fd >= 0)
    close(s->fd);
  if (s->temp_path)
    unlink(s->temp_path); /* renamed into place on success; else a leftover */
  for (size_t i = 0; i < s->nfields; i++) {
    free(s->fields[i].key);
    free(s->fields[i].value);
  }
  free(s->fields);
  free(s->temp_path);
  EVP_MD_CTX_free(s->md5);
  free(s);
  r->state = NULL;
}

const emu_endpoint emu_ep_initialize_upload = {
    .name = "initialize_upload",
    .method = "POST",
    .flags = EMU_F_BROKER | EMU_F_JSON | EMU_F_RATE,
    .scope_a = EMU_SCOPE_WRITE,
    .begin = form_begin,
    .data = form_data,
    .finish = form_finish,
    .cleanup = form_cleanup,
};
