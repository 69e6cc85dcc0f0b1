#include "storage/zipw.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/errmsg.h"

#define LOCAL_HEADER_LEN 30
#define CENTRAL_HEADER_LEN 46
#define END_RECORD_LEN 22
#define FLAG_UTF8 0x0800
#define VERSION_NEEDED 10             /* 1.0: stored entries */
#define VERSION_MADE_BY (3 << 8 | 30) /* Unix, spec 3.0: external attributes are Unix modes */
#define ENTRY_MODE 0100644u           /* a regular file, rw-r--r-- */
/* The central directory of the largest archive: every entry's header and longest name. */
#define CENTRAL_MAX ((size_t)ZIPW_MAX_ENTRIES * (CENTRAL_HEADER_LEN + ZIPW_NAME_MAX))

struct zipw {
    int fd;
    uint64_t offset; /* where the next entry starts */
    uint16_t dos_time, dos_date;
    int entries;
    buf_t central; /* the central directory, written by zipw_finish */
    json_t *names; /* names in the archive (a set) */
    bool broken;   /* a write failed: the archive is unusable */
};

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)(v & 0xffff));
    put16(p + 2, (uint16_t)(v >> 16));
}

/* MS-DOS date and time (2-second steps, years 1980-2107) of t in UTC. */
static void dos_stamp(time_t t, uint16_t *dos_time, uint16_t *dos_date)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year < 80)
        tm = (struct tm){.tm_year = 80, .tm_mday = 1};
    if (tm.tm_year > 207)
        tm = (struct tm){
            .tm_year = 207, .tm_mon = 11, .tm_mday = 31, .tm_hour = 23, .tm_min = 59, .tm_sec = 58};
    *dos_time = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
    *dos_date = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
}

zipw_t *zipw_open(int fd, time_t mtime, char *err, size_t err_len)
{
    zipw_t *z = calloc(1, sizeof *z);
    if (!z || !(z->names = json_object())) {
        free(z);
        errmsg_fail(err, err_len, "out of memory starting a ZIP archive");
        return NULL;
    }
    z->fd = fd;
    dos_stamp(mtime, &z->dos_time, &z->dos_date);
    buf_init(&z->central, CENTRAL_MAX);
    return z;
}

void zipw_free(zipw_t *z)
{
    if (!z)
        return;
    buf_free(&z->central);
    json_decref(z->names);
    free(z);
}

static int pwrite_all(int fd, const void *data, size_t len, uint64_t at, char *err, size_t err_len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return errmsg_fail(err, err_len, "cannot write the ZIP archive: %s",
                               n < 0 ? strerror(errno) : "short write");
        p += n;
        len -= (size_t)n;
        at += (uint64_t)n;
    }
    return 0;
}

int zipw_unique_name(json_t *taken, const char *name, char *out, size_t out_len)
{
    if ((size_t)snprintf(out, out_len, "%s", name) >= out_len)
        return -1;
    /* Each name maps to the next suffix to try for it, so n copies of one name cost O(n). */
    json_t *next = json_object_get(taken, out);
    if (!next)
        return json_object_set_new(taken, out, json_integer(2));
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        dot = name + strlen(name);
    int stem = (int)(dot - name);
    for (json_int_t n = json_integer_value(next); n < ZIPW_UNIQUE_TRIES; n++) {
        if ((size_t)snprintf(out, out_len, "%.*s-%lld%s", stem, name, (long long)n, dot) >= out_len)
            return -1;
        if (!json_object_get(taken, out)) {
            json_integer_set(next, n + 1);
            return json_object_set_new(taken, out, json_integer(2));
        }
    }
    return -1;
}

/* The 30-byte local header (crc and sizes 0 until patched) or its patch (crc, sizes). */
static void local_header(const zipw_t *z, unsigned char h[LOCAL_HEADER_LEN], size_t name_len)
{
    memset(h, 0, LOCAL_HEADER_LEN);
    put32(h, 0x04034b50);
    put16(h + 4, VERSION_NEEDED);
    put16(h + 6, FLAG_UTF8);
    put16(h + 8, 0); /* stored */
    put16(h + 10, z->dos_time);
    put16(h + 12, z->dos_date);
    put16(h + 26, (uint16_t)name_len);
}

static int add_central(zipw_t *z, const char *name, size_t name_len, uint32_t crc, uint32_t size, uint32_t at,
                       char *err, size_t err_len)
{
    unsigned char h[CENTRAL_HEADER_LEN] = {0};
    put32(h, 0x02014b50);
    put16(h + 4, VERSION_MADE_BY);
    put16(h + 6, VERSION_NEEDED);
    put16(h + 8, FLAG_UTF8);
    put16(h + 12, z->dos_time);
    put16(h + 14, z->dos_date);
    put32(h + 16, crc);
    put32(h + 20, size);
    put32(h + 24, size);
    put16(h + 28, (uint16_t)name_len);
    put32(h + 38, ENTRY_MODE << 16);
    put32(h + 42, at);
    if (buf_append(&z->central, h, sizeof h) != BUF_OK || buf_append(&z->central, name, name_len) != BUF_OK)
        return errmsg_fail(err, err_len, "out of memory for the ZIP central directory");
    return 0;
}

/* The source of an entry: a file descriptor or a memory range. */
typedef struct source {
    int fd; /* -1: memory */
    const unsigned char *data;
    size_t len, at;
} source_t;

/* Next piece of src into chunk: bytes read (0 at the end) or -1 + err. */
static ssize_t source_read(source_t *src, unsigned char *chunk, char *err, size_t err_len)
{
    if (src->fd < 0) {
        size_t n = src->len - src->at < ZIPW_COPY_CHUNK ? src->len - src->at : ZIPW_COPY_CHUNK;
        if (n > 0)
            memcpy(chunk, src->data + src->at, n);
        src->at += n;
        return (ssize_t)n;
    }
    for (;;) {
        ssize_t n = read(src->fd, chunk, ZIPW_COPY_CHUNK);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return errmsg_fail(err, err_len, "cannot read a ZIP entry's file: %s", strerror(errno));
    }
}

/* Copies src after the local header at data_at; *crc and *size get what was copied. */
static int copy_data(zipw_t *z, source_t *src, const char *name, uint64_t data_at, uint32_t *crc,
                     uint64_t *size, char *err, size_t err_len)
{
    unsigned char *chunk = malloc(ZIPW_COPY_CHUNK);
    if (!chunk)
        return errmsg_fail(err, err_len, "out of memory copying a ZIP entry");
    uLong c = crc32(0L, Z_NULL, 0);
    uint64_t n_total = 0;
    int rc = 0;
    ssize_t n;
    while ((n = source_read(src, chunk, err, err_len)) > 0) {
        if (data_at + n_total + (uint64_t)n > ZIPW_MAX_BYTES) {
            rc = errmsg_fail(err, err_len,
                             "the ZIP archive would pass 4 GiB at \"%s\" (ZIP64 is not supported); "
                             "merge fewer items per batch",
                             name);
            break;
        }
        c = crc32(c, chunk, (uInt)n);
        if ((rc = pwrite_all(z->fd, chunk, (size_t)n, data_at + n_total, err, err_len)) != 0)
            break;
        n_total += (uint64_t)n;
    }
    free(chunk);
    if (n < 0)
        rc = -1;
    *crc = (uint32_t)c;
    *size = n_total;
    return rc;
}

static int add_entry(zipw_t *z, const char *name, source_t *src, char *used, char *err, size_t err_len)
{
    char unique[ZIPW_NAME_MAX + 1];
    if (z->broken)
        return errmsg_fail(err, err_len, "the ZIP archive is unusable after an earlier error");
    if (!name || !*name)
        return errmsg_fail(err, err_len, "a ZIP entry needs a name");
    if (z->entries >= ZIPW_MAX_ENTRIES)
        return errmsg_fail(err, err_len, "a ZIP archive holds at most %d entries (ZIP64 is not supported)",
                           ZIPW_MAX_ENTRIES);
    if (zipw_unique_name(z->names, name, unique, sizeof unique) != 0)
        return errmsg_fail(err, err_len, "the ZIP entry name \"%.80s\" is too long", name);
    size_t name_len = strlen(unique);
    uint64_t at = z->offset, data_at = at + LOCAL_HEADER_LEN + name_len;
    unsigned char h[LOCAL_HEADER_LEN];
    local_header(z, h, name_len);
    uint32_t crc = 0;
    uint64_t size = 0;
    z->broken = true; /* until the entry is complete */
    if (data_at > ZIPW_MAX_BYTES)
        return errmsg_fail(err, err_len, "the ZIP archive would pass 4 GiB (ZIP64 is not supported)");
    if (pwrite_all(z->fd, h, sizeof h, at, err, err_len) != 0 ||
        pwrite_all(z->fd, unique, name_len, at + LOCAL_HEADER_LEN, err, err_len) != 0 ||
        copy_data(z, src, unique, data_at, &crc, &size, err, err_len) != 0)
        return -1;
    unsigned char patch[12];
    put32(patch, crc);
    put32(patch + 4, (uint32_t)size);
    put32(patch + 8, (uint32_t)size);
    if (pwrite_all(z->fd, patch, sizeof patch, at + 14, err, err_len) != 0 ||
        add_central(z, unique, name_len, crc, (uint32_t)size, (uint32_t)at, err, err_len) != 0)
        return -1;
    z->offset = data_at + size;
    z->entries++;
    z->broken = false;
    if (used)
        snprintf(used, ZIPW_NAME_MAX + 1, "%s", unique);
    return 0;
}

int zipw_add_fd(zipw_t *z, const char *name, int src_fd, char *used, char *err, size_t err_len)
{
    source_t src = {.fd = src_fd};
    return add_entry(z, name, &src, used, err, err_len);
}

int zipw_add(zipw_t *z, const char *name, const void *data, size_t len, char *used, char *err, size_t err_len)
{
    source_t src = {.fd = -1, .data = data, .len = len};
    return add_entry(z, name, &src, used, err, err_len);
}

int zipw_finish(zipw_t *z, uint64_t *size, char *err, size_t err_len)
{
    if (z->broken)
        return errmsg_fail(err, err_len, "the ZIP archive is unusable after an earlier error");
    uint64_t end = z->offset + z->central.len;
    if (end + END_RECORD_LEN > ZIPW_MAX_BYTES)
        return errmsg_fail(err, err_len, "the ZIP archive would pass 4 GiB (ZIP64 is not supported)");
    unsigned char e[END_RECORD_LEN] = {0};
    put32(e, 0x06054b50);
    put16(e + 8, (uint16_t)z->entries);
    put16(e + 10, (uint16_t)z->entries);
    put32(e + 12, (uint32_t)z->central.len);
    put32(e + 16, (uint32_t)z->offset);
    if ((z->central.len &&
         pwrite_all(z->fd, z->central.data, z->central.len, z->offset, err, err_len) != 0) ||
        pwrite_all(z->fd, e, sizeof e, end, err, err_len) != 0)
        return -1;
    if (size)
        *size = end + END_RECORD_LEN;
    return 0;
}
