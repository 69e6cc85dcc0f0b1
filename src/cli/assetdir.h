/*
 * assetdir — the brand assets of an offline render (craftkit render --assets DIR), so that it
 * matches the server: every font file in DIR (TrueType, OpenType, WOFF, WOFF2; sniffed from the
 * bytes, checked like an upload) is an uploaded font of the family it reports, and every other
 * file an image named by its file name (asset:NAME). WOFF/WOFF2 files are unpacked into a
 * private temporary directory, removed by assetdir_free.
 *
 * Threads: the main thread. Memory: assetdir_t owns everything it holds; assetdir_free.
 */
#ifndef CRAFTKIT_CLI_ASSETDIR_H
#define CRAFTKIT_CLI_ASSETDIR_H

#include <craftkit/engine.h>
#include <stddef.h>

#define ASSETDIR_FILES_MAX 1000             /* files read from DIR */
#define ASSETDIR_FONT_MAX_BYTES (64u << 20) /* one font file, and what a WOFF may unpack to */

typedef struct assetdir {
    engine_asset_t *assets; /* for engine_render_opts_t.assets; NULL when DIR holds no font */
    size_t n;
    const char **families; /* the fonts' families, for engine_compile_opts_t */
    size_t nfamilies;
    char tmp[256]; /* the unpacked WOFF files' directory, or "" */
} assetdir_t;

/* Reads dir. 0, or -1 with err naming the file that is not a usable font. */
int assetdir_load(const char *dir, assetdir_t *out, char *err, size_t err_len);
void assetdir_free(assetdir_t *d);

#endif
