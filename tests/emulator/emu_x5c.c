/* emu_x5c.c - see emu_x5c.h. */
#include "emu_x5c.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "emu_jwt.h"

#define PREFIX "Invalid assertion. Client authentication failed. "

/* Decodes one x5c entry (standard base64 of DER, RFC 7517 §4.7). */
static X509 *decode_cert(const cJSON *it)
{
  if (!cJSON_IsString(it))
    return NULL;
  size_t len;
  unsigned char *der = emu_b64_decode(it->valuestring, strlen(it->valuestring), false, &len);
  const unsigned char *p = der;
  X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;
  if (x && p != der + len) { /* trailing bytes: not one DER certificate */
    X509_free(x);
    x = NULL;
  }
  free(der);
  return x;
}

/* The 9-digit organisation number a Norwegian enterprise certificate
 * carries: subject serialNumber (Buypass, Commfides) or
 * organizationIdentifier "NTRNO-<orgnr>" (newer eIDAS profiles). */
static bool cert_org(X509 *x, char org[16])
{
  const X509_NAME *name = X509_get_subject_name(x);
  const int nids[] = {NID_serialNumber, NID_organizationIdentifier};
  for (size_t i = 0; i < 2; i++) {
    int pos = X509_NAME_get_index_by_NID(name, nids[i], -1);
    if (pos < 0)
      continue;
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
    const char *s = (const char *)ASN1_STRING_get0_data(v);
    int n = ASN1_STRING_length(v);
    if (n == 15 && strncmp(s, "NTRNO-", 6) == 0) {
      s += 6;
      n = 9;
    }
    bool digits = n == 9;
    for (int k = 0; digits && k < 9; k++)
      digits = isdigit((unsigned char)s[k]);
    if (digits) {
      memcpy(org, s, 9);
      org[9] = '\0';
      return true;
    }
  }
  return false;
}

/* Trusted and valid now: chains to the enterprise CAs (x5c[1..] as
 * intermediates), or is exactly the client's registered certificate. */
static bool trusted(const emu_config *cfg, const emu_client *client, X509 *leaf,
                    STACK_OF(X509) *chain, char *why, size_t whylen)
{
  if (client->cert && X509_cmp(leaf, client->cert) == 0) {
    if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
      snprintf(why, whylen, "certificate is not yet valid");
      return false;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
      snprintf(why, whylen, "certificate has expired");
      return false;
    }
    return true;
  }
  if (!cfg->enterprise_ca) {
    snprintf(why, whylen, "certificate is not registered for the client");
    return false;
  }
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  bool ok = ctx && X509_STORE_CTX_init(ctx, cfg->enterprise_ca, leaf, chain) == 1 &&
            X509_verify_cert(ctx) == 1;
  if (!ok)
    snprintf(why, whylen, "%s",
             ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)) : "out of memory");
  X509_STORE_CTX_free(ctx);
  return ok;
}

EVP_PKEY *emu_x5c_key(const emu_config *cfg, const emu_client *client, const cJSON *x5c, char *err,
                      size_t errlen)
{
  if (!cJSON_IsArray(x5c) || cJSON_GetArraySize(x5c) == 0) {
    snprintf(err, errlen, "Invalid JWT header x5c (MP-123)");
    return NULL;
  }
  X509 *leaf = NULL;
  STACK_OF(X509) *chain = sk_X509_new_null();
  EVP_PKEY *key = NULL;
  const cJSON *it;
  cJSON_ArrayForEach(it, x5c)
  {
    X509 *x = decode_cert(it);
    if (!x) {
      snprintf(err, errlen, "Invalid JWT header x5c (MP-123)");
      goto out;
    }
    if (!leaf)
      leaf = x;
    else
      sk_X509_push(chain, x);
  }
  char why[160], org[16];
  if (!trusted(cfg, client, leaf, chain, why, sizeof why)) {
    snprintf(err, errlen, PREFIX "JWT is signed with an invalid certificate: %s (MP-120)", why);
    goto out;
  }
  if (!cert_org(leaf, org) || strcmp(org, client->org) != 0) {
    snprintf(err, errlen,
             PREFIX "Invalid organization number for client. Does not match certificate orgno "
                    "(MP-122)");
    goto out;
  }
  key = X509_get_pubkey(leaf);
out:
  X509_free(leaf);
  sk_X509_pop_free(chain, X509_free);
  return key;
}
