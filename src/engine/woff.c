#include "engine/woff.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_TRUETYPE_TABLES_H

#include "core/errmsg.h"

typedef struct table {
    FT_ULong tag, len;
    size_t off; /* in the output */
} table_t;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* The OpenType checksum of len bytes (zero-padded to 4). */
static uint32_t checksum(const unsigned char *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i += 4) {
        unsigned char w[4] = {0};
        memcpy(w, p + i, len - i < 4 ? len - i : 4);
        sum += be32(w);
    }
    return sum;
}

static int by_tag(const void *a, const void *b)
{
    FT_ULong x = ((const table_t *)a)->tag, y = ((const table_t *)b)->tag;
    return x < y ? -1 : x > y;
}

bool woff_is_woff(const unsigned char *data, size_t len)
{
    return len >= 4 && (!memcmp(data, "wOFF", 4) || !memcmp(data, "wOF2", 4));
}

/* Lists the tables FreeType rebuilt and lays them out after the directory; the file's size,
 * or 0 with err when there are too many or they pass max_bytes. */
static size_t plan(FT_Face face, table_t *t, FT_ULong n, size_t max_bytes, char *err, size_t err_len)
{
    size_t off = 12 + (size_t)n * 16;
    for (FT_ULong i = 0; i < n; i++) {
        if (FT_Sfnt_Table_Info(face, (FT_UInt)i, &t[i].tag, &t[i].len) != 0) {
            errmsg_fail(err, err_len, "The font is damaged: table %lu cannot be read", (unsigned long)i);
            return 0;
        }
    }
    qsort(t, n, sizeof *t, by_tag);
    for (FT_ULong i = 0; i < n; i++) {
        t[i].off = off;
        off += ((size_t)t[i].len + 3) & ~(size_t)3;
        if (off > max_bytes) {
            errmsg_fail(err, err_len,
                        "The font would decompress to more than the limit of %zu bytes (a compression bomb?)",
                        max_bytes);
            return 0;
        }
    }
    return off;
}

static const table_t *find(const table_t *t, FT_ULong n, const char *tag)
{
    for (FT_ULong i = 0; i < n; i++)
        if (t[i].tag == FT_MAKE_TAG(tag[0], tag[1], tag[2], tag[3]))
            return &t[i];
    return NULL;
}

/* FreeType 2.12 rebuilds a WOFF2 glyf table of the right length but may end loca with an offset
 * past it (its own loader clamps that); so do we, or fontconfig, cairo and fontTools would see
 * a damaged font. */
static void clamp_loca(unsigned char *out, const table_t *t, FT_ULong n)
{
    const table_t *head = find(t, n, "head"), *loca = find(t, n, "loca"), *glyf = find(t, n, "glyf");
    if (!head || !loca || !glyf || head->len < 54)
        return;
    bool long_offsets = out[head->off + 50] << 8 | out[head->off + 51];
    unsigned char *p = out + loca->off;
    size_t entry = long_offsets ? 4 : 2;
    for (size_t i = 0; i + entry <= loca->len; i += entry) {
        uint64_t o = long_offsets ? be32(p + i) : (uint64_t)(p[i] << 8 | p[i + 1]) * 2;
        if (o <= glyf->len)
            continue;
        if (long_offsets)
            put32(p + i, (uint32_t)glyf->len);
        else
            put16(p + i, (unsigned)(glyf->len / 2));
    }
}

/* Writes the sfnt of face (whose tables are planned in t) to out. */
static int write_sfnt(FT_Face face, uint32_t flavor, table_t *t, FT_ULong n, unsigned char *out, size_t size,
                      char *err, size_t err_len)
{
    unsigned search = 1, shift = 0;
    while (search * 2 <= n) {
        search *= 2;
        shift++;
    }
    put32(out, flavor);
    put16(out + 4, (unsigned)n);
    put16(out + 6, search * 16);
    put16(out + 8, shift);
    put16(out + 10, (unsigned)n * 16 - search * 16);
    for (FT_ULong i = 0; i < n; i++) {
        FT_ULong len = t[i].len;
        if (FT_Load_Sfnt_Table(face, t[i].tag, 0, out + t[i].off, &len) != 0 || len != t[i].len)
            return errmsg_fail(err, err_len, "The font is damaged: a table cannot be unpacked");
    }
    clamp_loca(out, t, n);
    const table_t *head = find(t, n, "head");
    if (head && head->len >= 12)
        put32(out + head->off + 8, 0); /* checkSumAdjustment, set below */
    for (FT_ULong i = 0; i < n; i++) {
        unsigned char *rec = out + 12 + i * 16;
        put32(rec, (uint32_t)t[i].tag);
        put32(rec + 4, checksum(out + t[i].off, t[i].len));
        put32(rec + 8, (uint32_t)t[i].off);
        put32(rec + 12, (uint32_t)t[i].len);
    }
    if (head && head->len >= 12)
        put32(out + head->off + 8, 0xB1B0AFBAu - checksum(out, size));
    return 0;
}

int woff_to_sfnt(const unsigned char *data, size_t len, size_t max_bytes, unsigned char **out,
                 size_t *out_len, char *err, size_t err_len)
{
    *out = NULL;
    *out_len = 0;
    if (!woff_is_woff(data, len) || len < 44)
        return errmsg_fail(err, err_len, "The font is not a WOFF or WOFF2 file");
    uint32_t flavor = be32(data + 4);
    if (flavor == 0x74746366u) /* 'ttcf' */
        return errmsg_fail(err, err_len,
                           "The file is a font collection; upload each font of it as its own file");
    if (flavor != 0x00010000u && flavor != 0x74727565u && flavor != 0x4F54544Fu) /* 1.0, 'true', 'OTTO' */
        return errmsg_fail(err, err_len,
                           "The font is damaged: it packs neither TrueType nor OpenType outlines");
    if (be32(data + 16) > max_bytes)
        return errmsg_fail(err, err_len,
                           "The font would decompress to %u bytes, more than the limit of %zu bytes",
                           be32(data + 16), max_bytes);
    FT_Library lib = NULL;
    FT_Face face = NULL;
    unsigned char *buf = NULL;
    table_t *t = NULL;
    int rc = -1;
    if (FT_Init_FreeType(&lib) != 0) {
        errmsg_fail(err, err_len, "The font could not be unpacked (FreeType failed to start)");
        goto cleanup;
    }
    FT_Error fe = FT_New_Memory_Face(lib, data, (FT_Long)len, 0, &face);
    if (fe != 0) {
        const char *why = FT_Error_String(fe);
        errmsg_fail(err, err_len, "The font is damaged or cannot be unpacked: %s",
                    why ? why : "FreeType refused it");
        goto cleanup;
    }
    FT_ULong n = 0;
    if (FT_Sfnt_Table_Info(face, 0, NULL, &n) != 0 || n == 0 || n > WOFF_TABLES_MAX) {
        errmsg_fail(err, err_len, "The font is damaged: it has %lu tables", (unsigned long)n);
        goto cleanup;
    }
    t = calloc(n, sizeof *t);
    size_t size = t ? plan(face, t, n, max_bytes, err, err_len) : 0;
    if (!t)
        errmsg_fail(err, err_len, "out of memory");
    if (!size || !(buf = calloc(1, size))) {
        if (size)
            errmsg_fail(err, err_len, "out of memory");
        goto cleanup;
    }
    if (write_sfnt(face, flavor, t, n, buf, size, err, err_len) != 0)
        goto cleanup;
    *out = buf;
    *out_len = size;
    buf = NULL;
    rc = 0;
cleanup:
    free(buf);
    free(t);
    if (face)
        FT_Done_Face(face);
    if (lib)
        FT_Done_FreeType(lib);
    return rc;
}
