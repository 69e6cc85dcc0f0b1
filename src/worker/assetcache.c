#include "worker/assetcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "engine/woff.h"
#include "storage/storage.h"

static const char *cache_dir(void)
{
    const config_t *cfg = config_get();
    return cfg && cfg->asset_cache_dir ? cfg->asset_cache_dir : "./var/asset-cache";
}

/* mkdir -p for the cache directory. */
static int ensure_dir(const char *dir, char *err, size_t err_len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return errmsg_fail(err, err_len, "cannot create %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return errmsg_fail(err, err_len, "cannot create %s: %s", p, strerror(errno));
    return 0;
}

/* Writes data to path atomically (temporary file, rename). */
static int write_atomic(const char *path, const unsigned char *data, size_t len, char *err, size_t err_len)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return errmsg_fail(err, err_len, "cannot write the asset cache %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    bool ok = off == len;
    if (close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return errmsg_fail(err, err_len, "cannot write the asset cache file %s", path);
    }
    return 0;
}

/* Copies one stored object to path, after checking its bytes against the recorded hash. */
static int fill(const asset_file_t *a, const char *path, char *err, size_t err_len)
{
    storage_t *st = storage_thread();
    if (!st)
        return errmsg_fail(err, err_len, "no storage backend");
    buf_t data;
    buf_init(&data, (size_t)a->bytes);
    char serr[ERRMSG_LEN];
    int rc = storage_get(st, a->key, &data, serr, sizeof serr);
    if (rc != 0) {
        buf_free(&data);
        return errmsg_fail(err, err_len, "asset \"%s\" could not be read from storage: %s", a->name,
                           rc == STORAGE_NOT_FOUND ? "it is missing" : serr);
    }
    char sha[CRYPTO_SHA256_HEX_LEN + 1];
    crypto_sha256_hex(data.data ? data.data : "", data.len, sha);
    if (strcmp(sha, a->sha256) != 0) {
        buf_free(&data);
        return errmsg_fail(err, err_len,
                           "asset \"%s\" in storage does not have the bytes it was uploaded with", a->name);
    }
    rc = write_atomic(path, (const unsigned char *)data.data, data.len, err, err_len);
    buf_free(&data);
    return rc;
}

/* The whole file into b (within b's cap). */
static int read_file(const char *path, buf_t *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char chunk[65536];
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        rc = n < 0 ? -1 : buf_append(b, chunk, (size_t)n);
    }
    close(fd);
    return rc;
}

/* A WOFF/WOFF2 font is used as the sfnt it packs (fontconfig, HarfBuzz and cairo read plain font
 * files only): path becomes <sha256>.sfnt, unpacked once. Other files keep their path. */
static int font_as_sfnt(const asset_file_t *a, char *path, size_t path_len, char *err, size_t err_len)
{
    unsigned char head[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, head, sizeof head) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof head || !woff_is_woff(head, sizeof head))
        return 0;
    char sfnt[1100];
    snprintf(sfnt, sizeof sfnt, "%s.sfnt", path);
    struct stat st;
    if (stat(sfnt, &st) != 0) {
        buf_t data;
        buf_init(&data, (size_t)a->bytes);
        int rc = read_file(path, &data);
        unsigned char *out = NULL;
        size_t out_len = 0;
        char why[300];
        const config_t *cfg = config_get();
        size_t max = cfg && cfg->asset_font_max_bytes ? cfg->asset_font_max_bytes : 20u << 20;
        if (rc != 0 || woff_to_sfnt((const unsigned char *)data.data, data.len, max, &out, &out_len, why,
                                    sizeof why) != 0) {
            buf_free(&data);
            return errmsg_fail(err, err_len, "font \"%s\" could not be unpacked: %s", a->name,
                               rc != 0 ? "unreadable" : why);
        }
        buf_free(&data);
        rc = write_atomic(sfnt, out, out_len, err, err_len);
        free(out);
        if (rc != 0)
            return -1;
    }
    size_t n = strlen(sfnt);
    if (n >= path_len)
        return errmsg_fail(err, err_len, "the asset cache path %s is too long", sfnt);
    memcpy(path, sfnt, n + 1);
    return 0;
}

int assetcache_load(db_t *db, const char *project_id, const char *version_id, assetcache_set_t *out,
                    char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    char derr[ERRMSG_LEN];
    int n = assets_for_render(db, project_id, version_id, &out->rows, derr, sizeof derr);
    if (n < 0)
        return errmsg_fail(err, err_len, "the project's assets could not be listed: %s", derr);
    out->assets = calloc((size_t)n + 1, sizeof *out->assets);
    out->paths = n ? calloc((size_t)n, sizeof *out->paths) : NULL;
    if (!out->assets || (n && !out->paths)) {
        assetcache_set_free(out);
        return errmsg_fail(err, err_len, "out of memory");
    }
    const char *dir = cache_dir();
    if (n && ensure_dir(dir, err, err_len) != 0) {
        assetcache_set_free(out);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        asset_file_t *a = &out->rows[i];
        snprintf(out->paths[i], sizeof out->paths[i], "%s/%s", dir, a->sha256);
        struct stat stt;
        if ((stat(out->paths[i], &stt) != 0 || stt.st_size != a->bytes) &&
            fill(a, out->paths[i], err, err_len) != 0) {
            assetcache_set_free(out);
            return -1;
        }
        if (!strcmp(a->kind, "font") &&
            font_as_sfnt(a, out->paths[i], sizeof out->paths[i], err, err_len) != 0) {
            assetcache_set_free(out);
            return -1;
        }
        out->assets[i] = (engine_asset_t){a->name,   a->id,         a->kind,
                                          a->sha256, out->paths[i], a->family[0] ? a->family : NULL};
    }
    out->n = (size_t)n;
    return 0;
}

void assetcache_set_free(assetcache_set_t *s)
{
    free(s->assets);
    free(s->rows);
    free(s->paths);
    memset(s, 0, sizeof *s);
}
