/*
 * tu — what every Check test binary shares (unit, integration, golden): running a suite, and
 * bytes a test makes with cairo or reads from a file, and fonts to upload under a family
 * name of the test's choosing.
 *
 * Threads: the main thread (tu_bytes_*: the test's). Memory: tu_run frees the runner (and with
 * it the suite); a tu_bytes_t owns its data (malloc'd, free(data)).
 */
#ifndef CRAFTKIT_TESTS_TU_H
#define CRAFTKIT_TESTS_TU_H

#include <cairo.h>
#include <check.h>
#include <stddef.h>

/* Runs every test of s (CK_NORMAL output) and returns EXIT_SUCCESS or EXIT_FAILURE, for main. */
int tu_run(Suite *s);
/* The bytes of the font file at path with its family names (name IDs 1 and 16, Windows and
 * Mac records) replaced by family, which must not be longer than the names it replaces; the
 * outlines and the PostScript name (what pdffonts shows) stay the font's own. So an installed
 * font can be uploaded as a family nothing else has ("Brand"). malloc'd; aborts on failure. */
unsigned char *tu_font_renamed(const char *path, const char *family, size_t *len);

typedef struct tu_bytes {
    unsigned char *data;
    size_t len;
} tu_bytes_t;

/* A cairo_write_func_t that appends to the tu_bytes_t closure (start from {0}): for
 * cairo_surface_write_to_png_stream and cairo_pdf_surface_create_for_stream. */
cairo_status_t tu_bytes_append(void *closure, const unsigned char *data, unsigned int len);
/* The bytes of the file at path; fails the test when it cannot be read. */
tu_bytes_t tu_bytes_load(const char *path);
/* A PNG's bytes as a cairo image surface (check its status; cairo_surface_destroy). */
cairo_surface_t *tu_png_decode(const unsigned char *png, size_t len);
/* The grey level (0..255, the mean of the channels) of pixel x, y of an image surface. */
int tu_grey_at(cairo_surface_t *s, int x, int y);

#endif
