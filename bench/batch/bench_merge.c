/* bench_merge N RUNS: writes N one-page PDFs with cairo into a temp dir (each with its own
 * embedded font subset, as renders have), then, RUNS times each, merges them into one PDF
 * (pdfdoc_merge_files, one outline entry per part) and one ZIP (zipw, entries read from the
 * files one at a time, as worker/batchmerge does) in a child process, and prints the median
 * wall time, the median CPU time (user + system: what the merge costs when the machine is shared)
 * and the largest peak RSS of those children. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pdf/pdfdoc.h"
#include "storage/zipw.h"
#include "../bench_util.h"

static void make_part(const char *path, int i)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 595.28, 841.89);
    cairo_t *cr = cairo_create(s);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    char line[128];
    for (int l = 0; l < 40; l++) {
        snprintf(line, sizeof line, "Invoice %d, line %d: Analytical engine x 2 ... 49.90 EUR", i, l);
        cairo_move_to(cr, 56, 72 + l * 16);
        cairo_show_text(cr, line);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}

static int merge_pdf(const char *dir, int n)
{
    pdfdoc_part_t *parts = calloc((size_t)n, sizeof *parts);
    for (int i = 0; i < n; i++) {
        char *p = malloc(512), *t = malloc(64);
        snprintf(p, 512, "%s/%d.pdf", dir, i);
        snprintf(t, 64, "Item %d: invoice.pdf", i);
        parts[i] = (pdfdoc_part_t){p, t};
    }
    char out[512], err[1024];
    snprintf(out, sizeof out, "%s/merged.pdf", dir);
    int pages = 0;
    if (pdfdoc_merge_files(parts, (size_t)n, NULL, NULL, out, &pages, err, sizeof err) != 0) {
        fprintf(stderr, "merge: %s\n", err);
        return 1;
    }
    return pages == n ? 0 : 1;
}

static int merge_zip(const char *dir, int n)
{
    char out[512], err[512], path[512];
    snprintf(out, sizeof out, "%s/merged.zip", dir);
    int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
    zipw_t *z = zipw_open(fd, 0, err, sizeof err);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%d.pdf", dir, i);
        int src = open(path, O_RDONLY);
        if (src < 0 || zipw_add_fd(z, "invoice.pdf", src, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "zip: %s\n", err);
            return 1;
        }
        close(src);
    }
    int rc = zipw_finish(z, NULL, err, sizeof err);
    zipw_free(z);
    close(fd);
    return rc ? 1 : 0;
}

/* Runs the merge in a child; its wall time, its CPU time (s) and its peak RSS in KiB. */
static double run_child(int (*fn)(const char *, int), const char *dir, int n, double *cpu, long *rss_kib)
{
    double t0 = bench_wall_s();
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn(dir, n));
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double t = bench_wall_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "merge failed\n");
        exit(1);
    }
    *rss_kib = ru.ru_maxrss;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
    return t;
}

static void bench(const char *what, int (*fn)(const char *, int), const char *dir, int n, int runs)
{
    double t[16], cpu[16];
    long rss = 0, r;
    for (int i = 0; i < runs; i++) {
        t[i] = run_child(fn, dir, n, &cpu[i], &r);
        rss = r > rss ? r : rss;
    }
    qsort(t, (size_t)runs, sizeof t[0], bench_cmp_double);
    qsort(cpu, (size_t)runs, sizeof cpu[0], bench_cmp_double);
    char out[512];
    snprintf(out, sizeof out, "%s/merged.%s", dir, what);
    FILE *f = fopen(out, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    printf("%-3s %d parts: median %.2f s (%.0f parts/s), CPU %.2f s, peak RSS %.1f MiB, output %.1f MiB\n",
           what, n, t[runs / 2], n / t[runs / 2], cpu[runs / 2], rss / 1024.0, size / 1048576.0);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000, runs = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 1 || runs < 1 || runs > 15)
        return 2;
    char dir[] = "/tmp/bench-merge-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[512];
    long total = 0;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%d.pdf", dir, i);
        make_part(path, i);
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        total += ftell(f);
        fclose(f);
    }
    printf("%d one-page parts, %.1f KiB each on average\n", n, total / 1024.0 / n);
    bench("pdf", merge_pdf, dir, n, runs);
    bench("zip", merge_zip, dir, n, runs);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
