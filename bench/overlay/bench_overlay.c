/*
 * bench_overlay — warm, in-process, single-thread renders of a pdf-overlay template (issue 20).
 *
 * usage: bench_overlay PAGES FIELDS ITERATIONS
 * Writes a base PDF of PAGES A4 pages with cairo (40 lines of text on each, a font subset
 * embedded, like a real form), compiles an overlay of FIELDS text fields spread over its pages
 * round-robin (each bound to the data, so every render draws different text), and renders it
 * ITERATIONS times after three warm-up renders, as a render helper does: engine_render draws
 * the fields, overlay_merge reads the base and merges (pdfdoc_merge). Prints the median (and
 * p90) of the whole render and of its parts, each timed in the same iteration, in CPU time of
 * the thread (on a shared machine wall time mostly measures the wait for a core):
 *   draw   engine_render of the fields;
 *   merge  overlay_merge (base read from its file + qpdf parse, fill/flatten, stamp, write);
 *   read   overlay_read_file of the base alone;
 *   base   pdfdoc_merge of the base alone (parse + write, nothing stamped): the floor for a
 *          merge that parses and writes the whole base every time.
 * The heap is set up as a render helper's is (worker/sandbox.c: no trimming, no mmap per large
 * buffer), since that is where server renders run; BENCH_PLAIN_HEAP=1 keeps glibc's defaults.
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "craftkit/engine.h"
#include "pdf/pdfdoc.h"
#include "worker/overlay.h"
#include "../bench_util.h"

enum { P_TOTAL, P_DRAW, P_MERGE, P_READ, P_BASE, P_N };
static const char *const part_names[P_N] = {"render", "draw", "merge", "read", "base"};

static void make_base(const char *path, int pages)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 595.28, 841.89);
    cairo_t *cr = cairo_create(s);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    char line[128];
    for (int p = 0; p < pages; p++) {
        for (int l = 0; l < 40; l++) {
            snprintf(line, sizeof line, "Form page %d, line %d: applicant name ........ date ........", p + 1,
                     l);
            cairo_move_to(cr, 56, 72 + l * 16);
            cairo_show_text(cr, line);
        }
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}

/* The overlay layout: fields text fields, field i on page i % pages + 1. */
static json_t *make_layout(const unsigned char *pdf, size_t len, int pages, int fields)
{
    json_t *base_pdf = NULL, *list = json_array();
    char err[512];
    if (overlay_describe_base(pdf, len, &base_pdf, err, sizeof err) != 0) {
        fprintf(stderr, "describe: %s\n", err);
        exit(1);
    }
    for (int i = 0; i < fields; i++)
        json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:i, s:i, s:s}", "type", "text", "page",
                                              i % pages + 1, "x", 300, "y", 60 + (i / pages) * 40, "width",
                                              250, "text", "{{name}} #{{n}}"));
    return json_pack("{s:s, s:s, s:o, s:o}", "templateType", OVERLAY_TYPE, "base", "asset:base", "fields",
                     list, "basePdf", base_pdf);
}

static int run(engine_ctx_t *ctx, engine_template_t *t, overlay_t *ov, const engine_asset_t *asset,
               const unsigned char *pdf, size_t len, int iters, double *v[P_N])
{
    char err[1024];
    for (int i = -3; i < iters; i++) {
        json_t *data = json_pack("{s:s, s:i}", "name", i % 2 ? "Ada Lovelace" : "Charles Babbage", "n", i);
        engine_render_opts_t ro = {.creation_time = 1700000000, .assets = asset, .nassets = 1};
        engine_output_t out = {0};
        double t0 = bench_thread_cpu_ms() * 1e3;
        int rc = engine_render(ctx, t, data, &ro, &out, err, sizeof err);
        double t1 = bench_thread_cpu_ms() * 1e3;
        if (rc == 0)
            rc = overlay_merge(ov, data, &ro, &out, err, sizeof err);
        double t2 = bench_thread_cpu_ms() * 1e3;
        json_decref(data);
        engine_output_free(&out);
        if (rc != 0) {
            fprintf(stderr, "render: %s\n", err);
            return 1;
        }
        size_t n = 0, merged_len = 0;
        unsigned char *bytes = overlay_read_file(asset->path, PDFDOC_MAX_STREAM_BYTES, &n), *merged = NULL;
        double t3 = bench_thread_cpu_ms() * 1e3;
        rc = pdfdoc_merge(pdf, len, NULL, false, NULL, 0, &merged, &merged_len, err, sizeof err);
        double t4 = bench_thread_cpu_ms() * 1e3;
        free(bytes);
        free(merged);
        if (rc != 0 || n != len) {
            fprintf(stderr, "base: %s\n", rc ? err : "read back a different size");
            return 1;
        }
        if (i >= 0) {
            v[P_TOTAL][i] = t2 - t0, v[P_DRAW][i] = t1 - t0, v[P_MERGE][i] = t2 - t1;
            v[P_READ][i] = t3 - t2, v[P_BASE][i] = t4 - t3;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[1]) < 1 || atoi(argv[2]) < 1 || atoi(argv[3]) < 1) {
        fprintf(stderr, "usage: bench_overlay PAGES FIELDS ITERATIONS\n");
        return 2;
    }
    int pages = atoi(argv[1]), fields = atoi(argv[2]), iters = atoi(argv[3]);
    const char *plain = getenv("BENCH_PLAIN_HEAP");
    if (!plain || strcmp(plain, "1")) { /* the values of sandbox_helper_main */
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
    }
    char path[] = "/tmp/bench_overlay_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    make_base(path, pages);
    size_t len = 0;
    unsigned char *pdf = overlay_read_file(path, PDFDOC_MAX_STREAM_BYTES, &len);
    engine_global_init();
    json_t *layout = make_layout(pdf, len, pages, fields), *issues = NULL;
    json_t *manifest = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "variables", "key", "name", "dataType",
                                 "text", "key", "n", "dataType", "number");
    char err[1024];
    engine_template_t *t = NULL;
    overlay_t *ov = overlay_compile(layout, manifest, NULL, &t, &issues, err, sizeof err);
    if (!ov) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }
    engine_ctx_t *ctx = engine_ctx_new(NULL);
    engine_asset_t asset = {.name = "base",
                            .id = "00000000-0000-0000-0000-00000000000b",
                            .kind = "pdf",
                            .sha256 = "bench",
                            .path = path};
    double *v[P_N];
    for (int p = 0; p < P_N; p++)
        v[p] = calloc((size_t)iters, sizeof *v[p]);
    int rc = run(ctx, t, ov, &asset, pdf, len, iters, v);
    if (rc == 0) {
        printf("overlay pages=%d fields=%d base_bytes=%zu heap=%s iterations=%d", pages, fields, len,
               plain && !strcmp(plain, "1") ? "plain" : "helper", iters);
        for (int p = 0; p < P_N; p++) {
            qsort(v[p], (size_t)iters, sizeof *v[p], bench_cmp_double);
            printf(" %s_median_ms=%.2f %s_p90_ms=%.2f", part_names[p], v[p][iters / 2] / 1000, part_names[p],
                   v[p][iters * 9 / 10] / 1000);
        }
        printf("\n");
    }
    for (int p = 0; p < P_N; p++)
        free(v[p]);
    engine_ctx_free(ctx);
    engine_template_free(t);
    overlay_free(ov);
    json_decref(layout);
    json_decref(manifest);
    json_decref(issues);
    free(pdf);
    unlink(path);
    return rc;
}
