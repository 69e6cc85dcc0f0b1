/*
 * pdfz — lets a render choose how cairo compresses the PDF it writes.
 *
 * cairo compresses every PDF stream (page content, font programs, ToUnicode maps) with zlib's
 * default level and offers no setting for it. On a one-page document that compression is
 * about half of the whole render: the embedded font programs are most of the bytes, compress
 * by only ~30 %, and compress slowly. So the engine lets a render pick a policy
 * (engine_render_opts_t.compression):
 *   PDFZ_FAST      content streams at zlib level 1, font programs stored (zlib level 0);
 *   PDFZ_STANDARD  everything at zlib level 6 (what cairo does on its own);
 *   PDFZ_NONE      everything stored.
 * Stored streams are still valid /FlateDecode streams, so the PDF is the same either way.
 *
 * How: this file defines zlib's deflateInit_ and deflate, which the executable exports and
 * the dynamic linker therefore binds cairo's calls to. deflateInit_ is zlib's own (deflateInit2_
 * with the default window, memory level and strategy) with the level replaced; deflate looks
 * at the first bytes of a stream (a TrueType/OpenType or CFF header means a font program),
 * adjusts the level with deflateParams before anything is compressed, and calls zlib's
 * deflate. Both only act while pdfz_level_set() is in effect ON THE CALLING THREAD: other
 * threads and every other zlib user in the process see plain zlib. Should the override not be
 * in effect (a statically linked zlib, say), renders keep cairo's default compression;
 * pdfz_streams() tells, and the unit tests check it.
 *
 * The same hook repairs CFF font programs (engine/cfffix: cairo 1.16 empties subroutines that
 * some glyphs call): while a policy is in effect, a stream that starts with a CFF header is
 * collected whole instead of compressed, repaired at Z_FINISH and only then compressed. cairo
 * counts the bytes deflate writes, not the ones it reads, so the PDF's lengths and offsets
 * stay right.
 *
 * Threads: the policy is thread-local. Memory: a collected font program is held until its
 * stream ends or pdfz_level_clear.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/cfffix.h"
#include "engine/pdfz.h"

static _Thread_local int pdfz_policy = -1; /* -1: leave zlib's callers alone */
static _Thread_local int pdfz_calls;       /* streams opened under a policy */

/* The CFF font program being collected (one stream at a time: cairo writes fonts in turn). */
static _Thread_local struct {
    z_streamp strm; /* NULL: none */
    unsigned char *buf, *fixed;
    size_t n, cap;
    bool finishing;
} cff;
static _Thread_local bool pdfz_oom;

static int (*zlib_deflate)(z_streamp, int);
static pthread_once_t zlib_once = PTHREAD_ONCE_INIT;

static void find_zlib_deflate(void)
{
    zlib_deflate = (int (*)(z_streamp, int))dlsym(RTLD_NEXT, "deflate");
}

static int content_level(void)
{
    return pdfz_policy == PDFZ_STANDARD ? 6 : pdfz_policy == PDFZ_FAST ? 1 : 0;
}

int deflateInit_(z_streamp strm, int level, const char *version, int stream_size);
int deflate(z_streamp strm, int flush);

int deflateInit_(z_streamp strm, int level, const char *version, int stream_size)
{
    if (pdfz_policy >= 0) {
        level = content_level();
        pdfz_calls++;
    }
    return deflateInit2_(strm, level, Z_DEFLATED, MAX_WBITS, 8, Z_DEFAULT_STRATEGY, version, stream_size);
}

/* TrueType ("\0\1\0\0", "true"), OpenType ("OTTO") or a bare CFF table (1.0, header size 4). */
static bool is_font_program(const unsigned char *p, size_t n)
{
    if (n < 4)
        return false;
    return !memcmp(p, "\x00\x01\x00\x00", 4) || !memcmp(p, "OTTO", 4) || !memcmp(p, "true", 4) ||
           (p[0] == 1 && p[1] == 0 && p[2] == 4 && p[3] >= 1 && p[3] <= 4);
}

static bool is_cff(const unsigned char *p, size_t n)
{
    return n >= 4 && p[0] == 1 && p[1] == 0 && p[2] == 4 && p[3] >= 1 && p[3] <= 4;
}

static void cff_reset(void)
{
    free(cff.buf);
    free(cff.fixed);
    memset(&cff, 0, sizeof cff);
}

/* Takes the caller's input into the collected font program. */
static void cff_collect(z_streamp strm)
{
    size_t need = cff.n + strm->avail_in;
    if (need > cff.cap) {
        size_t cap = cff.cap ? cff.cap : 65536;
        while (cap < need)
            cap *= 2;
        unsigned char *b = realloc(cff.buf, cap);
        if (!b) {
            pdfz_oom = true; /* the render fails; the stream just loses this input */
        } else {
            cff.buf = b;
            cff.cap = cap;
        }
    }
    if (need <= cff.cap) {
        memcpy(cff.buf + cff.n, strm->next_in, strm->avail_in);
        cff.n = need;
    }
    strm->next_in += strm->avail_in;
    strm->total_in += strm->avail_in;
    strm->avail_in = 0;
}

int deflate(z_streamp strm, int flush)
{
    pthread_once(&zlib_once, find_zlib_deflate);
    if (!zlib_deflate)
        return Z_STREAM_ERROR;
    if (pdfz_policy >= 0 && !cff.strm && strm->total_in == 0 && is_cff(strm->next_in, strm->avail_in))
        cff.strm = strm;
    if (pdfz_policy == PDFZ_FAST && strm->total_in == 0 && is_font_program(strm->next_in, strm->avail_in))
        deflateParams(strm, 0, Z_DEFAULT_STRATEGY); /* nothing compressed yet: just a new level */
    if (pdfz_policy < 0 || cff.strm != strm)
        return zlib_deflate(strm, flush);
    if (!cff.finishing) {
        cff_collect(strm);
        if (flush != Z_FINISH)
            return Z_OK;
        size_t len = 0;
        int rc = cfffix_repair(cff.buf, cff.n, &cff.fixed, &len);
        if (rc < 0)
            pdfz_oom = true;
        cff.finishing = true;
        strm->next_in = rc > 0 ? cff.fixed : cff.buf;
        strm->avail_in = (uInt)(rc > 0 ? len : cff.n);
    }
    int ret = zlib_deflate(strm, flush);
    if (ret == Z_STREAM_END || ret < 0)
        cff_reset(); /* zlib no longer reads the input */
    return ret;
}

void pdfz_level_set(pdfz_policy_t policy)
{
    pdfz_policy = (int)policy;
    pdfz_calls = 0;
    pdfz_oom = false;
}

void pdfz_level_clear(void)
{
    pdfz_policy = -1;
    cff_reset();
}

bool pdfz_failed(void)
{
    return pdfz_oom;
}

int pdfz_streams(void)
{
    return pdfz_calls;
}
