#include "storage/download.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "storage/localfs.h"

void download_sign(const char *secret, const char *key, const char *filename, long long expires,
                   char sig[DOWNLOAD_SIGNATURE_LEN + 1])
{
    buf_t msg;
    buf_init(&msg, LOCALFS_KEY_MAX + 4 * DOWNLOAD_FILENAME_BYTES);
    if (buf_printf(&msg, "%s\n%lld", key, expires) != BUF_OK ||
        (filename && buf_printf(&msg, "\n%s", filename) != BUF_OK)) {
        /* Only an over-long key or name gets here; sign something no valid link can carry. */
        buf_reset(&msg);
    }
    crypto_hmac_sha256_hex(secret, strlen(secret), buf_cstr(&msg), msg.len, sig);
    buf_free(&msg);
}

/* RFC 3986 unreserved characters stay, every other byte is %XX. */
static int percent_encode(buf_t *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                    *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if ((keep ? buf_printf(b, "%c", *p) : buf_printf(b, "%%%02X", *p)) != BUF_OK)
            return -1;
    }
    return 0;
}

int download_url(const char *public_url, const char *secret, const char *key, const char *filename,
                 long long expires, char **url)
{
    *url = NULL;
    if (!localfs_key_valid(key) || expires < 0)
        return -1;
    char sig[DOWNLOAD_SIGNATURE_LEN + 1];
    download_sign(secret, key, filename, expires, sig);
    buf_t b;
    buf_init(&b, 8192);
    /* Keys use only unreserved characters and '/', so they go into the path unencoded. */
    if (buf_printf(&b, "%s/files/%s?expires=%lld&signature=%s", public_url, key, expires, sig) != BUF_OK ||
        (filename && (buf_printf(&b, "&filename=") != BUF_OK || percent_encode(&b, filename) != 0))) {
        buf_free(&b);
        return -1;
    }
    *url = buf_detach(&b, NULL);
    return 0;
}

/* Canonical decimal: 1..DOWNLOAD_EXPIRES_MAX_DIGITS digits, no leading zero (except "0"). */
static bool parse_expires(const char *s, long long *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > DOWNLOAD_EXPIRES_MAX_DIGITS || (n > 1 && s[0] == '0'))
        return false;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool is_lower_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

download_link_t download_verify(const char *secret, const char *key, const char *filename,
                                const char *expires, const char *signature, time_t now)
{
    long long exp;
    if (!key || !localfs_key_valid(key) || !parse_expires(expires, &exp) ||
        (filename && strlen(filename) > DOWNLOAD_FILENAME_BYTES))
        return DOWNLOAD_LINK_MALFORMED;
    /* Accept uppercase hex too: it is the same signature. */
    char given[DOWNLOAD_SIGNATURE_LEN + 1] = "";
    if (signature && strlen(signature) == DOWNLOAD_SIGNATURE_LEN) {
        for (size_t i = 0; i <= DOWNLOAD_SIGNATURE_LEN; i++)
            given[i] =
                (signature[i] >= 'A' && signature[i] <= 'F') ? (char)(signature[i] + 32) : signature[i];
    }
    if (!is_lower_hex(given, DOWNLOAD_SIGNATURE_LEN))
        return DOWNLOAD_LINK_MALFORMED;
    char want[DOWNLOAD_SIGNATURE_LEN + 1];
    download_sign(secret, key, filename, exp, want);
    if (!crypto_equal(want, DOWNLOAD_SIGNATURE_LEN, given, DOWNLOAD_SIGNATURE_LEN))
        return DOWNLOAD_LINK_BAD_SIGNATURE;
    if ((long long)now > exp)
        return DOWNLOAD_LINK_EXPIRED;
    return DOWNLOAD_LINK_OK;
}

const char *download_link_reason(download_link_t v)
{
    switch (v) {
    case DOWNLOAD_LINK_OK: return "ok";
    case DOWNLOAD_LINK_MALFORMED: return "malformed link (expires/signature)";
    case DOWNLOAD_LINK_BAD_SIGNATURE: return "bad signature";
    case DOWNLOAD_LINK_EXPIRED: return "link expired";
    }
    return "invalid link";
}

/* Parses 1+ digits at *p, saturating at UINT64_MAX; advances *p. */
static bool parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
    }
    *p = s;
    *out = v;
    return true;
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

download_range_t download_parse_range(const char *header, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!header || strlen(header) > DOWNLOAD_HEADER_MAX)
        return DOWNLOAD_RANGE_NONE;
    const char *p = skip_ows(header);
    if (strncasecmp(p, "bytes", 5) != 0)
        return DOWNLOAD_RANGE_NONE;
    p = skip_ows(p + 5);
    if (*p != '=' || strchr(p, ','))
        return DOWNLOAD_RANGE_NONE; /* other syntax or several ranges: whole file */
    p = skip_ows(p + 1);
    uint64_t a = 0, b = UINT64_MAX;
    bool suffix = (*p == '-');
    if (suffix) {
        p++;
        if (!parse_u64(&p, &b))
            return DOWNLOAD_RANGE_NONE;
    } else {
        if (!parse_u64(&p, &a) || *p++ != '-')
            return DOWNLOAD_RANGE_NONE;
        if (*p >= '0' && *p <= '9' && !parse_u64(&p, &b))
            return DOWNLOAD_RANGE_NONE;
    }
    if (*skip_ows(p) != '\0')
        return DOWNLOAD_RANGE_NONE;
    if (suffix) {
        if (b == 0 || size == 0) /* "-0", or any suffix of an empty file */
            return DOWNLOAD_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return DOWNLOAD_RANGE_PARTIAL;
    }
    if (b < a)
        return DOWNLOAD_RANGE_NONE; /* invalid range-spec: ignored */
    if (a >= size)
        return DOWNLOAD_RANGE_UNSATISFIABLE;
    *first = a;
    *last = b >= size ? size - 1 : b;
    return DOWNLOAD_RANGE_PARTIAL;
}

void download_etag(const struct stat *st, char out[DOWNLOAD_ETAG_MAX])
{
    unsigned long long ns =
        (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL + (unsigned long long)st->st_mtim.tv_nsec;
    snprintf(out, DOWNLOAD_ETAG_MAX, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
             (unsigned long long)st->st_size, ns);
}

bool download_etag_match(const char *header, const char *etag, bool weak)
{
    if (!header || !etag || strlen(header) > DOWNLOAD_HEADER_MAX)
        return false;
    const char *p = skip_ows(header);
    if (*p == '*' && *skip_ows(p + 1) == '\0')
        return true;
    size_t elen = strlen(etag);
    while (*p) {
        p = skip_ows(p);
        bool is_weak = !strncmp(p, "W/", 2);
        if (is_weak)
            p += 2;
        if (*p != '"')
            return false; /* not an entity-tag (e.g. an HTTP-date in If-Range) */
        const char *end = strchr(p + 1, '"');
        if (!end)
            return false;
        size_t len = (size_t)(end - p) + 1;
        if ((weak || !is_weak) && len == elen && !memcmp(p, etag, len))
            return true;
        p = skip_ows(end + 1);
        if (*p == ',')
            p++;
        else if (*p)
            return false;
    }
    return false;
}

void download_content_disposition(const char *filename, char *out, size_t out_len)
{
    /* RFC 6266: filename="<ASCII fallback>" for old clients, filename*=UTF-8''<percent-encoded>
     * with the real name. The fallback turns each non-ASCII character, control, quote and
     * backslash into '_', so neither value can break out of the header. */
    char fallback[DOWNLOAD_FILENAME_MAX + 1];
    size_t n = 0, chars = 0;
    buf_t enc;
    buf_init(&enc, 3 * DOWNLOAD_FILENAME_BYTES + 1);
    const unsigned char *p = (const unsigned char *)(filename && *filename ? filename : "download");
    for (; *p && chars < DOWNLOAD_FILENAME_MAX && enc.len < 3 * DOWNLOAD_FILENAME_BYTES; p++) {
        bool attr = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                    strchr("!#$&+-.^_`|~", *p);
        if ((attr ? buf_printf(&enc, "%c", *p) : buf_printf(&enc, "%%%02X", *p)) != BUF_OK)
            break;
        if ((*p & 0xC0) == 0x80)
            continue; /* a continuation byte: the character was counted at its lead byte */
        chars++;
        fallback[n++] = (*p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\' && *p != '%') ? (char)*p : '_';
    }
    fallback[n] = '\0';
    snprintf(out, out_len, "attachment; filename=\"%s\"; filename*=UTF-8''%s", fallback, buf_cstr(&enc));
    buf_free(&enc);
}

const char *download_content_type(const char *key)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {{".pdf", "application/pdf"},   {".png", "image/png"},
                 {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"},
                 {".json", "application/json"}, {".txt", "text/plain; charset=utf-8"}};
    const char *dot = key ? strrchr(key, '.') : NULL;
    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i].ext))
                return types[i].type;
    }
    return "application/octet-stream";
}
