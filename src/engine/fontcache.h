/*
 * fontcache — a render context's uploaded font sets: for a list of font files (the project's
 * fonts a layout names), a fonts_t of its own (fonts_new_uploaded: private FcConfig and pango
 * font map) and the text_t that lays text out with it. Setting one up costs a few ms (reading
 * fontconfig's rules and caches, scanning the files), so sets are kept and reused, the least
 * recently used dropped first when the files of all sets pass max_bytes (one set larger than
 * that is still built, alone). A set is found again by its files' paths and families, which
 * the server makes content addresses (the asset cache names files by sha256).
 *
 * Threads: one thread (the engine_ctx_t's). Memory: the cache owns every set; a text_t from
 * fontcache_get stays valid until the next fontcache_get or fontcache_free.
 */
#ifndef CRAFTKIT_ENGINE_FONTCACHE_H
#define CRAFTKIT_ENGINE_FONTCACHE_H

#include <stddef.h>

#include "engine/fonts.h"
#include "engine/text.h"

#define FONTCACHE_SETS_MAX 32               /* font sets kept at most, whatever their size */
#define FONTCACHE_DEFAULT_BYTES (64u << 20) /* CRAFTKIT_FONT_CACHE_BYTES default */
#define FONTCACHE_SET_OVERHEAD (512u << 10) /* counted per set besides its files (config, map) */

typedef struct fontcache fontcache_t;

/* max_bytes 0 = FONTCACHE_DEFAULT_BYTES. NULL when out of memory. */
fontcache_t *fontcache_new(size_t max_bytes);
void fontcache_free(fontcache_t *c);
/* The text_t for exactly these files (1..FONTS_UPLOADS_MAX), built on first use. NULL with err
 * when a file cannot be read as a font. */
text_t *fontcache_get(fontcache_t *c, const fonts_file_t *files, size_t n, char *err, size_t err_len);
/* For tests and benchmarks: sets held, bytes counted, sets built since fontcache_new. */
void fontcache_stats(const fontcache_t *c, size_t *sets, size_t *bytes, size_t *built);

#endif
