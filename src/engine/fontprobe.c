#include "engine/fontprobe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_TRUETYPE_TABLES_H
#include FT_TRUETYPE_TAGS_H

#include "core/errmsg.h"
#include "engine/woff.h"

#define FONTPROBE_GLYPHS_CHECKED 256 /* glyphs loaded to prove the outlines are readable */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static bool tag_is(const unsigned char *p, const char *tag)
{
    return memcmp(p, tag, 4) == 0;
}

static bool is_sfnt(const unsigned char *p)
{
    return be32(p) == 0x00010000u || tag_is(p, "true") || tag_is(p, "OTTO");
}

bool fontprobe_is_font(const unsigned char *data, size_t len)
{
    return len >= 4 &&
           (is_sfnt(data) || tag_is(data, "ttcf") || tag_is(data, "wOFF") || tag_is(data, "wOF2"));
}

/* The table directory of a plain sfnt: every table inside the file, a cmap among them. */
static int check_sfnt_tables(const unsigned char *d, size_t len, char *err, size_t err_len)
{
    if (len < 12)
        return errmsg_fail(err, err_len, "The font is truncated (no table directory)");
    unsigned n = be16(d + 4);
    if (n == 0 || 12 + (size_t)n * 16 > len)
        return errmsg_fail(err, err_len, "The font is truncated or damaged (its table directory is cut off)");
    bool cmap = false;
    for (unsigned i = 0; i < n; i++) {
        const unsigned char *r = d + 12 + (size_t)i * 16;
        uint64_t off = be32(r + 8), tlen = be32(r + 12);
        if (off + tlen > len) {
            char tag[5] = {0};
            memcpy(tag, r, 4);
            return errmsg_fail(err, err_len,
                               "The font is truncated or damaged: its '%s' table ends at byte %llu of %zu",
                               tag, (unsigned long long)(off + tlen), len);
        }
        if (tag_is(r, "cmap"))
            cmap = true;
    }
    if (!cmap)
        return errmsg_fail(err, err_len, "The font has no character map (cmap table), so no text can use it");
    return 0;
}

/* A whole sfnt table through FreeType (which also unpacks WOFF/WOFF2); NULL when absent or
 * larger than max. Caller frees. */
static unsigned char *sfnt_table(FT_Face face, const char *tag, FT_ULong max, FT_ULong *len)
{
    FT_ULong tg = FT_MAKE_TAG(tag[0], tag[1], tag[2], tag[3]);
    *len = 0;
    if (FT_Load_Sfnt_Table(face, tg, 0, NULL, len) != 0 || *len == 0 || *len > max)
        return NULL;
    unsigned char *t = malloc(*len);
    if (t && FT_Load_Sfnt_Table(face, tg, 0, t, len) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* A real Unicode subtable in the cmap (platform 0, or Windows 1 / 10). FreeType would
 * otherwise synthesise one from glyph names, which HarfBuzz (our shaper) never uses. */
static bool has_unicode_cmap(FT_Face face)
{
    FT_ULong len;
    unsigned char *t = sfnt_table(face, "cmap", 64u << 20, &len);
    bool ok = false;
    if (t && len >= 4) {
        unsigned n = be16(t + 2);
        for (unsigned i = 0; i < n && 4 + (size_t)(i + 1) * 8 <= len && !ok; i++) {
            unsigned platform = be16(t + 4 + i * 8), encoding = be16(t + 6 + i * 8);
            uint32_t off = be32(t + 8 + i * 8);
            if (off < len && (platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10))))
                ok = true;
        }
    }
    free(t);
    return ok;
}

/* TrueType outlines: the loca offsets must rise and stay inside glyf (FreeType quietly treats
 * out-of-range ones as empty glyphs, which would print blanks). Plain sfnt files only: WOFF2
 * rebuilds both tables itself, and FreeType reports their sizes before that. */
static int check_loca(FT_Face face, char *err, size_t err_len)
{
    FT_ULong hlen, llen, glen = 0;
    unsigned char *head = sfnt_table(face, "head", 1024, &hlen);
    if (!head || hlen < 54 ||
        FT_Load_Sfnt_Table(face, FT_MAKE_TAG('g', 'l', 'y', 'f'), 0, NULL, &glen) != 0) {
        free(head);
        return 0; /* CFF outlines, or FreeType refused already */
    }
    bool long_offsets = be16(head + 50) != 0;
    free(head);
    unsigned char *loca = sfnt_table(face, "loca", 64u << 20, &llen);
    size_t entry = long_offsets ? 4 : 2, n = (size_t)face->num_glyphs + 1;
    int rc = 0;
    if (!loca || llen < n * entry) {
        rc = errmsg_fail(err, err_len, "The font is damaged: its glyph index (loca) is too short");
    } else {
        uint64_t prev = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            uint64_t o = long_offsets ? be32(loca + i * 4) : (uint64_t)be16(loca + i * 2) * 2;
            if (o < prev || o > glen)
                rc = errmsg_fail(err, err_len, "The font is damaged: glyph %zu points outside its outlines",
                                 i);
            prev = o;
        }
    }
    free(loca);
    return rc;
}

static const char *stretch_name(unsigned width_class)
{
    static const char *const names[] = {"ultra-condensed", "extra-condensed", "condensed",
                                        "semi-condensed",  "normal",          "semi-expanded",
                                        "expanded",        "extra-expanded",  "ultra-expanded"};
    return width_class >= 1 && width_class <= 9 ? names[width_class - 1] : "normal";
}

/* Loads glyphs of the first characters of the Unicode map and the last glyph: a font whose
 * outlines are damaged fails here instead of in a render. */
static int check_glyphs(FT_Face face, char *err, size_t err_len)
{
    FT_UInt gid;
    FT_ULong ch = FT_Get_First_Char(face, &gid);
    int checked = 0;
    while (gid && checked < FONTPROBE_GLYPHS_CHECKED) {
        if (FT_Load_Glyph(face, gid, FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING) != 0)
            return errmsg_fail(err, err_len, "The font is damaged: the glyph of U+%04lX cannot be read", ch);
        checked++;
        ch = FT_Get_Next_Char(face, ch, &gid);
    }
    if (checked == 0)
        return errmsg_fail(err, err_len, "The font's Unicode character map is empty");
    if (face->num_glyphs > 1 &&
        FT_Load_Glyph(face, (FT_UInt)(face->num_glyphs - 1), FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING) != 0)
        return errmsg_fail(err, err_len, "The font is damaged: its last glyph cannot be read");
    return 0;
}

static int describe(FT_Face face, bool plain_sfnt, fontprobe_t *out, char *err, size_t err_len)
{
    if (face->num_faces > 1)
        return errmsg_fail(
            err, err_len, "The file is a font collection (%ld fonts); upload each font of it as its own file",
            (long)face->num_faces);
    if (!FT_IS_SFNT(face) || !FT_IS_SCALABLE(face))
        return errmsg_fail(err, err_len, "The font is not a scalable TrueType or OpenType font");
    if (FT_Select_Charmap(face, FT_ENCODING_UNICODE) != 0 || !has_unicode_cmap(face))
        return errmsg_fail(err, err_len,
                           "The font has no Unicode character map (cmap), so no text can be set in it");
    if (!face->family_name || !face->family_name[0])
        return errmsg_fail(err, err_len, "The font has no family name");
    if ((plain_sfnt && check_loca(face, err, err_len) != 0) || check_glyphs(face, err, err_len) != 0)
        return -1;
    snprintf(out->family, sizeof out->family, "%s", face->family_name);
    snprintf(out->style, sizeof out->style, "%s", face->style_name ? face->style_name : "Regular");
    out->italic = (face->style_flags & FT_STYLE_FLAG_ITALIC) != 0;
    out->glyphs = face->num_glyphs;
    const TT_OS2 *os2 = FT_Get_Sfnt_Table(face, FT_SFNT_OS2);
    if (os2 && os2->version != 0xFFFFu && os2->usWeightClass >= 1 && os2->usWeightClass <= 1000) {
        out->weight = os2->usWeightClass;
        out->stretch = stretch_name(os2->usWidthClass);
    } else {
        out->weight = (face->style_flags & FT_STYLE_FLAG_BOLD) ? 700 : 400;
        out->stretch = "normal";
    }
    return 0;
}

int fontprobe(const unsigned char *data, size_t len, size_t max_sfnt_bytes, fontprobe_t *out, char *err,
              size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (!fontprobe_is_font(data, len))
        return errmsg_fail(err, err_len, "The file is not a TrueType, OpenType, WOFF or WOFF2 font");
    if (tag_is(data, "ttcf"))
        return errmsg_fail(err, err_len,
                           "The file is a font collection (.ttc); upload each font of it as its own file");
    if (tag_is(data, "wOFF") || tag_is(data, "wOF2")) {
        bool woff2 = tag_is(data, "wOF2");
        out->media_type = woff2 ? "font/woff2" : "font/woff";
        /* signature, flavor, length, numTables, reserved, totalSfntSize (both formats) */
        if (len < 44)
            return errmsg_fail(err, err_len, "The font is truncated (its WOFF header is cut off)");
        if (be32(data + 8) != len)
            return errmsg_fail(err, err_len,
                               "The font is truncated or damaged: its header says %u bytes, the file has %zu",
                               be32(data + 8), len);
        if (tag_is(data + 4, "ttcf"))
            return errmsg_fail(
                err, err_len, "The file is a font collection (.ttc); upload each font of it as its own file");
        uint32_t total = be32(data + 16);
        if (total > max_sfnt_bytes)
            return errmsg_fail(err, err_len,
                               "The font would decompress to %u bytes, more than the limit of %zu bytes",
                               total, max_sfnt_bytes);
        /* Checked as what renders will use: the sfnt it unpacks to (bounded by the same limit). */
        unsigned char *sfnt;
        size_t sfnt_len;
        if (woff_to_sfnt(data, len, max_sfnt_bytes, &sfnt, &sfnt_len, err, err_len) != 0)
            return -1;
        const char *media_type = out->media_type;
        int rc = fontprobe(sfnt, sfnt_len, max_sfnt_bytes, out, err, err_len);
        out->media_type = media_type;
        free(sfnt);
        return rc;
    } else {
        out->media_type = tag_is(data, "OTTO") ? "font/otf" : "font/ttf";
        if (check_sfnt_tables(data, len, err, err_len) != 0)
            return -1;
    }
    FT_Library lib = NULL;
    FT_Face face = NULL;
    int rc = -1;
    if (FT_Init_FreeType(&lib) != 0) {
        errmsg_fail(err, err_len, "The font could not be checked (FreeType failed to start)");
        goto cleanup;
    }
    FT_Error fe = FT_New_Memory_Face(lib, data, (FT_Long)len, 0, &face);
    if (fe != 0) {
        const char *why = FT_Error_String(fe);
        errmsg_fail(err, err_len, "The font is damaged or of an unknown format: %s",
                    why ? why : "FreeType cannot open it");
        goto cleanup;
    }
    rc = describe(face, is_sfnt(data), out, err, err_len);
cleanup:
    if (face)
        FT_Done_Face(face);
    if (lib)
        FT_Done_FreeType(lib);
    return rc;
}
