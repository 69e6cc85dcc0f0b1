/*
 * bench_validate — how fast manifest_validate() checks the standard benchmark invoice.
 *
 * Usage: bench_validate [MANIFEST.json] [--dump N]
 *   MANIFEST defaults to tests/data/manifest/invoice.json (a copy of the benchmark manifest).
 *   --dump N prints the generated data for N items and exits (to compare with
 *   /work/shared/bench/make_invoice.py N).
 *
 * The invoice data is generated in-process by a port of make_invoice.py (same generator, same
 * rows), 16 variants per size so that consecutive validations see different quantities.
 * For 10 and 1,000 items it prints the median over 15 rounds of: validate and build the
 * normalised copy (what the API does), validate only (normalised = NULL), and parse the JSON
 * text + validate (a request body's full cost in the manifest layer).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manifest/manifest.h"
#include "../bench_util.h"

#define VARIANTS 16
#define ROUNDS 15

/* ---- the benchmark invoice (port of make_invoice.py) ---- */

static const char *const ADJ[] = {"Blue",   "Red",   "Steel",  "Brass",   "Oak",
                                  "Carbon", "Matte", "Glossy", "Compact", "Heavy-duty"};
static const char *const NOUN[] = {"widget", "bracket",   "hinge", "valve",   "sensor",
                                   "cable",  "connector", "panel", "bearing", "gasket"};
static const char *const SUFFIX[] = {
    "(pack of 10)", "with mounting kit", "type A", "type B", "replacement part", "spare", "", "refurbished"};

typedef struct {
    uint32_t state;
} rng_t;

/* mulberry32, as in make_invoice.py */
static double rng_next(rng_t *r)
{
    r->state += 0x6D2B79F5u;
    uint32_t t = r->state;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return (double)(t ^ (t >> 14)) / 4294967296.0;
}

static int pick(rng_t *r, int n)
{
    return (int)(rng_next(r) * n);
}

static double round2(double x)
{
    return nearbyint(x * 100.0) / 100.0;
}

static json_t *make_invoice(int n, int variant)
{
    rng_t r = {(uint32_t)(12345 + n)};
    json_t *items = json_array();
    long long sub = 0;
    for (int i = 0; i < n; i++) {
        char name[160];
        const char *adj = ADJ[pick(&r, 10)], *noun = NOUN[pick(&r, 10)];
        int num = 1000 + pick(&r, 9000);
        char letter = (char)('A' + pick(&r, 26));
        const char *suffix = SUFFIX[pick(&r, 8)];
        snprintf(name, sizeof name, "%s %s %d-%c %s", adj, noun, num, letter, suffix);
        size_t len = strlen(name);
        while (len > 0 && name[len - 1] == ' ')
            name[--len] = '\0';
        int qty = 1 + pick(&r, 20);
        int unit = 99 + pick(&r, 49900);
        if (variant)
            qty = 1 + ((qty + variant) % 20);
        sub += (long long)qty * unit;
        json_array_append_new(items, json_pack("{s:i,s:s,s:i,s:f,s:f}", "pos", i + 1, "name", name, "qty",
                                               qty, "unitPrice", round2(unit / 100.0), "total",
                                               round2((double)qty * unit / 100.0)));
    }
    double vat = nearbyint((double)sub * 0.2);
    char number[64];
    if (variant)
        snprintf(number, sizeof number, "INV-2024-%05d-%d", n, variant);
    else
        snprintf(number, sizeof number, "INV-2024-%05d", n);
    return json_pack(
        "{s:{s:s,s:s,s:s},s:{s:s,s:s},s:{s:s,s:s},s:o,s:f,s:i,s:f,s:f,s:s}", "invoice", "number", number,
        "date", "2024-03-15", "dueDate", "2024-04-14", "company", "name", "Acme Industrial Supplies GmbH",
        "address", "Hauptstraße 42\n10115 Berlin\nGermany\nVAT ID: DE123456789\nbilling@acme.example",
        "customer", "name", "Globex Corporation", "address",
        "Attn: Accounts Payable\n742 Evergreen Terrace\nSpringfield, OR 97477\nUSA", "items", items,
        "subtotal", round2((double)sub / 100.0), "vatRate", 20, "vat", round2(vat / 100.0), "total",
        round2(((double)sub + vat) / 100.0), "notes", "Payment within 30 days. Thank you for your business.");
}

/* ---- timing ---- */

typedef enum { MODE_NORMALISE, MODE_CHECK, MODE_PARSE } mode_t_;

/* Median seconds per validation over ROUNDS rounds of iters each. */
static double measure(const manifest_t *m, json_t *const *data, char *const *text, int iters, mode_t_ mode)
{
    double rounds[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = bench_wall_s();
        for (int i = 0; i < iters; i++) {
            int v = i % VARIANTS;
            json_t *d = data[v], *norm = NULL;
            if (mode == MODE_PARSE)
                d = json_loads(text[v], JSON_REJECT_DUPLICATES, NULL);
            if (manifest_validate(m, d, 0, mode == MODE_CHECK ? NULL : &norm, NULL) != 0) {
                fprintf(stderr, "bench data did not validate\n");
                exit(1);
            }
            json_decref(norm);
            if (mode == MODE_PARSE)
                json_decref(d);
        }
        rounds[r] = (bench_wall_s() - t0) / iters;
    }
    qsort(rounds, ROUNDS, sizeof *rounds, bench_cmp_double);
    return rounds[ROUNDS / 2];
}

static void run(const manifest_t *m, int items, int iters)
{
    json_t *data[VARIANTS];
    char *text[VARIANTS];
    for (int v = 0; v < VARIANTS; v++) {
        data[v] = make_invoice(items, v);
        text[v] = json_dumps(data[v], JSON_COMPACT);
    }
    measure(m, data, text, iters / 4, MODE_NORMALISE); /* warm up */
    const char *names[] = {"validate+normalise", "validate only", "parse+validate+normalise"};
    for (int mode = 0; mode < 3; mode++) {
        double s = measure(m, data, text, iters, (mode_t_)mode);
        printf("%5d items  %-26s median %9.2f us   %10.0f validations/s\n", items, names[mode], s * 1e6,
               1.0 / s);
    }
    for (int v = 0; v < VARIANTS; v++) {
        json_decref(data[v]);
        free(text[v]);
    }
}

int main(int argc, char **argv)
{
    const char *path = CRAFTKIT_SOURCE_DIR "/tests/data/manifest/invoice.json";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            json_t *d = make_invoice(atoi(argv[i + 1]), argc > i + 2 ? atoi(argv[i + 2]) : 0);
            json_dumpf(d, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15));
            json_decref(d);
            return 0;
        }
        path = argv[i];
    }
    json_error_t err;
    json_t *mj = json_load_file(path, 0, &err);
    if (!mj) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        return 1;
    }
    manifest_status_t st;
    manifest_t *m = manifest_compile(mj, &st, NULL);
    json_decref(mj);
    if (!m) {
        fprintf(stderr, "%s: the manifest does not compile\n", path);
        return 1;
    }
    printf("manifest_validate on the benchmark invoice (median of %d rounds, one core)\n", ROUNDS);
    run(m, 10, 20000);
    run(m, 1000, 200);
    manifest_free(m);
    return 0;
}
