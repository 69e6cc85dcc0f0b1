#include "storage/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"

/* Cap on every text the signer builds (canonical request, string to sign, URL pieces). */
#define SIGV4_TEXT_MAX (64 * 1024)

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int sigv4_uri_encode(buf_t *out, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc;
        if (is_unreserved(*p) || (keep_slash && *p == '/')) {
            rc = buf_append_char(out, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = buf_append(out, esc, sizeof esc);
        }
        if (rc != BUF_OK)
            return rc;
    }
    return BUF_OK;
}

void sigv4_format_date(time_t t, char out[SIGV4_DATE_LEN + 1])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* One name/value pair after canonicalisation; both strings are malloc'd. */
typedef struct canon_pair {
    char *name;
    char *value;
} canon_pair_t;

static void free_pairs(canon_pair_t *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
}

static int cmp_pairs(const void *a, const void *b)
{
    const canon_pair_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
    buf_t b;
    buf_init(&b, SIGV4_TEXT_MAX);
    if (sigv4_uri_encode(&b, s ? s : "", false) != BUF_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

/* Appends the canonical query string: names and values encoded, sorted by name then value. */
static int canonical_query(const sigv4_param_t *q, size_t n, buf_t *out)
{
    if (n > SIGV4_MAX_PARAMS)
        return -1;
    canon_pair_t pairs[SIGV4_MAX_PARAMS];
    size_t k = 0;
    int rc = -1;
    for (; k < n; k++) {
        pairs[k].name = encode_dup(q[k].name);
        pairs[k].value = encode_dup(q[k].value);
        if (!pairs[k].name || !pairs[k].value) {
            k++;
            goto cleanup;
        }
    }
    qsort(pairs, n, sizeof pairs[0], cmp_pairs);
    for (size_t i = 0; i < n; i++) {
        if (buf_printf(out, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value) != BUF_OK)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free_pairs(pairs, k);
    return rc;
}

/* Lowercased name, value trimmed with inner runs of spaces collapsed to one. */
static int canonical_header(const sigv4_param_t *h, canon_pair_t *out)
{
    out->name = strdup(h->name);
    out->value = malloc(strlen(h->value) + 1);
    if (!out->name || !out->value)
        return -1;
    for (char *p = out->name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *v = h->value;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t w = 0;
    for (; *v; v++) {
        bool space = (*v == ' ' || *v == '\t');
        if (space && (w == 0 || out->value[w - 1] == ' '))
            continue;
        out->value[w++] = space ? ' ' : *v;
    }
    while (w > 0 && out->value[w - 1] == ' ')
        w--;
    out->value[w] = '\0';
    return 0;
}

static int canonical_headers(const sigv4_param_t *h, size_t n, buf_t *out, buf_t *signed_headers)
{
    if (n > SIGV4_MAX_PARAMS)
        return -1;
    canon_pair_t pairs[SIGV4_MAX_PARAMS];
    size_t k = 0;
    int rc = -1;
    for (; k < n; k++) {
        if (canonical_header(&h[k], &pairs[k]) != 0) {
            k++;
            goto cleanup;
        }
    }
    qsort(pairs, n, sizeof pairs[0], cmp_pairs);
    for (size_t i = 0; i < n; i++) {
        if (buf_printf(out, "%s:%s\n", pairs[i].name, pairs[i].value) != BUF_OK)
            goto cleanup;
        if (signed_headers && buf_printf(signed_headers, "%s%s", i ? ";" : "", pairs[i].name) != BUF_OK)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free_pairs(pairs, k);
    return rc;
}

int sigv4_canonical_request(const sigv4_request_t *req, buf_t *out, buf_t *signed_headers)
{
    buf_t sh;
    buf_init(&sh, SIGV4_TEXT_MAX);
    int rc = -1;
    if (buf_printf(out, "%s\n", req->method) != BUF_OK)
        goto cleanup;
    if (!req->path || req->path[0] != '/') {
        if (buf_append_char(out, '/') != BUF_OK)
            goto cleanup;
    }
    if ((req->path && sigv4_uri_encode(out, req->path, true) != BUF_OK) ||
        buf_append_char(out, '\n') != BUF_OK)
        goto cleanup;
    if (canonical_query(req->query, req->n_query, out) != 0 || buf_append_char(out, '\n') != BUF_OK)
        goto cleanup;
    if (canonical_headers(req->headers, req->n_headers, out, &sh) != 0)
        goto cleanup;
    if (buf_printf(out, "\n%s\n%s", buf_cstr(&sh), req->payload_hash) != BUF_OK)
        goto cleanup;
    if (signed_headers && buf_append_str(signed_headers, buf_cstr(&sh)) != BUF_OK)
        goto cleanup;
    rc = 0;
cleanup:
    buf_free(&sh);
    return rc;
}

void sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                       uint8_t out[32])
{
    size_t slen = strlen(secret);
    char *k0 = malloc(slen + 5);
    uint8_t k[32];
    if (!k0) {
        memset(out, 0, 32);
        return;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen + 1);
    crypto_hmac_sha256(k0, slen + 4, date8, strlen(date8), k);
    crypto_hmac_sha256(k, sizeof k, region, strlen(region), k);
    crypto_hmac_sha256(k, sizeof k, service, strlen(service), k);
    crypto_hmac_sha256(k, sizeof k, "aws4_request", 12, out);
    memset(k0, 0, slen + 4);
    free(k0);
}

int sigv4_string_to_sign(const char *canonical_request, const sigv4_creds_t *c, const char *amz_date,
                         buf_t *out)
{
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(canonical_request, strlen(canonical_request), hash);
    return buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date, amz_date, c->region,
                      c->service, hash) == BUF_OK
               ? 0
               : -1;
}

int sigv4_signature(const sigv4_request_t *req, const sigv4_creds_t *c, const char *amz_date, char sig[65],
                    buf_t *signed_headers)
{
    buf_t creq, sts;
    buf_init(&creq, SIGV4_TEXT_MAX);
    buf_init(&sts, SIGV4_TEXT_MAX);
    int rc = -1;
    if (strlen(amz_date) != SIGV4_DATE_LEN)
        goto cleanup;
    if (sigv4_canonical_request(req, &creq, signed_headers) != 0 ||
        sigv4_string_to_sign(buf_cstr(&creq), c, amz_date, &sts) != 0)
        goto cleanup;
    char date8[9];
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    uint8_t key[32];
    sigv4_signing_key(c->secret_access_key, date8, c->region, c->service, key);
    crypto_hmac_sha256_hex(key, sizeof key, sts.data, sts.len, sig);
    memset(key, 0, sizeof key);
    rc = 0;
cleanup:
    buf_free(&creq);
    buf_free(&sts);
    return rc;
}

int sigv4_authorization(const sigv4_request_t *req, const sigv4_creds_t *c, const char *amz_date, buf_t *out)
{
    char sig[65];
    buf_t sh;
    buf_init(&sh, SIGV4_TEXT_MAX);
    int rc = -1;
    if (sigv4_signature(req, c, amz_date, sig, &sh) != 0)
        goto cleanup;
    if (buf_printf(out,
                   "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
                   "Signature=%s",
                   c->access_key_id, amz_date, c->region, c->service, buf_cstr(&sh), sig) != BUF_OK)
        goto cleanup;
    rc = 0;
cleanup:
    buf_free(&sh);
    return rc;
}

int sigv4_presign_get(const char *origin, const char *host, const char *path, const sigv4_param_t *extra,
                      size_t n_extra, const sigv4_creds_t *c, const char *amz_date, int expires, buf_t *url)
{
    if (expires < 1 || expires > SIGV4_MAX_EXPIRES || n_extra > SIGV4_MAX_PARAMS - 6 ||
        strlen(amz_date) != SIGV4_DATE_LEN)
        return -1;
    char credential[512], expires_s[16];
    int n = snprintf(credential, sizeof credential, "%s/%.8s/%s/%s/aws4_request", c->access_key_id, amz_date,
                     c->region, c->service);
    if (n < 0 || (size_t)n >= sizeof credential)
        return -1;
    snprintf(expires_s, sizeof expires_s, "%d", expires);

    sigv4_param_t q[SIGV4_MAX_PARAMS];
    size_t nq = 0;
    q[nq++] = (sigv4_param_t){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
    q[nq++] = (sigv4_param_t){"X-Amz-Credential", credential};
    q[nq++] = (sigv4_param_t){"X-Amz-Date", amz_date};
    q[nq++] = (sigv4_param_t){"X-Amz-Expires", expires_s};
    q[nq++] = (sigv4_param_t){"X-Amz-SignedHeaders", "host"};
    if (c->session_token)
        q[nq++] = (sigv4_param_t){"X-Amz-Security-Token", c->session_token};
    for (size_t i = 0; i < n_extra; i++)
        q[nq++] = extra[i];
    sigv4_param_t h = {"host", host};
    sigv4_request_t req = {.method = "GET",
                           .path = path,
                           .query = q,
                           .n_query = nq,
                           .headers = &h,
                           .n_headers = 1,
                           .payload_hash = SIGV4_UNSIGNED_PAYLOAD};
    char sig[65];
    if (sigv4_signature(&req, c, amz_date, sig, NULL) != 0)
        return -1;
    if (buf_append_str(url, origin) != BUF_OK)
        return -1;
    if (path[0] != '/' && buf_append_char(url, '/') != BUF_OK)
        return -1;
    if (sigv4_uri_encode(url, path, true) != BUF_OK || buf_append_char(url, '?') != BUF_OK ||
        canonical_query(q, nq, url) != 0 || buf_printf(url, "&X-Amz-Signature=%s", sig) != BUF_OK)
        return -1;
    return 0;
}
