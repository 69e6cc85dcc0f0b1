/*
 * fontprobe — checks an uploaded font file with FreeType and describes it: the format (from the
 * bytes, never from a header), family, style, weight, stretch, italic and glyph count as the
 * font itself declares them. Refused: anything that is not one TrueType/OpenType font (plain,
 * WOFF or WOFF2), collections (.ttc), tables that point past the end of the file, WOFF/WOFF2
 * whose declared decompressed size passes max_sfnt_bytes (checked before FreeType inflates
 * anything), fonts without a Unicode character map, and fonts whose glyphs cannot be read.
 *
 * Threads: any (each call uses its own FT_Library). Memory: nothing is kept.
 */
#ifndef CRAFTKIT_ENGINE_FONTPROBE_H
#define CRAFTKIT_ENGINE_FONTPROBE_H

#include <stdbool.h>
#include <stddef.h>

#define FONTPROBE_NAME_MAX 128

typedef struct fontprobe {
    const char *media_type; /* "font/ttf" | "font/otf" | "font/woff" | "font/woff2" (static) */
    char family[FONTPROBE_NAME_MAX];
    char style[FONTPROBE_NAME_MAX]; /* the font's own style name, e.g. "Bold Italic" */
    int weight;                     /* 1..1000 (OS/2 usWeightClass; 400/700 without one) */
    const char *stretch;            /* "normal", "condensed", … (static) */
    bool italic;
    long glyphs;
} fontprobe_t;

/* True when the bytes start like a font file of any kind (sfnt, OTTO, ttcf, wOFF, wOF2). */
bool fontprobe_is_font(const unsigned char *data, size_t len);
/* 0 with *out filled, or -1 with a sentence for the client in err ("The font ..."). */
int fontprobe(const unsigned char *data, size_t len, size_t max_sfnt_bytes, fontprobe_t *out, char *err,
              size_t err_len);

#endif
