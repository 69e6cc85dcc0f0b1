#include "storage/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/timeutil.h"
#include "storage/download.h"
#include "storage/sigv4.h"

#define S3_HOST_MAX 512
#define S3_ETAG_MAX 128

struct s3_client {
    CURL *curl;
    char *scheme; /* "http" / "https" */
    char *host;   /* Host header: endpoint host[:port], lowercased, default port dropped */
    char *presign_scheme, *presign_host; /* of S3_PUBLIC_ENDPOINT, for pre-signed links (else = above) */
    char *region, *bucket, *access_key_id, *secret_access_key, *session_token, *public_base_url;
    bool path_style;
    int attempts, attempt_timeout_ms, connect_timeout_ms, total_timeout_ms, backoff_base_ms,
        health_timeout_ms;
    size_t part_size;
};

/* What one HTTP exchange produced. */
typedef struct s3_response {
    CURLcode curl_rc;
    long status;
    char curl_err[CURL_ERROR_SIZE];
    char etag[S3_ETAG_MAX];
    buf_t *body; /* where the body goes (caller's buffer or an error-body buffer) */
    bool body_too_big;
    /* s3_get_fd: a 200 body goes to this file instead (other answers' bodies still go to
     * body, where describe() reads the error); fd_len counts what was written, fd_max caps it. */
    CURL *curl;
    int fd;
    size_t fd_len, fd_max;
    bool fd_failed; /* a write to fd failed (disk full): not retried */
    int fd_errno;   /* why, saved at once (later calls overwrite errno) */
} s3_response_t;

/* ---- configuration ---- */

static bool bucket_name_ok(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Splits "scheme://host[:port][/]" into scheme and a normalised Host value (name: the setting,
 * for messages). */
static int parse_endpoint(const char *name, const char *endpoint, char **scheme, char **host, char *err,
                          size_t err_len)
{
    const char *rest;
    if (endpoint && !strncmp(endpoint, "https://", 8)) {
        *scheme = strdup("https");
        rest = endpoint + 8;
    } else if (endpoint && !strncmp(endpoint, "http://", 7)) {
        *scheme = strdup("http");
        rest = endpoint + 7;
    } else {
        return errmsg_fail(err, err_len, "%s must start with http:// or https://", name);
    }
    size_t n = strcspn(rest, "/?#");
    if (n == 0 || n > S3_HOST_MAX || (rest[n] && strcmp(rest + n, "/") != 0) || memchr(rest, '@', n))
        return errmsg_fail(err, err_len,
                           "%s must be scheme://host[:port] without a path or user (got \"%s\")", name,
                           endpoint);
    *host = strndup(rest, n);
    if (!*scheme || !*host)
        return -1;
    for (char *p = *host; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    /* Clients leave the default port out of Host; so must the signature. */
    const char *dflt = !strcmp(*scheme, "https") ? ":443" : ":80";
    size_t hl = strlen(*host), dl = strlen(dflt);
    if (hl > dl && !strcmp(*host + hl - dl, dflt))
        (*host)[hl - dl] = '\0';
    return 0;
}

static int or_default(int v, int dflt)
{
    return v > 0 ? v : dflt;
}

s3_client_t *s3_client_new(const s3_config_t *cfg, char *err, size_t err_len)
{
    s3_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    if (parse_endpoint("S3_ENDPOINT", cfg->endpoint, &c->scheme, &c->host, err, err_len) != 0 ||
        parse_endpoint("S3_PUBLIC_ENDPOINT", cfg->presign_endpoint ? cfg->presign_endpoint : cfg->endpoint,
                       &c->presign_scheme, &c->presign_host, err, err_len) != 0)
        goto fail;
    if (!bucket_name_ok(cfg->bucket)) {
        errmsg_fail(err, err_len, "S3_BUCKET must be 3-63 characters of a-z 0-9 . -");
        goto fail;
    }
    if (!cfg->access_key_id || !*cfg->access_key_id || !cfg->secret_access_key || !*cfg->secret_access_key) {
        errmsg_fail(err, err_len, "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are required");
        goto fail;
    }
    c->region = strdup(cfg->region && *cfg->region ? cfg->region : "us-east-1");
    c->bucket = strdup(cfg->bucket);
    c->access_key_id = strdup(cfg->access_key_id);
    c->secret_access_key = strdup(cfg->secret_access_key);
    c->session_token = cfg->session_token ? strdup(cfg->session_token) : NULL;
    c->public_base_url = cfg->public_base_url ? strdup(cfg->public_base_url) : NULL;
    c->path_style = cfg->force_path_style;
    c->attempts = or_default(cfg->attempts, 3);
    c->attempt_timeout_ms = or_default(cfg->attempt_timeout_ms, 20000);
    c->connect_timeout_ms = or_default(cfg->connect_timeout_ms, 5000);
    c->total_timeout_ms = or_default(cfg->total_timeout_ms, 60000);
    c->backoff_base_ms = or_default(cfg->backoff_base_ms, 250);
    c->health_timeout_ms = or_default(cfg->health_timeout_ms, 2000);
    c->part_size = cfg->part_size ? cfg->part_size : S3_PART_DEFAULT;
    c->curl = curl_easy_init();
    if (!c->region || !c->bucket || !c->access_key_id || !c->secret_access_key || !c->curl) {
        errmsg_fail(err, err_len, "out of memory creating the S3 client");
        goto fail;
    }
    return c;
fail:
    s3_client_free(c);
    return NULL;
}

void s3_client_free(s3_client_t *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->secret_access_key)
        memset(c->secret_access_key, 0, strlen(c->secret_access_key));
    free(c->scheme);
    free(c->host);
    free(c->presign_scheme);
    free(c->presign_host);
    free(c->region);
    free(c->bucket);
    free(c->access_key_id);
    free(c->secret_access_key);
    free(c->session_token);
    free(c->public_base_url);
    free(c);
}

/* ---- addressing ---- */

/* Host header and unencoded path of key (NULL key: the bucket itself). */
static int address_at(const s3_client_t *c, const char *base_host, const char *key,
                      char host[S3_HOST_MAX + 80], buf_t *path)
{
    int n;
    if (c->path_style) {
        n = snprintf(host, S3_HOST_MAX + 80, "%s", base_host);
        if (buf_printf(path, "/%s%s%s", c->bucket, key ? "/" : "", key ? key : "") != BUF_OK)
            return -1;
    } else {
        n = snprintf(host, S3_HOST_MAX + 80, "%s.%s", c->bucket, base_host);
        if (buf_printf(path, "/%s", key ? key : "") != BUF_OK)
            return -1;
    }
    return (n > 0 && n < S3_HOST_MAX + 80) ? 0 : -1;
}

static int address(const s3_client_t *c, const char *key, char host[S3_HOST_MAX + 80], buf_t *path)
{
    return address_at(c, c->host, key, host, path);
}

/* ---- one signed exchange ---- */

/* Writes all of p to fd; false on an error. */
static bool write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w, len -= (size_t)w;
    }
    return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    s3_response_t *r = ud;
    long status = 0;
    if (r->fd >= 0 && curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status == 200) {
        if (size * n > r->fd_max - r->fd_len) {
            r->body_too_big = true;
            return 0;
        }
        if (!write_all(r->fd, p, size * n)) {
            r->fd_failed = true;
            r->fd_errno = errno;
            return 0;
        }
        r->fd_len += size * n;
        return size * n;
    }
    if (buf_append(r->body, p, size * n) != BUF_OK) {
        r->body_too_big = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    s3_response_t *r = ud;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(p, "etag:", 5)) {
        const char *v = p + 5;
        size_t vl = len - 5;
        while (vl && (*v == ' ' || *v == '"')) {
            v++;
            vl--;
        }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '"'))
            vl--;
        if (vl < sizeof r->etag) {
            memcpy(r->etag, v, vl);
            r->etag[vl] = '\0';
        }
    }
    return len;
}

typedef struct s3_op {
    const char *method;         /* GET PUT POST DELETE HEAD */
    const char *key;            /* NULL = bucket */
    const sigv4_param_t *query; /* NOT encoded (multipart: uploads, partNumber, uploadId) */
    size_t n_query;
    const void *data; /* PUT / POST body */
    size_t len;
    const char *content_type; /* PUT and initiating POST only */
    const char *content_md5;  /* base64, PUT only */
    const char *payload_hash; /* hex SHA-256 of data */
} s3_op_t;

/* Builds the signed header list for op at amz_date; NULL on failure. */
static struct curl_slist *signed_headers(const s3_client_t *c, const s3_op_t *op, const char *host,
                                         const char *path, const char *amz_date)
{
    sigv4_param_t h[8];
    size_t n = 0;
    h[n++] = (sigv4_param_t){"Host", host};
    h[n++] = (sigv4_param_t){"x-amz-content-sha256", op->payload_hash};
    h[n++] = (sigv4_param_t){"x-amz-date", amz_date};
    if (op->content_type)
        h[n++] = (sigv4_param_t){"Content-Type", op->content_type};
    if (op->content_md5)
        h[n++] = (sigv4_param_t){"Content-MD5", op->content_md5};
    if (c->session_token)
        h[n++] = (sigv4_param_t){"x-amz-security-token", c->session_token};
    sigv4_creds_t creds = {c->access_key_id, c->secret_access_key, c->session_token, c->region, "s3"};
    sigv4_request_t req = {.method = op->method,
                           .path = path,
                           .query = op->query,
                           .n_query = op->n_query,
                           .headers = h,
                           .n_headers = n,
                           .payload_hash = op->payload_hash};
    buf_t auth, line;
    buf_init(&auth, 4096);
    buf_init(&line, 8192);
    struct curl_slist *list = NULL;
    if (sigv4_authorization(&req, &creds, amz_date, &auth) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        buf_reset(&line);
        if (buf_printf(&line, "%s: %s", h[i].name, h[i].value) != BUF_OK)
            goto fail;
        struct curl_slist *next = curl_slist_append(list, buf_cstr(&line));
        if (!next)
            goto fail;
        list = next;
    }
    buf_reset(&line);
    struct curl_slist *next;
    /* "Expect:" (no 100-continue round trip) is not signed, so it is harmless here. */
    if (buf_printf(&line, "Authorization: %s", buf_cstr(&auth)) != BUF_OK ||
        !(next = curl_slist_append(list, buf_cstr(&line))) || !(list = next) ||
        !(next = curl_slist_append(list, "Expect:")))
        goto fail;
    list = next;
    buf_free(&auth);
    buf_free(&line);
    return list;
fail:
    curl_slist_free_all(list);
    buf_free(&auth);
    buf_free(&line);
    return NULL;
}

/* Appends "?name=value&..." of op's query to url, encoded as the signer encodes it. */
static int append_query(buf_t *url, const s3_op_t *op)
{
    for (size_t i = 0; i < op->n_query; i++) {
        buf_put(url, i ? "&" : "?", 1);
        buf_put(url, op->query[i].name, strlen(op->query[i].name));
        if (op->query[i].value && *op->query[i].value) {
            buf_put(url, "=", 1);
            if (sigv4_uri_encode(url, op->query[i].value, false) != BUF_OK)
                return -1;
        }
    }
    return buf_error(url) == BUF_OK ? 0 : -1;
}

/* Performs op once with a timeout of timeout_ms; fills r. */
static void perform_once(s3_client_t *c, const s3_op_t *op, int timeout_ms, s3_response_t *r)
{
    char host[S3_HOST_MAX + 80], amz_date[SIGV4_DATE_LEN + 1];
    buf_t path, url;
    buf_init(&path, S3_URL_MAX);
    buf_init(&url, S3_URL_MAX);
    struct curl_slist *headers = NULL;
    r->curl_rc = CURLE_FAILED_INIT;
    r->status = 0;
    r->curl_err[0] = r->etag[0] = '\0';
    r->body_too_big = false;
    buf_reset(r->body);
    r->curl = c->curl;
    if (r->fd >= 0) { /* a retry starts the file over */
        r->fd_len = 0;
        if (ftruncate(r->fd, 0) != 0 || lseek(r->fd, 0, SEEK_SET) != 0) {
            r->fd_failed = true;
            r->fd_errno = errno;
        }
    }
    sigv4_format_date(time(NULL), amz_date);
    if (address(c, op->key, host, &path) != 0 || buf_printf(&url, "%s://%s", c->scheme, host) != BUF_OK ||
        sigv4_uri_encode(&url, buf_cstr(&path), true) != BUF_OK || append_query(&url, op) != 0 ||
        !(headers = signed_headers(c, op, host, buf_cstr(&path), amz_date))) {
        errmsg_fail(r->curl_err, sizeof r->curl_err, "could not build the request");
        goto cleanup;
    }
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the connection cache: the next request reuses the socket */
    curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&url));
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, op->method);
    if (!strcmp(op->method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (!strcmp(op->method, "PUT") || !strcmp(op->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, op->data ? op->data : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)op->len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(c->connect_timeout_ms < timeout_ms ? c->connect_timeout_ms : timeout_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    r->curl_rc = curl_easy_perform(h);
    if (r->curl_rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    else if (!r->curl_err[0])
        errmsg_fail(r->curl_err, sizeof r->curl_err, "%s", curl_easy_strerror(r->curl_rc));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
cleanup:
    curl_slist_free_all(headers);
    buf_free(&path);
    buf_free(&url);
}

static bool retryable(const s3_response_t *r)
{
    if (r->curl_rc != CURLE_OK)
        return !r->body_too_big && !r->fd_failed && r->curl_rc != CURLE_PEER_FAILED_VERIFICATION &&
               r->curl_rc != CURLE_SSL_CACERT_BADFILE && r->curl_rc != CURLE_UNSUPPORTED_PROTOCOL &&
               r->curl_rc != CURLE_URL_MALFORMAT && r->curl_rc != CURLE_FAILED_INIT;
    return r->status >= 500 || r->status == 429;
}

/* Copies <tag>...</tag> from an S3 XML error body. */
static void xml_field(const char *xml, const char *tag, char *out, size_t out_len)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(xml, open), *b;
    out[0] = '\0';
    if (a && (b = strstr(a += strlen(open), close)) != NULL) {
        size_t n = (size_t)(b - a);
        if (n >= out_len)
            n = out_len - 1;
        memcpy(out, a, n);
        out[n] = '\0';
    }
}

/* "HTTP 403 SignatureDoesNotMatch: The request signature ..." or the curl error. */
static void describe(const s3_response_t *r, char *out, size_t out_len)
{
    if (r->curl_rc != CURLE_OK) {
        snprintf(out, out_len, "%s", r->curl_err);
        return;
    }
    char code[128], msg[256];
    xml_field(buf_cstr(r->body), "Code", code, sizeof code);
    xml_field(buf_cstr(r->body), "Message", msg, sizeof msg);
    snprintf(out, out_len, "HTTP %ld%s%s%s%s", r->status, code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}

/*
 * Runs op with retries: up to c->attempts tries while the answer is retryable (network error,
 * timeout, 5xx, 429) and the overall deadline allows, sleeping base * 2^i +-25% between tries.
 * Returns the number of tries made; r holds the last answer.
 */
static int perform(s3_client_t *c, const s3_op_t *op, int attempts, int total_ms, s3_response_t *r)
{
    int64_t deadline = time_mono_ms() + total_ms;
    int tries = 0;
    for (;;) {
        int64_t left = deadline - time_mono_ms();
        int timeout = (int)(left < c->attempt_timeout_ms ? left : c->attempt_timeout_ms);
        if (timeout < 1)
            timeout = 1;
        perform_once(c, op, timeout, r);
        tries++;
        if (!retryable(r) || tries >= attempts)
            return tries;
        uint32_t rnd = 0;
        crypto_random(&rnd, sizeof rnd);
        int64_t backoff = (int64_t)c->backoff_base_ms << (tries - 1);
        backoff = backoff * 3 / 4 + (int64_t)(rnd % (uint32_t)(backoff / 2 + 1));
        /* Not worth a try that would have less than 100 ms to run. */
        if (time_mono_ms() + backoff + 100 > deadline)
            return tries;
        time_sleep_ms(backoff);
    }
}

static void fail_msg(const char *method, const char *key, const s3_response_t *r, int tries, char *err,
                     size_t err_len)
{
    char why[512];
    describe(r, why, sizeof why);
    errmsg_fail(err, err_len, "S3 %s %s failed: %s after %d attempt%s", method, key, why, tries,
                tries == 1 ? "" : "s");
}

/* ---- operations ---- */

static void md5_of(const void *data, size_t len, unsigned char out[16])
{
    unsigned int n = 16;
    EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

/* An operation that sends data (sha: its hex SHA-256) to key with query. */
static s3_op_t body_op(const char *method, const char *key, const sigv4_param_t *query, size_t n_query,
                       const void *data, size_t len, const char *content_type, const char *sha)
{
    return (s3_op_t){.method = method,
                     .key = key,
                     .query = query,
                     .n_query = n_query,
                     .data = data,
                     .len = len,
                     .content_type = content_type,
                     .payload_hash = sha};
}

/* One PUT of data (a whole object, or one part when query names it) with its MD5 and SHA-256
 * signed; counts only on a 200 whose plain-MD5 ETag, if it has one, is the MD5 of what was
 * sent. etag (S3_ETAG_MAX) gets the store's ETag. 0 or -1 + err. */
static int put_checked(s3_client_t *c, const char *key, const sigv4_param_t *query, size_t n_query,
                       const void *data, size_t len, const char *content_type, char *etag, char *err,
                       size_t err_len)
{
    unsigned char md5[16];
    char md5_hex[33], md5_b64[32], sha[CRYPTO_SHA256_HEX_LEN + 1];
    md5_of(data, len, md5);
    crypto_hex(md5, sizeof md5, md5_hex);
    EVP_EncodeBlock((unsigned char *)md5_b64, md5, sizeof md5);
    crypto_sha256_hex(data, len, sha);
    s3_op_t op = body_op("PUT", key, query, n_query, data, len, content_type, sha);
    op.content_md5 = md5_b64;
    buf_t body;
    buf_init(&body, S3_ERROR_BODY_MAX);
    s3_response_t r = {.body = &body, .fd = -1};
    int tries = perform(c, &op, c->attempts, c->total_timeout_ms, &r), rc = -1;
    if (r.curl_rc != CURLE_OK || r.status != 200) {
        fail_msg("PUT", key, &r, tries, err, err_len);
        goto cleanup;
    }
    /* A plain-MD5 ETag must be ours; other shapes (SSE-KMS, multipart) carry no MD5. */
    bool md5_shaped = strlen(r.etag) == 32 && strspn(r.etag, "0123456789abcdef") == 32;
    if (md5_shaped && strcmp(r.etag, md5_hex) != 0) {
        errmsg_fail(err, err_len,
                    "S3 PUT %s failed: the store's ETag %s is not the MD5 %s of the "
                    "bytes sent",
                    key, r.etag, md5_hex);
        goto cleanup;
    }
    snprintf(etag, S3_ETAG_MAX, "%s", r.etag);
    rc = 0;
cleanup:
    buf_free(&body);
    return rc;
}

/* A POST to key with query and body (initiate / complete a multipart upload); r->body gets
 * the answer. 0 on a 200 without an <Error> (S3 may report a failed completion inside a 200),
 * else -1 + err. */
static int post_xml(s3_client_t *c, const char *key, const sigv4_param_t *query, size_t n_query,
                    const char *content_type, const buf_t *xml, s3_response_t *r, const char *what, char *err,
                    size_t err_len)
{
    char sha[CRYPTO_SHA256_HEX_LEN + 1];
    const char *data = xml ? buf_cstr(xml) : "";
    size_t len = xml ? xml->len : 0;
    crypto_sha256_hex(data, len, sha);
    s3_op_t op = body_op("POST", key, query, n_query, data, len, content_type, sha);
    int tries = perform(c, &op, c->attempts, c->total_timeout_ms, r);
    if (r->curl_rc == CURLE_OK && r->status == 200 && !strstr(buf_cstr(r->body), "<Error>"))
        return 0;
    char label[64];
    snprintf(label, sizeof label, "POST (%s)", what);
    fail_msg(label, key, r, tries, err, err_len);
    return -1;
}

/* Starts a multipart upload of key; upload_id (S3_UPLOAD_ID_MAX) gets its id. 0 or -1 + err. */
static int multipart_start(s3_client_t *c, const char *key, const char *content_type, char *upload_id,
                           char *err, size_t err_len)
{
    sigv4_param_t q[] = {{"uploads", ""}};
    buf_t body;
    buf_init(&body, S3_ERROR_BODY_MAX);
    s3_response_t r = {.body = &body, .fd = -1};
    int rc = post_xml(c, key, q, 1, content_type, NULL, &r, "initiate multipart upload", err, err_len);
    if (rc == 0) {
        xml_field(buf_cstr(&body), "UploadId", upload_id, S3_UPLOAD_ID_MAX);
        if (!upload_id[0])
            rc = errmsg_fail(err, err_len, "S3 POST %s failed: the store sent no UploadId", key);
    }
    buf_free(&body);
    return rc;
}

/* Drops an unfinished upload so its parts stop costing storage; a failure is only logged by
 * the caller's message (a lifecycle rule catches what is left). */
static void multipart_abort(s3_client_t *c, const char *key, const char *upload_id)
{
    sigv4_param_t q[] = {{"uploadId", upload_id}};
    s3_op_t op = {
        .method = "DELETE", .key = key, .query = q, .n_query = 1, .payload_hash = SIGV4_EMPTY_SHA256};
    buf_t body;
    buf_init(&body, S3_ERROR_BODY_MAX);
    s3_response_t r = {.body = &body, .fd = -1};
    perform(c, &op, 1, c->attempt_timeout_ms, &r);
    buf_free(&body);
}

/* Uploads the parts of data and appends each one's <Part> to xml. 0 or -1 + err. */
static int multipart_parts(s3_client_t *c, const char *key, const char *upload_id, const unsigned char *data,
                           size_t len, size_t part, buf_t *xml, char *err, size_t err_len)
{
    size_t n = (len + part - 1) / part;
    for (size_t i = 0; i < n; i++) {
        char number[24], etag[S3_ETAG_MAX];
        snprintf(number, sizeof number, "%zu", i + 1);
        sigv4_param_t q[] = {{"partNumber", number}, {"uploadId", upload_id}};
        size_t off = i * part, this_len = len - off < part ? len - off : part;
        if (put_checked(c, key, q, 2, data + off, this_len, NULL, etag, err, err_len) != 0)
            return -1;
        buf_putf(xml, "<Part><PartNumber>%s</PartNumber><ETag>\"%s\"</ETag></Part>", number, etag);
    }
    return 0;
}

/* The multipart path of s3_put: parts of c->part_size (grown to stay within S3_PARTS_MAX). */
static int put_multipart(s3_client_t *c, const char *key, const void *data, size_t len,
                         const char *content_type, char *err, size_t err_len)
{
    char upload_id[S3_UPLOAD_ID_MAX];
    size_t part = c->part_size;
    if (len / part >= S3_PARTS_MAX)
        part = len / S3_PARTS_MAX + 1;
    if (multipart_start(c, key, content_type, upload_id, err, err_len) != 0)
        return -1;
    buf_t xml, body;
    buf_init(&xml, S3_COMPLETE_XML_MAX);
    buf_init(&body, S3_ERROR_BODY_MAX);
    int rc = -1;
    buf_puts(&xml, "<CompleteMultipartUpload>");
    if (multipart_parts(c, key, upload_id, data, len, part, &xml, err, err_len) != 0)
        goto cleanup;
    buf_puts(&xml, "</CompleteMultipartUpload>");
    if (buf_error(&xml) != BUF_OK) {
        errmsg_fail(err, err_len, "S3 PUT %s failed: the part list is too long", key);
        goto cleanup;
    }
    sigv4_param_t q[] = {{"uploadId", upload_id}};
    s3_response_t r = {.body = &body, .fd = -1};
    rc = post_xml(c, key, q, 1, "application/xml", &xml, &r, "complete multipart upload", err, err_len);
cleanup:
    if (rc != 0)
        multipart_abort(c, key, upload_id);
    buf_free(&xml);
    buf_free(&body);
    return rc;
}

int s3_put(s3_client_t *c, const char *key, const void *data, size_t len, const char *content_type, char *err,
           size_t err_len)
{
    const char *type = content_type ? content_type : "application/octet-stream";
    if (len > c->part_size)
        return put_multipart(c, key, data, len, type, err, err_len);
    char etag[S3_ETAG_MAX];
    return put_checked(c, key, NULL, 0, data, len, type, etag, err, err_len);
}

/* The outcome of a GET (into memory or a file) capped at max bytes: 0, -2 when the object
 * does not exist, or -1 + err. */
static int get_outcome(const char *key, const s3_response_t *r, int tries, size_t max, char *err,
                       size_t err_len)
{
    if (r->fd_failed)
        return errmsg_fail(err, err_len, "S3 GET %s failed: could not write the local copy: %s", key,
                           strerror(r->fd_errno));
    if (r->curl_rc == CURLE_OK && r->status == 200)
        return 0;
    if (r->body_too_big)
        return errmsg_fail(err, err_len, "S3 GET %s failed: the object is larger than %zu bytes", key, max);
    fail_msg("GET", key, r, tries, err, err_len);
    return r->curl_rc == CURLE_OK && r->status == 404 ? -2 : -1;
}

int s3_get(s3_client_t *c, const char *key, buf_t *out, char *err, size_t err_len)
{
    s3_op_t op = {.method = "GET", .key = key, .payload_hash = SIGV4_EMPTY_SHA256};
    s3_response_t r = {.body = out, .fd = -1};
    int tries = perform(c, &op, c->attempts, c->total_timeout_ms, &r);
    int rc = get_outcome(key, &r, tries, out->max, err, err_len);
    if (rc != 0)
        buf_reset(out);
    return rc;
}

int s3_get_fd(s3_client_t *c, const char *key, int fd, size_t max, size_t *len, char *err, size_t err_len)
{
    s3_op_t op = {.method = "GET", .key = key, .payload_hash = SIGV4_EMPTY_SHA256};
    buf_t body;
    buf_init(&body, S3_ERROR_BODY_MAX);
    s3_response_t r = {.body = &body, .fd = fd, .fd_max = max};
    int tries = perform(c, &op, c->attempts, c->total_timeout_ms, &r);
    *len = r.fd_len;
    int rc = get_outcome(key, &r, tries, max, err, err_len);
    buf_free(&body);
    return rc;
}

int s3_delete(s3_client_t *c, const char *key, char *err, size_t err_len)
{
    s3_op_t op = {.method = "DELETE", .key = key, .payload_hash = SIGV4_EMPTY_SHA256};
    buf_t body;
    buf_init(&body, S3_ERROR_BODY_MAX);
    s3_response_t r = {.body = &body, .fd = -1};
    int tries = perform(c, &op, c->attempts, c->total_timeout_ms, &r), rc = 0;
    if (r.curl_rc != CURLE_OK || (r.status != 204 && r.status != 200 && r.status != 404)) {
        fail_msg("DELETE", key, &r, tries, err, err_len);
        rc = -1;
    }
    buf_free(&body);
    return rc;
}

int s3_health(s3_client_t *c, char *err, size_t err_len)
{
    s3_op_t op = {.method = "HEAD", .key = NULL, .payload_hash = SIGV4_EMPTY_SHA256};
    buf_t body;
    buf_init(&body, S3_ERROR_BODY_MAX);
    s3_response_t r = {.body = &body, .fd = -1};
    int saved = c->attempt_timeout_ms;
    c->attempt_timeout_ms = c->health_timeout_ms;
    perform(c, &op, 1, c->health_timeout_ms, &r);
    c->attempt_timeout_ms = saved;
    int rc = 0;
    if (r.curl_rc != CURLE_OK || r.status != 200) {
        char why[512];
        describe(&r, why, sizeof why); /* HEAD has no body: 403/404 say bad keys / no bucket */
        errmsg_fail(err, err_len, "S3 bucket %s not reachable: %s", c->bucket, why);
        rc = -1;
    }
    buf_free(&body);
    return rc;
}

int s3_download_url(s3_client_t *c, const char *key, const char *filename, int ttl, time_t now, char **url,
                    char *err, size_t err_len)
{
    *url = NULL;
    buf_t u, path;
    buf_init(&u, S3_URL_MAX);
    buf_init(&path, S3_URL_MAX);
    int rc = -1;
    if (c->public_base_url) {
        if (buf_printf(&u, "%s/", c->public_base_url) != BUF_OK || sigv4_uri_encode(&u, key, true) != BUF_OK)
            goto fail;
    } else {
        char host[S3_HOST_MAX + 80], origin[S3_HOST_MAX + 100], amz_date[SIGV4_DATE_LEN + 1];
        char disposition[DOWNLOAD_DISPOSITION_MAX];
        /* Signed for the host the client will ask (S3_PUBLIC_ENDPOINT when the store is known
         * by another name outside, e.g. a compose service name). */
        if (address_at(c, c->presign_host, key, host, &path) != 0)
            goto fail;
        snprintf(origin, sizeof origin, "%s://%s", c->presign_scheme, host);
        sigv4_format_date(now, amz_date);
        if (ttl < 1)
            ttl = 1;
        if (ttl > SIGV4_MAX_EXPIRES)
            ttl = SIGV4_MAX_EXPIRES;
        sigv4_param_t extra[1];
        size_t n_extra = 0;
        if (filename) {
            download_content_disposition(filename, disposition, sizeof disposition);
            extra[n_extra++] = (sigv4_param_t){"response-content-disposition", disposition};
        }
        sigv4_creds_t creds = {c->access_key_id, c->secret_access_key, c->session_token, c->region, "s3"};
        if (sigv4_presign_get(origin, host, buf_cstr(&path), extra, n_extra, &creds, amz_date, ttl, &u) != 0)
            goto fail;
    }
    *url = buf_detach(&u, NULL);
    rc = 0;
fail:
    if (rc != 0)
        errmsg_fail(err, err_len, "could not build a download URL for %s", key);
    buf_free(&u);
    buf_free(&path);
    return rc;
}
