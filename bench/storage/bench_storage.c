/*
 * bench_storage — PUT throughput for 50 KB objects through storage_put(), one thread, to the
 * local backend (atomic write: temp file, fsync, rename, fsync dir) and to S3 (the settings
 * come from S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION; run.sh
 * starts the fake S3 for them). Prints, per backend, the median over rounds of PUTs/s and
 * MB/s, and the median and p99 latency of single PUTs.
 *   bench_storage [--objects N (200)] [--rounds R (5)] [--size BYTES (51200)] [--only local|s3]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/crypto.h"
#include "storage/storage.h"
#include "../bench_util.h"

static double percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static int run(const char *name, storage_t *s, int objects, int rounds, size_t size)
{
    char *data = malloc(size), err[512], sha[65], key[256];
    double *rate = calloc((size_t)rounds, sizeof *rate);
    double *lat = calloc((size_t)(objects * rounds), sizeof *lat);
    int rc = -1;
    if (!data || !rate || !lat || crypto_random(data, size) != 0)
        goto cleanup;
    for (int r = 0; r < rounds; r++) {
        double t0 = bench_wall_ms();
        for (int i = 0; i < objects; i++) {
            snprintf(key, sizeof key, "bench/r%d/o%d.pdf", r, i);
            data[0] = (char)i; /* distinct objects */
            double a = bench_wall_ms();
            if (storage_put(s, key, data, size, "application/pdf", sha, err, sizeof err) != 0) {
                fprintf(stderr, "%s: %s\n", name, err);
                goto cleanup;
            }
            lat[r * objects + i] = bench_wall_ms() - a;
        }
        double secs = (bench_wall_ms() - t0) / 1000.0;
        rate[r] = objects / (secs > 0 ? secs : 0.001);
        for (int i = 0; i < objects; i++) { /* keep the data dir / bucket small */
            snprintf(key, sizeof key, "bench/r%d/o%d.pdf", r, i);
            storage_delete(s, key, err, sizeof err);
        }
    }
    double med_rate = percentile(rate, rounds, 0.5);
    printf("%-6s PUT %zu B x %d x %d rounds: median %.0f PUT/s (%.1f MB/s), latency median %.2f ms, "
           "p99 %.2f ms\n",
           name, size, objects, rounds, med_rate, med_rate * (double)size / 1e6,
           percentile(lat, objects * rounds, 0.5), percentile(lat, objects * rounds, 0.99));
    rc = 0;
cleanup:
    free(data);
    free(rate);
    free(lat);
    return rc;
}

int main(int argc, char **argv)
{
    int objects = 200, rounds = 5;
    size_t size = 50 * 1024;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--objects"))
            objects = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size"))
            size = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--only"))
            only = argv[i + 1];
    }
    if (objects < 1 || rounds < 1 || size < 1) {
        fprintf(stderr, "usage: bench_storage [--objects N] [--rounds R] [--size BYTES] [--only local|s3]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 0;
    char err[512];
    if (!only || !strcmp(only, "local")) {
        char dir[] = "/tmp/craftkit-bench-storage.XXXXXX";
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        config_t c = {0};
        c.storage = STORAGE_LOCAL;
        c.data_dir = dir;
        c.public_url = "http://localhost";
        c.signing_secret = "bench-secret-0123456789abcdef";
        storage_t *s = storage_new(&c, err, sizeof err);
        if (!s || run("local", s, objects, rounds, size) != 0)
            rc = 1;
        storage_free(s);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    if (!only || !strcmp(only, "s3")) {
        config_t c = {0};
        c.storage = STORAGE_S3;
        c.s3_endpoint = getenv("S3_ENDPOINT");
        c.s3_bucket = getenv("S3_BUCKET");
        c.s3_access_key_id = getenv("S3_ACCESS_KEY_ID");
        c.s3_secret_access_key = getenv("S3_SECRET_ACCESS_KEY");
        c.s3_region = getenv("S3_REGION");
        c.s3_force_path_style = getenv("S3_FORCE_PATH_STYLE") && strcmp(getenv("S3_FORCE_PATH_STYLE"), "0");
        if (!c.s3_endpoint) {
            fprintf(stderr, "s3: S3_ENDPOINT is not set (bench/storage/run.sh starts the fake S3)\n");
            rc = 1;
        } else {
            storage_t *s = storage_new(&c, err, sizeof err);
            if (!s)
                fprintf(stderr, "s3: %s\n", err);
            if (!s || run("s3", s, objects, rounds, size) != 0)
                rc = 1;
            storage_free(s);
        }
    }
    curl_global_cleanup();
    return rc;
}
