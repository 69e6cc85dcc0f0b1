/*
 * pdfz — lets a render choose how hard cairo compresses the PDF it writes.
 *
 * cairo compresses every PDF stream (page content, font subsets, ToUnicode maps) with zlib's
 * default level and offers no setting for it. On a one-page document that compression is
 * about half of the whole render time (font subsets are large and compress poorly), so the
 * engine lets the caller pick a level (engine_render_opts_t.compression).
 *
 * How: this file defines zlib's deflateInit_, which the executable exports and which the
 * dynamic linker therefore binds cairo's calls to. It behaves exactly like zlib's own
 * (deflateInit_ is deflateInit2_ with the default window, memory level and strategy) except
 * that, while pdfz_level_set() is active ON THE CALLING THREAD, the level is replaced. Other
 * threads and every other zlib user in the process are unaffected. If the override is not
 * in effect (a statically linked zlib, say), renders simply keep cairo's default level;
 * pdfz_streams() tells which case applies, and the unit tests check it.
 *
 * Threads: the level is thread-local. Memory: none.
 */
#include <zlib.h>

#include "engine/pdfz.h"

static _Thread_local int pdfz_level = -1; /* -1: leave the caller's level alone */
static _Thread_local int pdfz_calls;       /* streams opened while a level was set */

int deflateInit_(z_streamp strm, int level, const char *version, int stream_size);

int deflateInit_(z_streamp strm, int level, const char *version, int stream_size)
{
    if (pdfz_level >= 0) {
        level = pdfz_level;
        pdfz_calls++;
    }
    return deflateInit2_(strm, level, Z_DEFLATED, MAX_WBITS, 8, Z_DEFAULT_STRATEGY, version, stream_size);
}

void pdfz_level_set(int level)
{
    pdfz_level = level;
    pdfz_calls = 0;
}

void pdfz_level_clear(void)
{
    pdfz_level = -1;
}

int pdfz_streams(void)
{
    return pdfz_calls;
}
