/*
 * bench_fonts — what an uploaded font costs a render (issue 18, "Speed and memory"): the standard
 * benchmark invoice set in one family, once as an installed family and once as a project's
 * upload, in one long-lived process on one thread (bench/fonts/run.sh calls this).
 *
 * usage: bench_fonts LAYOUT MANIFEST FAMILY FONT_FILES ITERATIONS COLD_ROUNDS DATA1.json [...]
 *   FAMILY      an installed family ("Roboto"): the layout's defaultStyle.font for the installed run
 *   FONT_FILES  comma-separated files of that family (regular, bold, ...), uploaded as "Brand"
 *
 * The uploaded run goes the way of a server render: the files are copied into a directory as
 * <sha256> (what worker/assetcache writes), passed as engine_asset_t fonts of family "Brand" to
 * engine_render, and the layout (defaultStyle.font "Brand") is compiled with the family known as
 * uploaded; the engine builds the set's fontconfig/pango state once and keeps it (fontcache).
 *
 * Prints three lines:
 *   warm  — installed and uploaded renders alternating (data variants round-robin), after
 *           warm-ups: the median of each and their ratio;
 *   cold_set — COLD_ROUNDS times, a project's font set this context has not seen (the same files
 *           copied to a new directory, so the cache key is new): the first render with it, the
 *           next render with it, and the median of the difference (the cold start's extra);
 *   cold_ctx — COLD_ROUNDS times, a new engine context (what a new render helper has): its first
 *           render with the installed family and, in another new context, with the upload;
 * with the process's RSS before and after the cold sets (the cache keeps them all while they fit
 * in its default bound, so the difference is what that many kept sets cost).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "craftkit/engine.h"
#include "../bench_util.h"

#define FILES_MAX 16
#define FONT_FILE_MAX (20u << 20)

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

static double rss_mb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* The upload: the font files' bytes and their sha256. */
typedef struct {
    unsigned char *data[FILES_MAX];
    size_t len[FILES_MAX];
    char sha[FILES_MAX][CRYPTO_SHA256_HEX_LEN + 1];
    char path[FILES_MAX][1024];
    engine_asset_t assets[FILES_MAX];
    size_t n;
} upload_t;

static int upload_read(upload_t *u, char *list)
{
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (u->n == FILES_MAX)
            return fprintf(stderr, "more than %d font files\n", FILES_MAX), -1;
        FILE *f = fopen(p, "rb");
        unsigned char *buf = f ? malloc(FONT_FILE_MAX) : NULL;
        size_t len = buf ? fread(buf, 1, FONT_FILE_MAX, f) : 0;
        if (f)
            fclose(f);
        if (!buf || len == 0)
            return fprintf(stderr, "%s: cannot be read\n", p), free(buf), -1;
        u->data[u->n] = buf;
        u->len[u->n] = len;
        crypto_sha256_hex(buf, len, u->sha[u->n]);
        u->n++;
    }
    return u->n ? 0 : -1;
}

/* Writes the files into dir as <sha256> and points the assets at them. */
static int upload_place(upload_t *u, const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fprintf(stderr, "%s: %s\n", dir, strerror(errno)), -1;
    for (size_t i = 0; i < u->n; i++) {
        snprintf(u->path[i], sizeof u->path[i], "%s/%s", dir, u->sha[i]);
        FILE *f = fopen(u->path[i], "wb");
        if (!f || fwrite(u->data[i], 1, u->len[i], f) != u->len[i] || fclose(f) != 0)
            return fprintf(stderr, "%s: cannot be written\n", u->path[i]), -1;
        u->assets[i] = (engine_asset_t){.name = u->sha[i],
                                        .id = u->sha[i],
                                        .kind = "font",
                                        .sha256 = u->sha[i],
                                        .path = u->path[i],
                                        .family = "Brand"};
    }
    return 0;
}

static void upload_remove(upload_t *u, const char *dir)
{
    for (size_t i = 0; i < u->n; i++)
        unlink(u->path[i]);
    rmdir(dir);
}

typedef struct {
    engine_template_t *installed, *uploaded;
    json_t **data;
    int ndata;
    upload_t *up;
} bench_t;

/* One render; its wall time in ms, or -1 (and its CPU time in *cpu when cpu is not NULL). */
static double render_ms(engine_ctx_t *ctx, const bench_t *b, bool uploaded, int i, double *cpu)
{
    engine_render_opts_t ro = {.creation_time = 1700000000};
    if (uploaded) {
        ro.assets = b->up->assets;
        ro.nassets = b->up->n;
    }
    engine_output_t out;
    char err[512];
    double t0 = bench_wall_ms(), c0 = bench_thread_cpu_ms();
    if (engine_render(ctx, uploaded ? b->uploaded : b->installed, b->data[i % b->ndata], &ro, &out, err,
                      sizeof err) < 0)
        return fprintf(stderr, "render: %s\n", err), -1;
    double dt = bench_wall_ms() - t0;
    if (cpu)
        *cpu = bench_thread_cpu_ms() - c0;
    engine_output_free(&out);
    return dt;
}

static int bench_warm(engine_ctx_t *ctx, const bench_t *b, int iters)
{
    double *in = calloc((size_t)iters, sizeof *in), *up = calloc((size_t)iters, sizeof *up);
    int rc = 0;
    for (int i = -4; i < iters && rc == 0; i++) {
        /* Alternate which goes first, so that neither always runs on caches the other warmed. */
        bool up_first = i & 1;
        double a = render_ms(ctx, b, up_first, i + 4, NULL), c = render_ms(ctx, b, !up_first, i + 4, NULL);
        if (a < 0 || c < 0)
            rc = -1;
        else if (i >= 0) {
            in[i] = up_first ? c : a;
            up[i] = up_first ? a : c;
        }
    }
    if (rc == 0) {
        double mi = median(in, iters), mu = median(up, iters);
        printf("warm iterations=%d installed_median_ms=%.3f uploaded_median_ms=%.3f ratio=%.3f\n", iters, mi,
               mu, mu / mi);
    }
    free(in);
    free(up);
    return rc;
}

static int bench_cold_set(engine_ctx_t *ctx, const bench_t *b, const char *tmp, int rounds)
{
    double *first = calloc((size_t)rounds, sizeof *first), *next = calloc((size_t)rounds, sizeof *next),
           *extra = calloc((size_t)rounds, sizeof *extra),
           *extra_cpu = calloc((size_t)rounds, sizeof *extra_cpu);
    int rc = 0;
    double rss0 = rss_mb();
    for (int r = 0; r < rounds && rc == 0; r++) {
        char dir[900];
        snprintf(dir, sizeof dir, "%s/cold-set-%d", tmp, r);
        if (upload_place(b->up, dir) < 0)
            rc = -1;
        double fc = 0, nc = 0;
        double f = rc ? -1 : render_ms(ctx, b, true, r, &fc), n = rc ? -1 : render_ms(ctx, b, true, r, &nc);
        if (f < 0 || n < 0)
            rc = -1;
        first[r] = f;
        next[r] = n;
        extra[r] = f - n;
        extra_cpu[r] = fc - nc;
        upload_remove(b->up, dir);
    }
    if (rc == 0) {
        double me = median(extra, rounds);
        printf(
            "cold_set rounds=%d first_render_median_ms=%.3f next_render_median_ms=%.3f extra_median_ms=%.3f "
            "extra_max_ms=%.3f extra_cpu_median_ms=%.3f rss_before_mb=%.1f rss_after_mb=%.1f\n",
            rounds, median(first, rounds), median(next, rounds), me, extra[rounds - 1],
            median(extra_cpu, rounds), rss0, rss_mb());
    }
    free(extra_cpu);
    free(first);
    free(next);
    free(extra);
    return rc;
}

static int bench_cold_ctx(const bench_t *b, const char *tmp, int rounds)
{
    double *in = calloc((size_t)rounds, sizeof *in), *up = calloc((size_t)rounds, sizeof *up),
           *extra = calloc((size_t)rounds, sizeof *extra),
           *extra_cpu = calloc((size_t)rounds, sizeof *extra_cpu);
    int rc = 0;
    for (int r = 0; r < rounds && rc == 0; r++) {
        char dir[900];
        snprintf(dir, sizeof dir, "%s/cold-ctx-%d", tmp, r);
        if (upload_place(b->up, dir) < 0)
            rc = -1;
        engine_ctx_t *c1 = engine_ctx_new(NULL), *c2 = engine_ctx_new(NULL);
        double ic = 0, uc = 0;
        double i1 = rc ? -1 : render_ms(c1, b, false, r, &ic), u1 = rc ? -1 : render_ms(c2, b, true, r, &uc);
        engine_ctx_free(c1);
        engine_ctx_free(c2);
        upload_remove(b->up, dir);
        if (i1 < 0 || u1 < 0)
            rc = -1;
        in[r] = i1;
        up[r] = u1;
        extra[r] = u1 - i1;
        extra_cpu[r] = uc - ic;
    }
    if (rc == 0)
        printf("cold_ctx rounds=%d installed_first_median_ms=%.3f uploaded_first_median_ms=%.3f "
               "extra_median_ms=%.3f extra_cpu_median_ms=%.3f\n",
               rounds, median(in, rounds), median(up, rounds), median(extra, rounds),
               median(extra_cpu, rounds));
    free(extra_cpu);
    free(in);
    free(up);
    free(extra);
    return rc;
}

/* A copy of the layout whose defaultStyle.font is family. */
static engine_template_t *compile_with(const json_t *layout, const json_t *manifest, const char *family,
                                       bool uploaded)
{
    json_t *l = json_deep_copy(layout);
    json_t *style = json_object_get(l, "defaultStyle");
    json_object_set_new(style, "font", json_string(family));
    const char *fams[] = {family};
    engine_compile_opts_t co = {.families = fams, .nfamilies = 1};
    json_t *issues = NULL;
    char err[512];
    engine_template_t *t =
        engine_compile_ex(l, NULL, manifest, uploaded ? &co : NULL, &issues, err, sizeof err);
    if (!t)
        fprintf(stderr, "compile (%s): %s\n", family, err);
    json_decref(issues);
    json_decref(l);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr,
                "usage: bench_fonts LAYOUT MANIFEST FAMILY FONT_FILES ITERATIONS COLD_ROUNDS DATA.json...\n");
        return 2;
    }
    int iters = atoi(argv[5]), rounds = atoi(argv[6]), ndata = argc - 7;
    json_error_t e;
    json_t *layout = json_load_file(argv[1], 0, &e), *manifest = json_load_file(argv[2], 0, &e);
    static upload_t up;
    bench_t b = {.data = calloc((size_t)ndata, sizeof *b.data), .ndata = ndata, .up = &up};
    for (int i = 0; i < ndata; i++)
        if (!(b.data[i] = json_load_file(argv[7 + i], 0, &e)))
            return fprintf(stderr, "%s: %s\n", argv[7 + i], e.text), 1;
    if (!layout || !manifest || iters < 1 || rounds < 1 || upload_read(&up, argv[4]) < 0)
        return fprintf(stderr, "bad arguments\n"), 1;
    char tmp[] = "/tmp/bench-fonts.XXXXXX", dir[900];
    if (!mkdtemp(tmp))
        return perror("mkdtemp"), 1;
    snprintf(dir, sizeof dir, "%s/warm", tmp);
    engine_global_init();
    b.installed = compile_with(layout, manifest, argv[3], false);
    b.uploaded = compile_with(layout, manifest, "Brand", true);
    engine_ctx_t *ctx = engine_ctx_new(NULL);
    int rc = !b.installed || !b.uploaded || !ctx || upload_place(&up, dir) < 0;
    if (!rc) {
        printf("family=%s files=%zu\n", argv[3], up.n);
        rc = bench_warm(ctx, &b, iters) < 0 || bench_cold_set(ctx, &b, tmp, rounds) < 0;
    }
    upload_remove(&up, dir);
    if (!rc) {
        rc = bench_cold_ctx(&b, tmp, rounds) < 0;
    }
    rmdir(tmp);
    engine_ctx_free(ctx);
    engine_template_free(b.installed);
    engine_template_free(b.uploaded);
    for (int i = 0; i < ndata; i++)
        json_decref(b.data[i]);
    for (size_t i = 0; i < up.n; i++)
        free(up.data[i]);
    free(b.data);
    json_decref(layout);
    json_decref(manifest);
    engine_global_cleanup();
    return rc;
}
