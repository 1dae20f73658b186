/* ab_key.c - loading a Maskinporten client's key or enterprise certificate
 * (see ab_key.h). */
#include "ab_key.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ab_base64.h"
#include "ab_secret.h"

#define MAX_CHAIN 10

struct ab_key {
  EVP_PKEY *pkey;
  char alg[8];
  char *kid;     /* NULL in certificate mode */
  X509 *leaf;    /* NULL in key mode */
  char *x5c[MAX_CHAIN];
  size_t n_x5c;
};

/* The last OpenSSL error's reason, then the queue cleared. Library reason
 * strings name what failed, never key material. */
static const char *ossl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
  ERR_clear_error();
  return r != NULL ? r : "unknown OpenSSL error";
}

void ab_key_free(ab_key *k) {
  if (k == NULL) {
    return;
  }
  EVP_PKEY_free(k->pkey); /* private components are cleared by OpenSSL */
  X509_free(k->leaf);
  for (size_t i = 0; i < k->n_x5c; i++) {
    free(k->x5c[i]);
  }
  free(k->kid);
  free(k);
}

EVP_PKEY *ab_key_pkey(const ab_key *k) { return k->pkey; }
const char *ab_key_alg(const ab_key *k) { return k->alg; }
const char *ab_key_kid(const ab_key *k) { return k->kid; }
int ab_key_bits(const ab_key *k) { return EVP_PKEY_get_bits(k->pkey); }

size_t ab_key_x5c(const ab_key *k, const char *const **certs) {
  *certs = (const char *const *) k->x5c;
  return k->n_x5c;
}

static int check_alg(const char *alg, ab_error *err) {
  if (strcmp(alg, "RS256") != 0 && strcmp(alg, "RS384") != 0 && strcmp(alg, "RS512") != 0) {
    return ab_error_set(err, EINVAL, "alg=%s is not supported: Maskinporten accepts RS256, "
                        "RS384 and RS512", alg);
  }
  return 0;
}

/* Maskinporten signs and verifies with RSA only. */
static int check_rsa(EVP_PKEY *key, const char *path, ab_error *err) {
  if (!EVP_PKEY_is_a(key, "RSA")) {
    return ab_error_set(err, EINVAL, "%s is not an RSA key (Maskinporten grants are signed "
                        "with RS256/RS384/RS512, which need RSA)", path);
  }
  if (EVP_PKEY_get_bits(key) < 2048) {
    return ab_error_set(err, EINVAL, "%s is a %d-bit RSA key; Maskinporten needs at least "
                        "2048 bits", path, EVP_PKEY_get_bits(key));
  }
  return 0;
}

/* ---- PEM private key ---- */

typedef struct pem_pass {
  const char *password;  /* NULL: the key must not be encrypted */
  int asked;
} pem_pass;

static int key_password_cb(char *buf, int size, int rwflag, void *u) {
  (void) rwflag;
  pem_pass *p = u;
  p->asked = 1;
  if (p->password == NULL) {
    return -1; /* never prompt on a terminal */
  }
  int n = (int) strlen(p->password);
  if (n > size) {
    return -1;
  }
  memcpy(buf, p->password, (size_t) n);
  return n;
}

static EVP_PKEY *load_pem_key(const ab_key_source *src, const char *password,
                              ab_error *err) {
  char *pem = NULL;
  size_t len = 0;
  if (ab_secret_read_file(src->key_path, "private key", &pem, &len, err) < 0) {
    return NULL;
  }
  BIO *bio = BIO_new_mem_buf(pem, (int) len);
  pem_pass pass = { password, 0 };
  EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, key_password_cb, &pass) : NULL;
  BIO_free(bio);
  ab_secret_wipe(pem, len);
  if (key == NULL) {
    const char *why = ossl_reason();
    if (pass.asked && password == NULL) {
      ab_error_set(err, EINVAL, "private key %s is encrypted: give its password with "
                   "key-password-file=", src->key_path);
    } else if (pass.asked) {
      ab_error_set(err, EINVAL, "cannot decrypt private key %s: wrong password in %s (%s)",
                   src->key_path, src->key_password_path, why);
    } else {
      ab_error_set(err, EINVAL, "cannot read private key %s (expected PEM, PKCS#1 or "
                   "PKCS#8): %s", src->key_path, why);
    }
    return NULL;
  }
  return key;
}

/* ---- certificates ---- */

static char *der_b64(X509 *x) {
  unsigned char *der = NULL;
  int n = i2d_X509(x, &der);
  if (n <= 0) {
    return NULL;
  }
  char *out = malloc(4 * (((size_t) n + 2) / 3) + 1);
  if (out != NULL) {
    EVP_EncodeBlock((unsigned char *) out, der, n); /* standard alphabet, as x5c wants */
  }
  OPENSSL_free(der);
  return out;
}

/* x5c = leaf, then each certificate's issuer from `others` (by
 * X509_check_issued, not file order: bundles from Buypass/Commfides hold
 * unrelated certificates too), until a self-signed one or none is found. */
static int build_x5c(ab_key *k, STACK_OF(X509) *others, ab_error *err) {
  X509 *cur = k->leaf;
  int used[64] = { 0 };
  int n_others = others != NULL ? sk_X509_num(others) : 0;
  for (;;) {
    if (k->n_x5c == MAX_CHAIN) {
      break;
    }
    char *b = der_b64(cur);
    if (b == NULL) {
      return ab_error_set(err, ENOMEM, "cannot encode certificate for x5c");
    }
    k->x5c[k->n_x5c++] = b;
    if (X509_check_issued(cur, cur) == X509_V_OK) {
      break; /* self-signed root */
    }
    X509 *next = NULL;
    for (int i = 0; i < n_others && i < 64; i++) {
      X509 *c = sk_X509_value(others, i);
      if (!used[i] && X509_cmp(c, cur) != 0 && X509_check_issued(c, cur) == X509_V_OK) {
        used[i] = 1;
        next = c;
        break;
      }
    }
    if (next == NULL) {
      break;
    }
    cur = next;
  }
  return 0;
}

/* Reads every certificate of a PEM file (public: no secret-file rules). */
static STACK_OF(X509) *read_pem_certs(const char *path, ab_error *err) {
  BIO *bio = BIO_new_file(path, "r");
  if (bio == NULL) {
    ERR_clear_error();
    ab_error_set(err, errno != 0 ? errno : ENOENT, "cannot open certificate file %s: %s",
                 path, strerror(errno != 0 ? errno : ENOENT));
    return NULL;
  }
  STACK_OF(X509) *certs = sk_X509_new_null();
  X509 *x;
  while (certs != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (!sk_X509_push(certs, x)) {
      X509_free(x);
    }
  }
  ERR_clear_error(); /* the loop ends with "no start line" */
  BIO_free(bio);
  if (certs == NULL || sk_X509_num(certs) == 0) {
    sk_X509_pop_free(certs, X509_free);
    ab_error_set(err, EINVAL, "certificate file %s holds no PEM certificate", path);
    return NULL;
  }
  return certs;
}

static int attach_pem_cert(ab_key *k, const ab_key_source *src, ab_error *err) {
  STACK_OF(X509) *certs = read_pem_certs(src->cert_path, err);
  if (certs == NULL) {
    return -1;
  }
  for (int i = 0; i < sk_X509_num(certs) && k->leaf == NULL; i++) {
    X509 *c = sk_X509_value(certs, i);
    if (X509_check_private_key(c, k->pkey) == 1) {
      k->leaf = c;
      X509_up_ref(c);
    }
  }
  ERR_clear_error();
  int rc = 0;
  if (k->leaf == NULL) {
    rc = ab_error_set(err, EINVAL, "no certificate in %s belongs to the private key %s "
                      "(cert= and key= must be the two halves of one enterprise certificate)",
                      src->cert_path, src->key_path);
  } else {
    rc = build_x5c(k, certs, err);
  }
  sk_X509_pop_free(certs, X509_free);
  return rc;
}

/* ---- PKCS#12 ---- */

/* Moves a key or certificate parsed in another library context into the
 * default one by DER round trip, so the other context can be freed. */
static EVP_PKEY *reimport_key(EVP_PKEY *key) {
  unsigned char *der = NULL;
  int n = i2d_PrivateKey(key, &der);
  if (n <= 0) {
    return NULL;
  }
  const unsigned char *p = der;
  EVP_PKEY *out = d2i_AutoPrivateKey(NULL, &p, n);
  OPENSSL_clear_free(der, (size_t) n);
  return out;
}

static X509 *reimport_cert(X509 *x) {
  unsigned char *der = NULL;
  int n = i2d_X509(x, &der);
  if (n <= 0) {
    return NULL;
  }
  const unsigned char *p = der;
  X509 *out = d2i_X509(NULL, &p, n);
  OPENSSL_free(der);
  return out;
}

/* Parses with `pass`, trying "" and NULL too when no password was given. */
static int p12_parse(PKCS12 *p12, const char *pass, EVP_PKEY **key, X509 **leaf,
                     STACK_OF(X509) **ca) {
  if (pass != NULL) {
    return PKCS12_parse(p12, pass, key, leaf, ca);
  }
  if (PKCS12_parse(p12, "", key, leaf, ca)) {
    return 1;
  }
  return PKCS12_parse(p12, NULL, key, leaf, ca);
}

/* Old .p12 files (RC2-40, 3DES) need OpenSSL's legacy provider. It is loaded
 * into a private library context, used only for this parse, so the rest of
 * the process (ProFTPD, mod_sftp) never sees legacy algorithms. */
static int p12_parse_legacy(PKCS12 *p12, const char *pass, EVP_PKEY **key, X509 **leaf,
                            STACK_OF(X509) **ca, int *no_legacy) {
  *no_legacy = 0;
  OSSL_LIB_CTX *lctx = OSSL_LIB_CTX_new();
  OSSL_PROVIDER *legacy = lctx != NULL ? OSSL_PROVIDER_load(lctx, "legacy") : NULL;
  OSSL_PROVIDER *deflt = lctx != NULL ? OSSL_PROVIDER_load(lctx, "default") : NULL;
  if (legacy == NULL || deflt == NULL) {
    *no_legacy = 1;
    OSSL_PROVIDER_unload(legacy);
    OSSL_PROVIDER_unload(deflt);
    OSSL_LIB_CTX_free(lctx);
    return 0;
  }
  /* PKCS12_parse fetches its algorithms from the thread's default context. */
  OSSL_LIB_CTX *prev = OSSL_LIB_CTX_set0_default(lctx);
  EVP_PKEY *k = NULL;
  X509 *l = NULL;
  STACK_OF(X509) *c = NULL;
  int ok = p12_parse(p12, pass, &k, &l, &c);
  OSSL_LIB_CTX_set0_default(prev);
  if (ok) {
    *key = k != NULL ? reimport_key(k) : NULL;
    *leaf = l != NULL ? reimport_cert(l) : NULL;
    *ca = sk_X509_new_null();
    for (int i = 0; c != NULL && *ca != NULL && i < sk_X509_num(c); i++) {
      X509 *x = reimport_cert(sk_X509_value(c, i));
      if (x != NULL && !sk_X509_push(*ca, x)) {
        X509_free(x);
      }
    }
    ok = *key != NULL && *leaf != NULL && *ca != NULL;
  }
  EVP_PKEY_free(k);
  X509_free(l);
  sk_X509_pop_free(c, X509_free);
  OSSL_PROVIDER_unload(legacy);
  OSSL_PROVIDER_unload(deflt);
  OSSL_LIB_CTX_free(lctx);
  return ok;
}

static int load_p12(ab_key *k, const ab_key_source *src, const char *pass, ab_error *err) {
  char *buf = NULL;
  size_t len = 0;
  if (ab_secret_read_file(src->p12_path, "PKCS#12 file", &buf, &len, err) < 0) {
    return -1;
  }
  const unsigned char *p = (const unsigned char *) buf;
  PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long) len);
  ab_secret_wipe(buf, len);
  if (p12 == NULL) {
    return ab_error_set(err, EINVAL, "%s is not a PKCS#12 (.p12/.pfx) file: %s",
                        src->p12_path, ossl_reason());
  }
  /* The MAC tells a wrong password apart from an unsupported cipher; it
   * uses SHA-1/SHA-256 HMAC, which the default provider has. */
  if (PKCS12_mac_present(p12)) {
    int mac_ok = pass != NULL ? PKCS12_verify_mac(p12, pass, -1)
                              : (PKCS12_verify_mac(p12, "", 0) || PKCS12_verify_mac(p12, NULL, 0));
    if (!mac_ok) {
      PKCS12_free(p12);
      ERR_clear_error();
      if (pass == NULL) {
        return ab_error_set(err, EINVAL, "PKCS#12 file %s needs a password: give it with "
                            "p12-password-file=", src->p12_path);
      }
      return ab_error_set(err, EINVAL, "wrong password for PKCS#12 file %s (MAC check "
                          "failed; see p12-password-file=%s)", src->p12_path,
                          src->p12_password_path);
    }
  }
  EVP_PKEY *key = NULL;
  X509 *leaf = NULL;
  STACK_OF(X509) *ca = NULL;
  int ok = p12_parse(p12, pass, &key, &leaf, &ca);
  if (!ok) {
    ERR_clear_error();
    int no_legacy = 0;
    ok = p12_parse_legacy(p12, pass, &key, &leaf, &ca, &no_legacy);
    if (!ok && no_legacy) {
      PKCS12_free(p12);
      ERR_clear_error();
      return ab_error_set(err, EINVAL, "PKCS#12 file %s uses a legacy cipher (RC2/3DES) and "
                          "OpenSSL's legacy provider (ossl-modules/legacy.so) cannot be "
                          "loaded; convert the file: openssl pkcs12 -legacy -in OLD.p12 "
                          "-nodes | openssl pkcs12 -export -out NEW.p12", src->p12_path);
    }
  }
  PKCS12_free(p12);
  if (!ok) {
    return ab_error_set(err, EINVAL, "cannot read PKCS#12 file %s: %s", src->p12_path,
                        ossl_reason());
  }
  if (key == NULL || leaf == NULL) {
    EVP_PKEY_free(key);
    X509_free(leaf);
    sk_X509_pop_free(ca, X509_free);
    return ab_error_set(err, EINVAL, "PKCS#12 file %s does not hold a private key with its "
                        "certificate", src->p12_path);
  }
  k->pkey = key;
  k->leaf = leaf;
  int rc = build_x5c(k, ca, err);
  sk_X509_pop_free(ca, X509_free);
  return rc;
}

/* ---- JWK ---- */

static BIGNUM *jwk_bn(const cJSON *jwk, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);
  if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
    return NULL;
  }
  size_t n = 0;
  unsigned char *raw = ab_base64url_decode(v->valuestring, strlen(v->valuestring), &n);
  if (raw == NULL) {
    return NULL;
  }
  BIGNUM *bn = BN_bin2bn(raw, (int) n, NULL);
  OPENSSL_cleanse(raw, n);
  free(raw);
  return bn;
}

/* Builds the RSA key from the JWK's members (RFC 7518 §6.3). */
static EVP_PKEY *jwk_to_pkey(const cJSON *jwk, const char *path, ab_error *err) {
  static const struct { const char *member; const char *param; int required; } parts[] = {
    { "n", OSSL_PKEY_PARAM_RSA_N, 1 },
    { "e", OSSL_PKEY_PARAM_RSA_E, 1 },
    { "d", OSSL_PKEY_PARAM_RSA_D, 1 },
    { "p", OSSL_PKEY_PARAM_RSA_FACTOR1, 0 },
    { "q", OSSL_PKEY_PARAM_RSA_FACTOR2, 0 },
    { "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1, 0 },
    { "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2, 0 },
    { "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0 },
  };
  enum { N_PARTS = sizeof(parts) / sizeof(parts[0]) };
  BIGNUM *bn[N_PARTS] = { 0 };
  EVP_PKEY *key = NULL;
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  int have_crt = 1;
  for (size_t i = 0; i < N_PARTS; i++) {
    bn[i] = jwk_bn(jwk, parts[i].member);
    if (bn[i] == NULL && parts[i].required) {
      ab_error_set(err, EINVAL, "JWK %s has no private RSA member \"%s\" (is it the public "
                   "key? the gateway needs the private JWK)", path, parts[i].member);
      goto done;
    }
    if (bn[i] == NULL) {
      have_crt = 0;
    }
  }
  for (size_t i = 0; bld != NULL && i < N_PARTS; i++) {
    if (bn[i] != NULL && (i < 3 || have_crt) &&
        !OSSL_PARAM_BLD_push_BN(bld, parts[i].param, bn[i])) {
      break;
    }
  }
  params = bld != NULL ? OSSL_PARAM_BLD_to_param(bld) : NULL;
  ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1) {
    ab_error_set(err, EINVAL, "JWK %s is not a usable RSA private key: %s", path, ossl_reason());
    EVP_PKEY_free(key);
    key = NULL;
    goto done;
  }
  /* A JWK with mismatched members would sign garbage that Maskinporten
   * rejects as "Invalid JWT signature"; catch it here instead. */
  EVP_PKEY_CTX *check = EVP_PKEY_CTX_new(key, NULL);
  int consistent = check != NULL && (have_crt ? EVP_PKEY_pairwise_check(check)
                                              : EVP_PKEY_public_check(check)) == 1;
  EVP_PKEY_CTX_free(check);
  if (!consistent) {
    ab_error_set(err, EINVAL, "JWK %s: its private and public members do not belong "
                 "together (%s)", path, ossl_reason());
    EVP_PKEY_free(key);
    key = NULL;
  }
done:
  for (size_t i = 0; i < N_PARTS; i++) {
    BN_clear_free(bn[i]);
  }
  OSSL_PARAM_free(params); /* BN params are copies; free clears nothing secret left */
  OSSL_PARAM_BLD_free(bld);
  EVP_PKEY_CTX_free(ctx);
  return key;
}

/* Finds the private RSA JWK in a JWK or JWKS; with several keys, the one
 * whose kid equals `kid`. */
static const cJSON *pick_jwk(const cJSON *root, const char *kid, const char *path,
                             ab_error *err) {
  const cJSON *keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
  if (!cJSON_IsArray(keys)) {
    return root;
  }
  const cJSON *found = NULL;
  int n_private = 0;
  const cJSON *k;
  cJSON_ArrayForEach(k, keys) {
    if (cJSON_GetObjectItemCaseSensitive(k, "d") == NULL) {
      continue;
    }
    n_private++;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(k, "kid");
    if (kid == NULL || (cJSON_IsString(id) && strcmp(id->valuestring, kid) == 0)) {
      found = found == NULL ? k : found;
    }
  }
  if (found == NULL || (kid == NULL && n_private > 1)) {
    ab_error_set(err, EINVAL, "JWKS %s holds %d private keys%s%s%s; %s", path, n_private,
                 kid ? ", none with kid \"" : "", kid ? kid : "", kid ? "\"" : "",
                 kid ? "check kid=" : "say which one with kid=");
    return NULL;
  }
  return found;
}

static int load_jwk(ab_key *k, const ab_key_source *src, const char **jwk_alg_out,
                    char *jwk_alg_buf, size_t buf_len, ab_error *err) {
  char *text = NULL;
  size_t len = 0;
  if (ab_secret_read_file(src->jwk_path, "JWK", &text, &len, err) < 0) {
    return -1;
  }
  /* Altinn's configs often hold the JWK base64-encoded ("JwkBase64"). */
  const char *json = text;
  size_t json_len = len;
  unsigned char *decoded = NULL;
  size_t start = 0;
  while (start < len && isspace((unsigned char) text[start])) {
    start++;
  }
  if (start < len && text[start] != '{') {
    size_t end = len;
    while (end > start && isspace((unsigned char) text[end - 1])) {
      end--;
    }
    decoded = ab_base64url_decode(text + start, end - start, &json_len);
    json = (const char *) decoded;
  }
  cJSON *root = json != NULL ? cJSON_ParseWithLength(json, json_len) : NULL;
  ab_secret_wipe(text, len);
  ab_secret_wipe(decoded, json_len);
  int rc = -1;
  const cJSON *jwk = NULL;
  if (!cJSON_IsObject(root)) {
    ab_error_set(err, EINVAL, "%s is not a JWK (JSON, or base64 of JSON)", src->jwk_path);
  } else if ((jwk = pick_jwk(root, src->kid, src->jwk_path, err)) != NULL) {
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
    if (!cJSON_IsString(kty) || strcmp(kty->valuestring, "RSA") != 0) {
      ab_error_set(err, EINVAL, "JWK %s is not an RSA key (kty \"%s\"); Maskinporten grants "
                   "need RSA", src->jwk_path, cJSON_IsString(kty) ? kty->valuestring : "");
    } else if (cJSON_IsString(use) && strcmp(use->valuestring, "sig") != 0) {
      ab_error_set(err, EINVAL, "JWK %s is for \"use\": \"%s\", not for signing (\"sig\")",
                   src->jwk_path, use->valuestring);
    } else if (src->kid != NULL && cJSON_IsString(kid) && strcmp(kid->valuestring, src->kid) != 0) {
      ab_error_set(err, EINVAL, "kid=%s differs from the JWK's own kid \"%s\" in %s; "
                   "drop kid= or make them equal", src->kid, kid->valuestring, src->jwk_path);
    } else if (src->kid == NULL && !cJSON_IsString(kid)) {
      ab_error_set(err, EINVAL, "JWK %s has no \"kid\": give the key id registered in "
                   "Maskinporten with kid=", src->jwk_path);
    } else if ((k->kid = strdup(src->kid != NULL ? src->kid : kid->valuestring)) == NULL) {
      ab_error_set(err, ENOMEM, "out of memory");
    } else if ((k->pkey = jwk_to_pkey(jwk, src->jwk_path, err)) != NULL) {
      if (cJSON_IsString(alg)) {
        snprintf(jwk_alg_buf, buf_len, "%s", alg->valuestring);
        *jwk_alg_out = jwk_alg_buf;
      }
      rc = 0;
    }
  }
  cJSON_Delete(root); /* cJSON frees without wiping; the members were copied into BIGNUMs */
  return rc;
}

/* ---- public ---- */

static int count_sources(const ab_key_source *src) {
  return (src->key_path != NULL) + (src->jwk_path != NULL) + (src->p12_path != NULL);
}

int ab_key_source_check(const ab_key_source *src, ab_error *err) {
  if (count_sources(src) != 1) {
    return ab_error_set(err, EINVAL, "give exactly one of key= (PEM), jwk= or p12= "
                        "(enterprise certificate)");
  }
  int cert_mode = src->p12_path != NULL || src->cert_path != NULL;
  if (src->cert_path != NULL && src->key_path == NULL) {
    return ab_error_set(err, EINVAL, "cert= goes with key= (the certificate's private key); "
                        "for a PKCS#12 file use p12=");
  }
  if (cert_mode && src->kid != NULL) {
    return ab_error_set(err, EINVAL, "kid= is for a key registered on the client; with an "
                        "enterprise certificate (%s) Maskinporten identifies the key by the "
                        "certificate (x5c): drop kid=", src->p12_path ? "p12=" : "cert=");
  }
  if (src->key_path != NULL && !cert_mode && src->kid == NULL) {
    return ab_error_set(err, EINVAL, "key= needs kid= (the key id registered on the "
                        "Maskinporten client), or cert= for an enterprise certificate");
  }
  if (src->key_password_path != NULL && src->key_path == NULL) {
    return ab_error_set(err, EINVAL, "key-password-file= goes with key=");
  }
  if (src->p12_password_path != NULL && src->p12_path == NULL) {
    return ab_error_set(err, EINVAL, "p12-password-file= goes with p12=");
  }
  if (src->alg != NULL && check_alg(src->alg, err) < 0) {
    return -1;
  }
  return 0;
}

ab_key *ab_key_load(const ab_key_source *src, ab_error *err) {
  if (ab_key_source_check(src, err) < 0) {
    return NULL;
  }
  ab_key *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  char *password = NULL;
  const char *password_path = src->key_password_path ? src->key_password_path
                                                     : src->p12_password_path;
  const char *jwk_alg = NULL;
  char jwk_alg_buf[8];
  const char *path = src->key_path ? src->key_path : src->jwk_path ? src->jwk_path : src->p12_path;
  int rc = 0;
  if (password_path != NULL) {
    rc = ab_secret_read_password(password_path, "password file", &password, err);
  }
  if (rc == 0 && src->key_path != NULL) {
    k->pkey = load_pem_key(src, password, err);
    rc = k->pkey == NULL ? -1 : 0;
    if (rc == 0 && src->cert_path != NULL) {
      rc = attach_pem_cert(k, src, err);
    } else if (rc == 0 && (k->kid = strdup(src->kid)) == NULL) {
      rc = ab_error_set(err, ENOMEM, "out of memory");
    }
  } else if (rc == 0 && src->jwk_path != NULL) {
    rc = load_jwk(k, src, &jwk_alg, jwk_alg_buf, sizeof(jwk_alg_buf), err);
  } else if (rc == 0) {
    rc = load_p12(k, src, password, err);
  }
  if (password != NULL) {
    ab_secret_wipe(password, strlen(password));
  }
  if (rc == 0) {
    rc = check_rsa(k->pkey, path, err);
  }
  if (rc == 0 && jwk_alg != NULL && src->alg != NULL && strcmp(jwk_alg, src->alg) != 0) {
    rc = ab_error_set(err, EINVAL, "alg=%s differs from the JWK's \"alg\": \"%s\" in %s",
                      src->alg, jwk_alg, path);
  }
  const char *alg = src->alg ? src->alg : jwk_alg ? jwk_alg : "RS256";
  if (rc == 0 && check_alg(alg, err) == 0) {
    snprintf(k->alg, sizeof(k->alg), "%s", alg);
    return k;
  }
  ab_key_free(k);
  return NULL;
}

static time_t asn1_to_time(const ASN1_TIME *t) {
  struct tm tm;
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return timegm(&tm);
}

/* Organisation number of a Norwegian enterprise certificate: the subject's
 * serialNumber (older Buypass/Commfides) or organizationIdentifier
 * "NTRNO-<org>" (SEID 2.0). */
static void cert_org(X509 *x, char *org, size_t org_len) {
  org[0] = '\0';
  const X509_NAME *name = X509_get_subject_name(x);
  for (int i = 0; i < X509_NAME_entry_count(name); i++) {
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    if (nid != NID_serialNumber && nid != NID_organizationIdentifier) {
      continue;
    }
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
    const char *v = (const char *) ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    if (nid == NID_organizationIdentifier && n == 15 && strncmp(v, "NTRNO-", 6) == 0) {
      v += 6;
      n -= 6;
    }
    int digits = n == 9;
    for (int j = 0; digits && j < 9; j++) {
      digits = isdigit((unsigned char) v[j]);
    }
    if (digits) {
      snprintf(org, org_len, "%.9s", v);
      return;
    }
  }
}

static void name_text(const X509_NAME *name, char *out, size_t out_len) {
  out[0] = '\0';
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL) {
    return;
  }
  X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
  char *data = NULL;
  long n = BIO_get_mem_data(b, &data);
  snprintf(out, out_len, "%.*s", (int) (n > 0 ? n : 0), data != NULL ? data : "");
  BIO_free(b);
}

int ab_key_cert_info(const ab_key *k, ab_cert_info *info) {
  memset(info, 0, sizeof(*info));
  if (k->leaf == NULL) {
    return -1;
  }
  name_text(X509_get_subject_name(k->leaf), info->subject, sizeof(info->subject));
  name_text(X509_get_issuer_name(k->leaf), info->issuer, sizeof(info->issuer));
  cert_org(k->leaf, info->org, sizeof(info->org));
  info->not_before = asn1_to_time(X509_get0_notBefore(k->leaf));
  info->not_after = asn1_to_time(X509_get0_notAfter(k->leaf));
  return 0;
}

int ab_key_check_valid(const ab_key *k, time_t now, ab_error *err) {
  ab_cert_info info;
  if (ab_key_cert_info(k, &info) < 0) {
    return 0;
  }
  char when[32];
  if (now >= info.not_after) {
    struct tm tm;
    gmtime_r(&info.not_after, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return ab_error_set(err, EKEYEXPIRED, "enterprise certificate %s expired on %s; order a "
                        "new one and point the client at it (Maskinporten refuses expired "
                        "certificates, MP-120)", info.subject, when);
  }
  if (now < info.not_before) {
    struct tm tm;
    gmtime_r(&info.not_before, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return ab_error_set(err, EKEYEXPIRED, "enterprise certificate %s is not valid before %s "
                        "(or this machine's clock is wrong)", info.subject, when);
  }
  return 0;
}
