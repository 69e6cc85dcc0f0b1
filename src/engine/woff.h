/*
 * woff — unpacks a WOFF or WOFF2 web font into the TrueType/OpenType (sfnt) file it holds, so
 * that fontconfig, HarfBuzz and cairo (which read plain font files only) can use an uploaded
 * web font. FreeType does the decoding (zlib for WOFF, brotli and the glyf/loca reconstruction
 * for WOFF2); this module writes its tables back out as an sfnt with a fresh directory and
 * checksums. Decompression bombs are bounded twice: the header's declared size is checked before
 * anything is inflated, and the tables FreeType rebuilt must together stay within max_bytes
 * (FreeType itself stops WOFF2 at 30 MB).
 *
 * Threads: any (each call has its own FT_Library). Memory: *out is malloc'd; the caller frees.
 */
#ifndef CRAFTKIT_ENGINE_WOFF_H
#define CRAFTKIT_ENGINE_WOFF_H

#include <stdbool.h>
#include <stddef.h>

#define WOFF_TABLES_MAX 256 /* tables in one font (real fonts have 10-30) */

/* True when the bytes start with the WOFF ("wOFF") or WOFF2 ("wOF2") signature. */
bool woff_is_woff(const unsigned char *data, size_t len);
/* 0 with the sfnt bytes in *out / *out_len, or -1 with a sentence for the client in err
 * ("The font would decompress to ..."). */
int woff_to_sfnt(const unsigned char *data, size_t len, size_t max_bytes, unsigned char **out,
                 size_t *out_len, char *err, size_t err_len);

#endif
