#include "storage/storage.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/perthread.h"
#include "core/uuid7.h"
#include "storage/localfs.h"
#include "storage/s3.h"

struct storage {
    storage_kind_t kind;
    int default_ttl;
    char *public_url; /* local links: CRAFTKIT_PUBLIC_URL */
    char *data_dir;   /* local */
    char *secret;     /* local: HMAC key of /files links */
    s3_client_t *s3;  /* S3 */
};

static storage_t *new_local(storage_t *s, const config_t *cfg, char *err, size_t err_len)
{
    if (!cfg->data_dir || !cfg->public_url) {
        errmsg_fail(err, err_len, "CRAFTKIT_DATA_DIR and CRAFTKIT_PUBLIC_URL are required");
        return NULL;
    }
    s->data_dir = strdup(cfg->data_dir);
    s->public_url = strdup(cfg->public_url);
    if (!s->data_dir || !s->public_url) {
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    if (localfs_mkdirs(s->data_dir, err, err_len) != 0)
        return NULL;
    if (cfg->signing_secret) {
        s->secret = strdup(cfg->signing_secret);
        if (!s->secret) {
            errmsg_fail(err, err_len, "out of memory");
            return NULL;
        }
    } else if (localfs_load_secret(s->data_dir, &s->secret, err, err_len) != 0) {
        return NULL;
    }
    return s;
}

static storage_t *new_s3(storage_t *s, const config_t *cfg, const storage_options_t *o, char *err,
                         size_t err_len)
{
    s3_config_t sc = {
        .endpoint = cfg->s3_endpoint,
        .region = cfg->s3_region,
        .bucket = cfg->s3_bucket,
        .access_key_id = cfg->s3_access_key_id,
        .secret_access_key = cfg->s3_secret_access_key,
        .force_path_style = cfg->s3_force_path_style,
        .public_base_url = cfg->s3_public_base_url,
        .presign_endpoint = cfg->s3_public_endpoint,
        /* Options (tests) win over the settings; zero in both takes the client's defaults. */
        .attempts = o->s3_attempts ? o->s3_attempts : cfg->s3_attempts,
        .attempt_timeout_ms =
            o->s3_attempt_timeout_ms ? o->s3_attempt_timeout_ms : cfg->s3_attempt_timeout_ms,
        .connect_timeout_ms =
            o->s3_connect_timeout_ms ? o->s3_connect_timeout_ms : cfg->s3_connect_timeout_ms,
        .total_timeout_ms = o->s3_total_timeout_ms ? o->s3_total_timeout_ms : cfg->s3_total_timeout_ms,
        .backoff_base_ms = o->s3_backoff_base_ms,
        .part_size = o->s3_part_size ? o->s3_part_size : (size_t)cfg->s3_part_size_mb << 20,
        .health_timeout_ms = o->health_timeout_ms,
    };
    s->s3 = s3_client_new(&sc, err, err_len);
    return s->s3 ? s : NULL;
}

storage_t *storage_new_with(const config_t *cfg, const storage_options_t *opts, char *err, size_t err_len)
{
    static const storage_options_t defaults = {0};
    storage_t *s = calloc(1, sizeof *s);
    if (!s) {
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    s->kind = cfg->storage;
    s->default_ttl = cfg->download_ttl > 0 ? cfg->download_ttl : 86400;
    storage_t *ok = s->kind == STORAGE_S3 ? new_s3(s, cfg, opts ? opts : &defaults, err, err_len)
                                          : new_local(s, cfg, err, err_len);
    if (!ok)
        storage_free(s);
    return ok;
}

storage_t *storage_new(const config_t *cfg, char *err, size_t err_len)
{
    return storage_new_with(cfg, NULL, err, err_len);
}

void storage_free(storage_t *s)
{
    if (!s)
        return;
    if (s->secret) {
        memset(s->secret, 0, strlen(s->secret));
        free(s->secret);
    }
    free(s->public_url);
    free(s->data_dir);
    s3_client_free(s->s3);
    free(s);
}

storage_kind_t storage_kind(const storage_t *s)
{
    return s->kind;
}

bool storage_key_valid(const char *key)
{
    return localfs_key_valid(key);
}

static int check_key(const char *key, char *err, size_t err_len)
{
    if (storage_key_valid(key))
        return 0;
    return errmsg_fail(err, err_len, "invalid storage key");
}

int storage_put_deferred(storage_t *s, const char *key, const void *data, size_t len,
                         const char *content_type, char *sha256_hex, storage_sync_t *pending, char *err,
                         size_t err_len)
{
    if (check_key(key, err, err_len) != 0)
        return -1;
    int rc = s->kind == STORAGE_S3 ? s3_put(s->s3, key, data, len, content_type, err, err_len)
             : pending ? localfs_write_unsynced(s->data_dir, key, data, len, pending, err, err_len)
                       : localfs_write_atomic(s->data_dir, key, data, len, err, err_len);
    if (rc == 0 && sha256_hex)
        crypto_sha256_hex(data, len, sha256_hex);
    return rc;
}

int storage_put(storage_t *s, const char *key, const void *data, size_t len, const char *content_type,
                char *sha256_hex, char *err, size_t err_len)
{
    return storage_put_deferred(s, key, data, len, content_type, sha256_hex, NULL, err, err_len);
}

int storage_sync_run(storage_t *s, storage_sync_t *pending, char *err, size_t err_len)
{
    (void)s; /* S3 puts leave nothing pending */
    return localfs_sync_run(pending, err, err_len);
}

int storage_get(storage_t *s, const char *key, buf_t *out, char *err, size_t err_len)
{
    if (check_key(key, err, err_len) != 0)
        return -1;
    int rc = s->kind == STORAGE_S3 ? s3_get(s->s3, key, out, err, err_len)
                                   : localfs_read(s->data_dir, key, out, err, err_len);
    if (rc == LOCALFS_NOT_FOUND) {
        errmsg_fail(err, err_len, "%s: no such object", key);
        return STORAGE_NOT_FOUND;
    }
    return rc;
}

int storage_get_fd(storage_t *s, const char *key, int fd, size_t max, size_t *len, char *err, size_t err_len)
{
    *len = 0;
    if (check_key(key, err, err_len) != 0)
        return -1;
    if (s->kind != STORAGE_S3) {
        return errmsg_fail(err, err_len,
                           "storage_get_fd is for S3; open local objects with storage_local_open");
    }
    int rc = s3_get_fd(s->s3, key, fd, max, len, err, err_len);
    return rc == -2 ? STORAGE_NOT_FOUND : rc;
}

int storage_delete(storage_t *s, const char *key, char *err, size_t err_len)
{
    if (check_key(key, err, err_len) != 0)
        return -1;
    return s->kind == STORAGE_S3 ? s3_delete(s->s3, key, err, err_len)
                                 : localfs_delete(s->data_dir, key, err, err_len);
}

int storage_download_url_at(storage_t *s, const char *key, const char *filename, int ttl, time_t now,
                            char **url, char *err, size_t err_len)
{
    *url = NULL;
    if (check_key(key, err, err_len) != 0)
        return -1;
    if (ttl <= 0)
        ttl = s->default_ttl;
    char name[STORAGE_DISPLAY_FILENAME_MAX + 1];
    const char *leaf = strrchr(key, '/');
    storage_display_filename(filename ? filename : (leaf ? leaf + 1 : key), NULL, name, sizeof name);
    if (s->kind == STORAGE_S3)
        return s3_download_url(s->s3, key, name, ttl, now, url, err, err_len);
    /* Local links carry the download's name (signed) unless it is the key's last segment. */
    bool named = filename && (!leaf || strcmp(name, leaf + 1));
    if (download_url(s->public_url, s->secret, key, named ? name : NULL, (long long)now + ttl, url) != 0)
        return errmsg_fail(err, err_len, "could not build a download URL for %s", key);
    return 0;
}

int storage_download_url(storage_t *s, const char *key, const char *filename, int ttl, char **url, char *err,
                         size_t err_len)
{
    return storage_download_url_at(s, key, filename, ttl, time(NULL), url, err, err_len);
}

int storage_health(storage_t *s, char *err, size_t err_len)
{
    if (s->kind == STORAGE_S3)
        return s3_health(s->s3, err, err_len);
    return localfs_check_writable(s->data_dir, err, err_len);
}

/* ---- names and keys ---- */

static bool filename_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static void fallback_filename(const char *render_id, char *out, size_t out_len)
{
    if (render_id && uuid_valid(render_id))
        snprintf(out, out_len, "%s.pdf", render_id);
    else
        snprintf(out, out_len, "download.pdf");
}

void storage_sanitize_filename(const char *filename, const char *render_id, char *out, size_t out_len)
{
    char name[STORAGE_FILENAME_MAX + 8];
    size_t n = 0;
    bool meaningful = false;
    if (out_len == 0)
        return;
    /* Runs of disallowed bytes (spaces, slashes, UTF-8, controls) become one '_'; leading
     * dots and disallowed bytes are dropped (no hidden files, no "." / "..", and
     * "../../etc/passwd" gives "etc_passwd.pdf"). */
    for (const char *p = filename ? filename : ""; *p && n < STORAGE_FILENAME_MAX; p++) {
        char c = *p;
        bool ok = filename_char_ok(c);
        if (n == 0 && (!ok || c == '.'))
            continue;
        if (!ok) {
            if (name[n - 1] == '_')
                continue;
            c = '_';
        }
        name[n++] = c;
        if (c != '_' && c != '.')
            meaningful = true;
    }
    while (n > 0 && name[n - 1] == '.') /* "report." + ".pdf" would give "report..pdf" */
        n--;
    name[n] = '\0';
    if (!meaningful || n == 0) {
        fallback_filename(render_id, out, out_len);
        return;
    }
    bool has_pdf = n >= 4 && !strcasecmp(name + n - 4, ".pdf");
    if (!has_pdf) {
        if (n > STORAGE_FILENAME_MAX - 4)
            n = STORAGE_FILENAME_MAX - 4;
        memcpy(name + n, ".pdf", 5);
        n += 4;
    }
    if (n == 4) { /* only ".pdf" is left: no stem */
        fallback_filename(render_id, out, out_len);
        return;
    }
    snprintf(out, out_len, "%s", name);
}

const char *storage_filename_problem(const char *name, size_t len)
{
    if (strlen(name) != len)
        return "String must not contain NUL characters";
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)name[i] & 0xC0) != 0x80;
    if (chars < 1 || chars > STORAGE_FILENAME_MAX)
        return "String must contain 1 to 120 characters";
    return NULL;
}

/* Bytes of the UTF-8 sequence at p (1 for a stray byte, which then becomes '_'). */
static size_t utf8_seq_len(const unsigned char *p)
{
    size_t n = *p < 0x80             ? 1
               : (*p & 0xE0) == 0xC0 ? 2
               : (*p & 0xF0) == 0xE0 ? 3
               : (*p & 0xF8) == 0xF0 ? 4
                                     : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* True when name ends in ".<1-8 ASCII letters or digits>" after a non-empty stem. */
static bool has_extension(const char *name, size_t n)
{
    const char *dot = NULL;
    for (size_t i = 1; i < n; i++)
        if (name[i] == '.')
            dot = name + i;
    if (!dot || dot + 1 == name + n || name + n - dot - 1 > 8)
        return false;
    for (const char *p = dot + 1; p < name + n; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

void storage_display_filename(const char *filename, const char *render_id, char *out, size_t out_len)
{
    char name[STORAGE_DISPLAY_FILENAME_MAX + 8];
    size_t n = 0, chars = 0, cut[STORAGE_FILENAME_MAX + 1];
    bool meaningful = false;
    if (out_len == 0)
        return;
    /* The user's characters stay; path separators, controls and broken UTF-8 become '_';
     * leading spaces and dots go (no hidden files, no "." or ".."). */
    const unsigned char *p = (const unsigned char *)(filename ? filename : "");
    while (*p && chars < STORAGE_FILENAME_MAX) {
        size_t len = utf8_seq_len(p);
        bool bad = len == 0 || *p < 0x20 || *p == 0x7F || *p == '/' || *p == '\\';
        if (n == 0 && (*p == ' ' || *p == '.' || bad)) {
            p += len ? len : 1;
            continue;
        }
        cut[chars++] = n;
        if (bad) {
            name[n++] = '_';
            p += len ? len : 1;
            continue;
        }
        memcpy(name + n, p, len);
        if (*p != '_' && *p != '.' && *p != ' ')
            meaningful = true;
        n += len;
        p += len;
    }
    while (n > 0 && (name[n - 1] == '.' || name[n - 1] == ' ')) { /* "report." would give "report..pdf" */
        n--;
        chars--;
    }
    name[n] = '\0';
    if (!meaningful) {
        fallback_filename(render_id, out, out_len);
        return;
    }
    if (!has_extension(name, n)) {
        if (chars > STORAGE_FILENAME_MAX - 4)
            n = cut[STORAGE_FILENAME_MAX - 4]; /* on a character boundary */
        memcpy(name + n, ".pdf", 5);
    }
    snprintf(out, out_len, "%s", name);
}

int storage_render_key(const char *project_id, const char *render_id, const char *filename, char *out,
                       size_t out_len)
{
    char clean[STORAGE_FILENAME_MAX + 1];
    if (!project_id || !render_id || !filename || !uuid_valid(project_id) || !uuid_valid(render_id))
        return -1;
    storage_sanitize_filename(filename, render_id, clean, sizeof clean);
    if (strcmp(clean, filename) != 0)
        return -1; /* callers must store and use the sanitised name */
    int n = snprintf(out, out_len, "renders/%s/%s/%s", project_id, render_id, filename);
    if (n < 0 || (size_t)n >= out_len)
        return -1;
    for (char *p = out; *p; p++) /* UUIDs are written lowercase; the file name keeps its case */
        if (p - out < 8 + 2 * UUID_STR_LEN + 2 && *p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return storage_key_valid(out) ? 0 : -1;
}

download_link_t storage_local_verify(const storage_t *s, const char *key, const char *filename,
                                     const char *expires, const char *signature, time_t now)
{
    if (s->kind != STORAGE_LOCAL || !s->secret)
        return DOWNLOAD_LINK_MALFORMED;
    return download_verify(s->secret, key, filename, expires, signature, now);
}

int storage_local_open(const storage_t *s, const char *key, int *fd, struct stat *st, char *err,
                       size_t err_len)
{
    *fd = -1;
    if (s->kind != STORAGE_LOCAL)
        return errmsg_fail(err, err_len, "not a local storage backend");
    int rc = localfs_open(s->data_dir, key, fd, st, err, err_len);
    return rc == LOCALFS_NOT_FOUND ? STORAGE_NOT_FOUND : rc;
}

/* ---- per-thread backends ---- */

static const config_t *thread_cfg;

static void thread_storage_free(void *p)
{
    storage_free(p);
}

static perthread_t thread_backends = PERTHREAD_INIT(thread_storage_free);

int storage_configure(const config_t *cfg, char *err, size_t err_len)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    storage_t *s = storage_new(cfg, err, err_len);
    if (!s)
        return -1;
    thread_cfg = cfg;
    perthread_set(&thread_backends, s); /* the main thread's backend */
    return 0;
}

storage_t *storage_thread(void)
{
    if (!thread_cfg)
        return NULL;
    storage_t *s = perthread_get(&thread_backends);
    if (s)
        return s;
    char err[ERRMSG_LEN];
    s = storage_new(thread_cfg, err, sizeof err);
    if (!s) {
        log_error("storage: %s", err);
        return NULL;
    }
    perthread_set(&thread_backends, s);
    return s;
}

void storage_shutdown(void)
{
    if (!thread_cfg)
        return;
    perthread_set(&thread_backends, NULL);
    thread_cfg = NULL;
    curl_global_cleanup();
}

bool storage_ready_check(char *err, size_t err_len)
{
    storage_t *s = storage_thread();
    if (!s) {
        errmsg_fail(err, err_len, "storage backend could not be created (see the log)");
        return false;
    }
    return storage_health(s, err, err_len) == 0;
}
