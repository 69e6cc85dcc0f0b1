/*
 * bench_engine — warm, in-process, single-thread render timings of the standard benchmark
 * invoice (bench/engine/run.sh generates the data with make_invoice.py and calls this).
 *
 * usage: bench_engine LAYOUT MANIFEST ITERATIONS DATA1.json [DATA2.json ...]
 * Renders the data files round-robin (each a different variant, so nothing can be cached
 * between iterations) after two warm-up renders, and prints the median, p10/p90, pages, bytes
 * and peak RSS. Time per render is measured around engine_render only.
 * BENCH_COMPRESSION=none|fast|standard picks the PDF compression (default fast); BENCH_PDFA=2b|3b
 * and BENCH_FACTURX=CII.xml add PDF/A and an embedded Factur-X invoice (docs/einvoice.md).
 * BENCH_SANDBOX=1 measures what a render helper process (worker/sandbox.h) adds per render
 * instead: each iteration renders the same data in-process and then through a helper (this
 * binary re-executed, as the server does), and the medians of both and of their difference are
 * printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/config.h"
#include "core/timeutil.h"
#include "craftkit/engine.h"
#include "worker/sandbox.h"

#include <time.h>
#include "../bench_util.h"

/* BENCH_SANDBOX=1: in-process vs. helper, alternating so that both see the same load. */
/* CPU time in µs: this thread's, and a whole process's from /proc/PID/schedstat (nanoseconds on
 * the CPU), so that what a render costs can be told from the wait for a free core. */
static double process_cpu_us(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return (double)ns / 1e3;
}

static void report(const char *what, double *v, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    printf(" %s_mean_us=%.0f", what, sum / n);
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    printf(" %s_median_us=%.0f %s_p10_us=%.0f %s_p90_us=%.0f", what, v[n / 2], what, v[n / 10], what,
           v[n * 9 / 10]);
}

/* BENCH_SANDBOX=1: in-process vs. helper, alternating so that both see the same load. Wall time,
 * and CPU time (the caller's thread plus the helper process) for the work the helper adds. */
static int bench_sandbox(engine_ctx_t *ctx, engine_template_t *t, json_t *layout, json_t *manifest,
                         json_t **data, int ndata, int iters)
{
    config_t cfg = {.render_memory_mb = 512,
                    .render_memory_total_mb = 2048,
                    .image_timeout_ms = 10000,
                    .image_max_bytes = 5u << 20};
    sandbox_configure(&cfg);
    sandbox_t *sb = sandbox_new();
    int helper_pid = sandbox_pid(sb);
    sandbox_template_t tpl = {
        .version_id = "00000000-0000-0000-0000-000000000001", .layout = layout, .manifest = manifest};
    double *in = calloc((size_t)iters, sizeof *in), *diff = calloc((size_t)iters, sizeof *diff),
           *cpu_in = calloc((size_t)iters, sizeof *cpu_in),
           *cpu_diff = calloc((size_t)iters, sizeof *cpu_diff);
    char err[512];
    int rc = 0;
    for (int i = -3; i < iters && rc == 0; i++) {
        const json_t *d = data[(i + 3) % ndata];
        engine_render_opts_t ro = {.creation_time = 1700000000, .deadline_ms = time_mono_ms() + 60000};
        engine_output_t o1 = {0}, o2 = {0};
        double t0 = bench_wall_ms(), c0 = bench_thread_cpu_ms() * 1e3;
        if (engine_render(ctx, t, d, &ro, &o1, err, sizeof err) < 0)
            rc = fprintf(stderr, "render: %s\n", err);
        double t1 = bench_wall_ms(), c1 = bench_thread_cpu_ms() * 1e3, h1 = process_cpu_us(helper_pid);
        if (!rc && sandbox_render(sb, &tpl, d, &ro, 60000, &o2, err, sizeof err) != SANDBOX_OK)
            rc = fprintf(stderr, "helper: %s\n", err);
        double t2 = bench_wall_ms(), c2 = bench_thread_cpu_ms() * 1e3, h2 = process_cpu_us(helper_pid);
        if (!rc && (o1.len != o2.len || memcmp(o1.data, o2.data, o1.len)))
            rc = fprintf(stderr, "the helper's PDF differs from the in-process one\n");
        engine_output_free(&o1);
        engine_output_free(&o2);
        if (i >= 0) {
            in[i] = (t1 - t0) * 1000;
            diff[i] = (t2 - t1) * 1000 - in[i];
            cpu_in[i] = c1 - c0;
            cpu_diff[i] = (c2 - c1) + (h2 - h1) - cpu_in[i];
        }
    }
    if (rc == 0) {
        printf("sandbox items=%zu iterations=%d", json_array_size(json_object_get(data[0], "items")), iters);
        report("in_process_wall", in, iters);
        report("overhead_wall", diff, iters);
        report("in_process_cpu", cpu_in, iters);
        report("overhead_cpu", cpu_diff, iters);
        printf("\n");
    }
    sandbox_free(sb);
    free(in);
    free(diff);
    free(cpu_in);
    free(cpu_diff);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "render-helper"))
        return sandbox_helper_main(argc - 1, argv + 1);
    if (argc < 5) {
        fprintf(stderr, "usage: bench_engine LAYOUT MANIFEST ITERATIONS DATA.json...\n");
        return 2;
    }
    int iters = atoi(argv[3]);
    int ndata = argc - 4;
    json_error_t e;
    json_t *layout = json_load_file(argv[1], 0, &e), *manifest = json_load_file(argv[2], 0, &e);
    json_t **data = calloc((size_t)ndata, sizeof *data);
    for (int i = 0; i < ndata; i++)
        if (!(data[i] = json_load_file(argv[4 + i], 0, &e))) {
            fprintf(stderr, "%s: %s\n", argv[4 + i], e.text);
            return 1;
        }
    if (!layout || !manifest || iters < 1) {
        fprintf(stderr, "bad arguments\n");
        return 1;
    }
    engine_global_init();
    char err[512];
    json_t *issues = NULL;
    engine_template_t *t = engine_compile(layout, NULL, manifest, &issues, err, sizeof err);
    if (!t) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }
    engine_ctx_t *ctx = engine_ctx_new(NULL);
    if (getenv("BENCH_SANDBOX") && !strcmp(getenv("BENCH_SANDBOX"), "1")) {
        int rc = bench_sandbox(ctx, t, layout, manifest, data, ndata, iters);
        engine_ctx_free(ctx);
        engine_template_free(t);
        return rc;
    }
    engine_render_opts_t ro = {.creation_time = 1700000000};
    const char *comp = getenv("BENCH_COMPRESSION");
    if (comp && !strcmp(comp, "none"))
        ro.compression = ENGINE_COMPRESS_NONE;
    else if (comp && !strcmp(comp, "standard"))
        ro.compression = ENGINE_COMPRESS_STANDARD;
    /* BENCH_PDFA=2b|3b makes PDF/A; BENCH_FACTURX=FILE embeds that CII XML as Factur-X EN 16931. */
    const char *pdfa = getenv("BENCH_PDFA"), *fx = getenv("BENCH_FACTURX");
    if (pdfa && engine_pdfa_parse(pdfa) > 0)
        ro.pdfa = (engine_pdfa_t)engine_pdfa_parse(pdfa);
    char *fx_xml = NULL;
    if (fx && *fx) {
        FILE *f = fopen(fx, "rb");
        fx_xml = f ? calloc(1, ENGINE_FACTURX_XML_MAX + 1) : NULL;
        size_t n = fx_xml ? fread(fx_xml, 1, ENGINE_FACTURX_XML_MAX, f) : 0;
        if (f)
            fclose(f);
        if (!fx_xml || engine_facturx_check(fx_xml, n, err, sizeof err) < 0) {
            fprintf(stderr, "BENCH_FACTURX %s: %s\n", fx, fx_xml ? err : "cannot be read");
            return 1;
        }
        ro.facturx = (engine_facturx_t){.profile = ENGINE_FX_EN16931, .xml = fx_xml, .len = n};
    }
    double *ms = calloc((size_t)iters, sizeof *ms);
    size_t bytes = 0;
    int pages = 0;
    for (int i = -2; i < iters; i++) {
        engine_output_t out;
        double t0 = bench_wall_ms();
        if (engine_render(ctx, t, data[(i + 2) % ndata], &ro, &out, err, sizeof err) < 0) {
            fprintf(stderr, "render: %s\n", err);
            return 1;
        }
        double dt = bench_wall_ms() - t0;
        if (i >= 0)
            ms[i] = dt;
        bytes = out.len;
        pages = out.pages;
        engine_output_free(&out);
    }
    qsort(ms, (size_t)iters, sizeof *ms, bench_cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t items = json_array_size(json_object_get(data[0], "items"));
    double med = ms[iters / 2];
    printf("pdfa=%s facturx=%s ", pdfa ? pdfa : "none", fx_xml ? "yes" : "no");
    free(fx_xml);
    printf("compression=%s items=%zu pages=%d bytes=%zu iterations=%d median_ms=%.3f p10_ms=%.3f p90_ms=%.3f "
           "min_ms=%.3f "
           "us_per_row=%.2f peak_rss_mb=%.1f\n",
           comp ? comp : "fast", items, pages, bytes, iters, med, ms[iters / 10], ms[iters * 9 / 10], ms[0],
           items ? med * 1000 / (double)items : 0, ru.ru_maxrss / 1024.0);
    free(ms);
    engine_ctx_free(ctx);
    engine_template_free(t);
    for (int i = 0; i < ndata; i++)
        json_decref(data[i]);
    free(data);
    json_decref(layout);
    json_decref(manifest);
    engine_global_cleanup();
    return 0;
}
