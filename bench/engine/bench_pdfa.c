/*
 * bench_pdfa — the cost of the PDF/A step alone (engine/pdfa: the incremental update with XMP,
 * OutputIntent, Factur-X XML), in thread CPU time, so that a loaded machine does not hide it in
 * the noise of a whole render. Renders the data once as a plain PDF, then runs pdfa_finish on a
 * fresh copy of those bytes ITERATIONS times.
 *
 * usage: bench_pdfa LAYOUT MANIFEST DATA.json FACTURX.xml ITERATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "craftkit/engine.h"
#include "engine/pdfa.h"
#include "../bench_util.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_pdfa LAYOUT MANIFEST DATA.json FACTURX.xml ITERATIONS\n");
        return 2;
    }
    json_error_t e;
    json_t *layout = json_load_file(argv[1], 0, &e), *manifest = json_load_file(argv[2], 0, &e),
           *data = json_load_file(argv[3], 0, &e);
    int iters = atoi(argv[5]);
    FILE *f = fopen(argv[4], "rb");
    char *xml = calloc(1, ENGINE_FACTURX_XML_MAX + 1);
    size_t xml_len = f ? fread(xml, 1, ENGINE_FACTURX_XML_MAX, f) : 0;
    if (f)
        fclose(f);
    if (!layout || !manifest || !data || !xml_len || iters < 1) {
        fprintf(stderr, "bad arguments\n");
        return 1;
    }
    engine_global_init();
    char err[512];
    engine_template_t *t = engine_compile(layout, NULL, manifest, NULL, err, sizeof err);
    engine_ctx_t *ctx = engine_ctx_new(NULL);
    engine_render_opts_t ro = {.creation_time = 1700000000};
    engine_output_t out;
    if (!t || !ctx || engine_render(ctx, t, data, &ro, &out, err, sizeof err) < 0) {
        fprintf(stderr, "render: %s\n", err);
        return 1;
    }
    ro.facturx = (engine_facturx_t){.profile = ENGINE_FX_EN16931, .xml = xml, .len = xml_len};
    pdfa_info_t info = {.title = "Invoice", .author = "Acme", .creator = "craftkit", .created = 1700000000};
    double *ms = calloc((size_t)iters, sizeof *ms);
    size_t grown = 0;
    for (int i = 0; i < iters; i++) {
        buf_t b;
        buf_init(&b, 512u << 20);
        if (buf_append(&b, out.data, out.len) != BUF_OK) {
            fprintf(stderr, "pdfa: the document is over the buffer's cap\n");
            return 1;
        }
        double t0 = bench_thread_cpu_ms();
        if (pdfa_finish(&b, ENGINE_PDFA_3B, &info, &ro, err, sizeof err) < 0) {
            fprintf(stderr, "pdfa: %s\n", err);
            return 1;
        }
        ms[i] = bench_thread_cpu_ms() - t0;
        grown = b.len - out.len;
        buf_free(&b);
    }
    qsort(ms, (size_t)iters, sizeof *ms, bench_cmp_double);
    printf("pdf_bytes=%zu pages=%d update_bytes=%zu pdfa_cpu_median_ms=%.3f p90_ms=%.3f\n", out.len,
           out.pages, grown, ms[iters / 2], ms[iters * 9 / 10]);
    free(ms);
    free(xml);
    engine_output_free(&out);
    engine_ctx_free(ctx);
    engine_template_free(t);
    json_decref(layout);
    json_decref(manifest);
    json_decref(data);
    engine_global_cleanup();
    return 0;
}
