/* emu_broker.c - see emu_broker.h. */
#include "emu_broker.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "emu_clock.h"
#include "emu_problem.h"

emu_transfer *emu_broker_find(emu_request *r)
{
  emu_transfer *t = emu_store_get(r->id);
  if (!t)
    emu_problem(r, 404, 1, NULL);
  return t;
}

bool emu_broker_is_sender(const emu_request *r, const emu_transfer *t)
{
  return strcmp(r->caller.org, t->sender_org) == 0 &&
         (emu_resource_actions(t->resource, r->caller.org) & EMU_ACT_WRITE);
}

long emu_broker_recipient(const emu_request *r, const emu_transfer *t)
{
  if (!(emu_resource_actions(t->resource, r->caller.org) & EMU_ACT_READ))
    return -1;
  return emu_store_recipient_index(t, r->caller.org);
}

static bool digits(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      return false;
  return true;
}

bool emu_broker_party(const char *s, char org[16])
{
  static const char urn[] = "urn:altinn:organization:identifier-no:";
  const size_t ulen = sizeof urn - 1;
  const char *num = NULL;
  if (!s)
    return false;
  size_t n = strlen(s);
  if (n == 14 && s[4] == ':' && digits(s, 4) && digits(s + 5, 9))
    num = s + 5;
  else if (n == ulen + 9 && strncmp(s, urn, ulen) == 0 && digits(s + ulen, 9))
    num = s + ulen;
  if (!num)
    return false;
  memcpy(org, num, 9);
  org[9] = '\0';
  return true;
}

#define SCAN_CAP ((int64_t)50 * 1000 * 1000 * 1000) /* 50 GB, virus-scanned transfers */

bool emu_broker_storage_ready(emu_request *r, const emu_resource *res)
{
  switch (emu_registry_owner_state(res->owner)) {
  case EMU_OWNER_NONE:
    emu_problem(r, 400, 2, NULL);
    return false;
  case EMU_OWNER_DEPLOYING:
    emu_problem(r, 503, 21, NULL);
    return false;
  default:
    return true;
  }
}

bool emu_broker_size_ok(emu_request *r, const emu_transfer *t, int64_t len)
{
  emu_resource_settings s;
  emu_registry_settings(t->resource, &s);
  if ((s.max_size >= 0 && len > s.max_size) || (t->use_virus_scan && len > SCAN_CAP)) {
    emu_problem(r, 400, 16, NULL);
    return false;
  }
  return true;
}

void emu_broker_upload_stored(emu_transfer *t, int64_t size, const char md5[33], bool tus)
{
  t->has_file = true;
  t->size = size;
  memcpy(t->stored_md5, md5, sizeof t->stored_md5);
  if (!t->checksum_given)
    memcpy(t->checksum, md5, sizeof t->checksum); /* the service fills in the computed MD5 */
  emu_knobs k;
  emu_knobs_get(&k);
  if ((k.virus_scan && t->use_virus_scan) || (tus && t->checksum_given)) {
    t->processing_due = emu_clock_now_us() + (int64_t)k.upload_processing_delay_ms * 1000;
    emu_store_set_status(t, EMU_FT_UPLOAD_PROCESSING, NULL);
  } else {
    emu_store_set_status(t, EMU_FT_PUBLISHED, NULL);
  }
}

void emu_broker_upload_complete(emu_request *r, emu_transfer *t, const char *temp_path, int64_t size,
                                const char md5[33])
{
  if (t->checksum_given && strcasecmp(t->checksum, md5) != 0) {
    unlink(temp_path); /* the service deletes the blob */
    emu_store_set_status(t, EMU_FT_FAILED, "Checksum mismatch");
    emu_problem(r, 400, 9, NULL);
    return;
  }
  char *final = emu_store_file_path(t);
  if (!final || rename(temp_path, final) != 0) {
    fprintf(stderr, "altinn-emulator: rename to %s: %s\n", final ? final : "?", strerror(errno));
    free(final);
    unlink(temp_path);
    emu_store_set_status(t, EMU_FT_FAILED, "Error occurred while uploading fileTransfer");
    emu_problem(r, 500, 8, NULL);
    return;
  }
  free(final);
  emu_broker_upload_stored(t, size, md5, false);
  cJSON *resp = cJSON_CreateObject();
  cJSON_AddStringToObject(resp, "fileTransferId", t->id);
  emu_reply_json(r, 200, resp);
}

static void add_time(cJSON *o, const char *key, int64_t us)
{
  if (us == 0) {
    cJSON_AddNullToObject(o, key);
    return;
  }
  char iso[EMU_ISO_LEN];
  emu_clock_iso(us, iso);
  cJSON_AddStringToObject(o, key, iso);
}

cJSON *emu_broker_transfer_json(const emu_transfer *t, bool details)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "fileTransferId", t->id);
  cJSON_AddStringToObject(o, "resourceId", t->resource->id);
  cJSON_AddStringToObject(o, "fileName", t->file_name);
  cJSON_AddStringToObject(o, "sendersFileTransferReference", t->ref);
  if (t->checksum[0])
    cJSON_AddStringToObject(o, "checksum", t->checksum);
  else
    cJSON_AddNullToObject(o, "checksum");
  cJSON_AddBoolToObject(o, "useVirusScan", t->use_virus_scan);
  cJSON_AddNumberToObject(o, "fileTransferSize", (double)t->size);
  cJSON_AddStringToObject(o, "fileTransferStatus", emu_ft_status_name(t->status));
  cJSON_AddStringToObject(o, "fileTransferStatusText",
                          t->status_text ? t->status_text : emu_ft_status_text(t->status));
  add_time(o, "fileTransferStatusChanged", t->status_changed);
  add_time(o, "created", t->created);
  add_time(o, "expirationTime", t->expiration);
  cJSON_AddStringToObject(o, "sender", t->sender);
  cJSON *recips = cJSON_AddArrayToObject(o, "recipients");
  for (size_t i = 0; i < t->nrecipients; i++) {
    const emu_recipient *rc = &t->recipients[i];
    cJSON *ro = cJSON_CreateObject();
    cJSON_AddStringToObject(ro, "recipient", rc->id);
    cJSON_AddStringToObject(ro, "currentRecipientFileTransferStatusCode",
                            emu_rs_status_name(rc->status));
    cJSON_AddStringToObject(ro, "currentRecipientFileTransferStatusText",
                            emu_rs_status_text(rc->status));
    add_time(ro, "currentRecipientFileTransferStatusChanged", rc->changed);
    cJSON_AddItemToArray(recips, ro);
  }
  cJSON_AddItemToObject(o, "propertyList", t->property_list ? cJSON_Duplicate(t->property_list, 1)
                                                            : cJSON_CreateObject());
  if (!details) {
    add_time(o, "published", t->published);
    return o;
  }
  cJSON *hist = cJSON_AddArrayToObject(o, "fileTransferStatusHistory");
  for (size_t i = 0; i < t->nhist; i++) {
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "fileTransferStatus", emu_ft_status_name(t->hist[i].status));
    cJSON_AddStringToObject(h, "fileTransferStatusText",
                            t->hist[i].text ? t->hist[i].text : emu_ft_status_text(t->hist[i].status));
    add_time(h, "fileTransferStatusChanged", t->hist[i].at);
    cJSON_AddItemToArray(hist, h);
  }
  cJSON *rhist = cJSON_AddArrayToObject(o, "recipientFileTransferStatusHistory");
  for (size_t i = 0; i < t->nrhist; i++) {
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "recipient", t->recipients[t->rhist[i].recipient].id);
    cJSON_AddStringToObject(h, "recipientFileTransferStatusCode",
                            emu_rs_status_name(t->rhist[i].status));
    cJSON_AddStringToObject(h, "recipientFileTransferStatusText",
                            emu_rs_status_text(t->rhist[i].status));
    add_time(h, "recipientFileTransferStatusChanged", t->rhist[i].at);
    cJSON_AddItemToArray(rhist, h);
  }
  return o;
}
