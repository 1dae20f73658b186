/* emu_seed.c - POST /_emulator/seed: many Published transfers at once, for
 * tests that need an inbox of thousands of files without spending minutes
 * on initialize + upload at Altinn's 120 calls per minute.
 *
 * Body (all but resourceId optional):
 *   {"resourceId":"demo-resource", "sender":"0192:312345678",
 *    "recipients":["0192:999888777"], "count":5000,
 *    "fileName":"seed-{n}.txt", "names":["a.txt","b.txt"], "size":64}
 * "{n}" in fileName becomes the 1-based index, zero-padded to 5 digits;
 * "names" (when given) names the transfers one by one instead (and sets
 * the count). The content of file i is the line "seed file <i>\n" repeated
 * and cut to `size` bytes. Each transfer goes Initialized -> Published
 * exactly as an upload would (events included; virus scan skipped).
 * Answers {"fileTransferIds":[...]} in creation order.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_broker.h"
#include "emu_endpoints.h"
#include "emu_store.h"
#include "emu_util.h"

#define SEED_MAX 100000
#define SEED_SIZE_MAX (16 * 1024 * 1024)

static void bad(emu_request *r, const char *msg)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "error", msg);
  emu_reply_json(r, 400, j);
}

/* Writes file i's content; fills md5. false on I/O error. */
static bool write_content(const char *path, long index, long size, char md5[33])
{
  FILE *f = fopen(path, "wb");
  if (!f)
    return false;
  char line[64];
  int ll = snprintf(line, sizeof line, "seed file %ld\n", index);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
  bool ok = true;
  for (long done = 0; done < size && ok;) {
    long n = size - done < ll ? size - done : ll;
    ok = fwrite(line, 1, (size_t)n, f) == (size_t)n;
    EVP_DigestUpdate(ctx, line, (size_t)n);
    done += n;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  EVP_DigestFinal_ex(ctx, digest, &dl);
  EVP_MD_CTX_free(ctx);
  emu_hex(digest, dl, md5);
  return fclose(f) == 0 && ok;
}

/* "{n}" -> zero-padded index; no format strings from the request. */
static void make_name(const char *pattern, long index, char *out, size_t outsz)
{
  const char *at = strstr(pattern, "{n}");
  if (!at) {
    snprintf(out, outsz, "%s", pattern);
    return;
  }
  snprintf(out, outsz, "%.*s%05ld%s", (int)(at - pattern), pattern, index, at + 3);
}

static void seed_finish(emu_request *r)
{
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  const cJSON *res_id = cJSON_GetObjectItem(body, "resourceId");
  const cJSON *sender = cJSON_GetObjectItem(body, "sender");
  const cJSON *recips = cJSON_GetObjectItem(body, "recipients");
  const cJSON *count = cJSON_GetObjectItem(body, "count");
  const cJSON *pattern = cJSON_GetObjectItem(body, "fileName");
  const cJSON *names = cJSON_GetObjectItem(body, "names");
  const cJSON *size = cJSON_GetObjectItem(body, "size");
  const emu_resource *res = cJSON_IsString(res_id) ? emu_config_resource(r->cfg, res_id->valuestring) : NULL;
  char sender_org[16] = "";
  const char *sender_s = cJSON_IsString(sender) ? sender->valuestring : "0192:312345678";
  long n = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : cJSON_IsNumber(count) ? (long)count->valuedouble : 1;
  long bytes = cJSON_IsNumber(size) ? (long)size->valuedouble : 64;
  int nrecips = cJSON_IsArray(recips) ? cJSON_GetArraySize(recips) : 0;
  if (!res) {
    bad(r, "resourceId must name a resource of the config");
  } else if (!emu_broker_party(sender_s, sender_org)) {
    bad(r, "sender must be 0192:<orgnr> or the URN form");
  } else if (nrecips < 1) {
    bad(r, "recipients must list at least one 0192:<orgnr>");
  } else if (n < 1 || n > SEED_MAX || bytes < 0 || bytes > SEED_SIZE_MAX) {
    bad(r, "count must be 1..100000 and size 0..16 MiB");
  }
  if (emu_replied(r)) {
    cJSON_Delete(body);
    return;
  }
  char (*orgs)[16] = calloc((size_t)(nrecips > 0 ? nrecips : 1), sizeof *orgs);
  for (int i = 0; orgs && i < nrecips; i++) {
    const cJSON *it = cJSON_GetArrayItem(recips, i);
    if (!cJSON_IsString(it) || !emu_broker_party(it->valuestring, orgs[i])) {
      bad(r, "each recipient must be 0192:<orgnr> or the URN form");
      break;
    }
  }
  if (!orgs || emu_replied(r)) {
    if (!orgs)
      emu_reply_empty(r, 500);
    free(orgs);
    cJSON_Delete(body);
    return;
  }
  cJSON *ids = cJSON_CreateArray();
  bool failed = false;
  emu_store_lock();
  for (long i = 0; i < n && !failed; i++) {
    char name[300];
    const cJSON *given = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, (int)i) : NULL;
    if (given)
      snprintf(name, sizeof name, "%s", cJSON_IsString(given) ? given->valuestring : "");
    else
      make_name(cJSON_IsString(pattern) ? pattern->valuestring : "seed-{n}.txt", i + 1, name,
                sizeof name);
    emu_transfer *t = emu_store_new(res);
    if (!t) {
      failed = true;
      break;
    }
    t->file_name = strdup(name);
    t->ref = strdup("emulator-seed");
    t->sender = strdup(sender_s);
    snprintf(t->sender_org, sizeof t->sender_org, "%s", sender_org);
    t->recipients = calloc((size_t)(nrecips > 0 ? nrecips : 1), sizeof *t->recipients);
    for (int k = 0; t->recipients && k < nrecips; k++) {
      char id[24];
      snprintf(id, sizeof id, "0192:%s", orgs[k]);
      t->recipients[k].id = strdup(id);
      snprintf(t->recipients[k].org, sizeof t->recipients[k].org, "%s", orgs[k]);
    }
    t->nrecipients = t->recipients ? (size_t)nrecips : 0;
    t->property_list = cJSON_CreateObject();
    t->use_virus_scan = false;
    emu_store_set_status(t, EMU_FT_INITIALIZED, NULL);
    for (size_t k = 0; k < t->nrecipients; k++)
      emu_store_set_recipient_status(t, k, EMU_RS_INITIALIZED, NULL);
    char md5[33] = "";
    char *path = emu_store_file_path(t);
    if (!path || !write_content(path, i + 1, bytes, md5)) {
      free(path);
      emu_store_set_status(t, EMU_FT_FAILED, "Error occurred while uploading fileTransfer");
      failed = true;
      break;
    }
    free(path);
    emu_store_set_status(t, EMU_FT_UPLOAD_STARTED, NULL);
    emu_broker_upload_stored(t, bytes, md5, false);
    cJSON_AddItemToArray(ids, cJSON_CreateString(t->id));
  }
  emu_store_unlock();
  free(orgs);
  cJSON_Delete(body);
  if (failed) {
    cJSON_Delete(ids);
    emu_reply_empty(r, 500);
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON_AddItemToObject(j, "fileTransferIds", ids);
  emu_reply_json(r, 200, j);
}

const emu_endpoint emu_ep_seed = {
    .name = "seed", .method = "POST", .flags = EMU_F_NOFAULT | EMU_F_NOCOUNT, .finish = seed_finish,
};
