/*
 * pdffix — PDF files for tests from independent producers: cairo, Ghostscript (pdfwrite) and
 * PDFs written here object by object (with real AcroForm fields), plus hostile ones (bombs).
 *
 * Threads: the test's. Memory: every pdffix_t owns data (malloc'd); pdffix_free releases it.
 */
#ifndef CRAFTKIT_TESTS_PDFFIX_H
#define CRAFTKIT_TESTS_PDFFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "tu.h"

/* A PDF's bytes: a tu_bytes_t, so that tu_bytes_append can write a cairo PDF into one. */
typedef tu_bytes_t pdffix_t;

/* A hand-written PDF, object by object: pdffix_obj/pdffix_stream add object 1, 2, ... in order. */
typedef struct pdffix_builder {
    unsigned char *data;
    size_t len, cap;
    size_t offsets[4096];
    int n;
} pdffix_builder_t;

void pdffix_begin(pdffix_builder_t *b);
/* The next object; body is printf-style, without "N 0 obj"/"endobj". Returns its number. */
int pdffix_obj(pdffix_builder_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The next object, a stream: dict_extra goes inside << >> next to /Length. */
int pdffix_stream(pdffix_builder_t *b, const char *dict_extra, const void *data, size_t len);
/* Writes the xref and trailer (/Root root 0 R) and hands over the bytes. */
pdffix_t pdffix_end(pdffix_builder_t *b, int root);

/* cairo: pages pages of w×h pt, "Page N" in 24 pt Helvetica-ish at (72, 100) from the top-left. */
pdffix_t pdffix_cairo(int pages, double w, double h);
/* The same with page i (0-based) of size sizes[i][0] x sizes[i][1] pt (mixed sizes, as scanned
 * bundles and forms with a landscape annex have). */
pdffix_t pdffix_cairo_sizes(int pages, const double (*sizes)[2]);
/* Hand-written, two pages: page 1 Letter with a /CropBox [36 36 576 756] and AcroForm fields
 * "name" (text), "agree" (checkbox, on state /Yes), "color" (combo Red/Green/Blue), "size"
 * (radio S/L); page 2 A4 with /Rotate 90. */
pdffix_t pdffix_form(void);
/* Ghostscript's pdfwrite: pages A4 pages with "GS page N" at (72, 72) from the top-left; len 0
 * when gs is not installed. */
pdffix_t pdffix_gs(int pages);
/* Runs "qpdf ARGS in out" (e.g. "--encrypt u o 256 --") on pdf; len 0 on failure. */
pdffix_t pdffix_qpdf(const pdffix_t *pdf, const char *args);

/* Hostile files: a page whose content stream inflates to mib MiB; an object nested depth
 * arrays deep; a page tree claiming count pages (real pages: real). */
pdffix_t pdffix_bomb_stream(int mib);
pdffix_t pdffix_bomb_nesting(int depth);
pdffix_t pdffix_bomb_pages(long count, int real);

/* stdout of the shell command cmd (pdftotext, qpdf --json ...), malloc'd; "" when it printed
 * nothing. */
char *pdffix_run(const char *cmd);
/* pdffix_run of "before FILE after" (e.g. "pdffonts", file, "| awk ..."). */
char *pdffix_tool(const char *file, const char *before, const char *after);

bool pdffix_save(const pdffix_t *pdf, const char *path);
pdffix_t pdffix_load(const char *path);
void pdffix_free(pdffix_t *pdf);

#endif
