#include "pdf/pdfraster.h"

#include <cairo.h>
#include <craftkit/engine.h>
#include <math.h>
#include <poppler.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/errmsg.h"

typedef struct {
    buf_t b;
} png_out_t;

/* Set while a call runs: poppler's global state is not for two threads at once, and every
 * process that calls this does so from one thread; a second thread is refused, not risked. */
static atomic_flag busy = ATOMIC_FLAG_INIT;

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int len)
{
    png_out_t *o = closure;
    return buf_append(&o->b, data, len) == BUF_OK ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* The opened document, or NULL with a message. */
static PopplerDocument *open_doc(const unsigned char *pdf, size_t len, GBytes **bytes, char *err,
                                 size_t err_len)
{
    GError *ge = NULL;
    *bytes = g_bytes_new_static(pdf, len);
    PopplerDocument *doc = poppler_document_new_from_bytes(*bytes, NULL, &ge);
    if (!doc)
        errmsg_fail(err, err_len, "the PDF could not be read: %s", ge ? ge->message : "unknown error");
    if (ge)
        g_error_free(ge);
    return doc;
}

/* Draws the page on a white w x h surface at scale and writes the PNG into out. */
static int draw_png(PopplerPage *p, int w, int h, double scale, png_out_t *out, char *err, size_t err_len)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    int rc = 0;
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return errmsg_fail(err, err_len,
                           "the %d x %d px picture needs more memory than the render has; lower the dpi", w,
                           h);
    }
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    poppler_page_render(p, cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    cairo_status_t st = cairo_surface_write_to_png_stream(s, png_write, out);
    if (st != CAIRO_STATUS_SUCCESS)
        rc = errmsg_fail(err, err_len, "writing the PNG failed: %s", cairo_status_to_string(st));
    cairo_surface_destroy(s);
    return rc;
}

static int raster(const unsigned char *pdf, size_t len, int page, double dpi, unsigned char **png,
                  size_t *png_len, int *pages, char *err, size_t err_len)
{
    GBytes *bytes = NULL;
    PopplerPage *p = NULL;
    png_out_t out;
    int rc = -1;
    *png = NULL;
    *pages = 0;
    buf_init(&out.b, PDFRASTER_PNG_MAX);
    page = page > 0 ? page : 1;
    dpi = dpi > 0 ? dpi : 96;
    if (dpi > ENGINE_PNG_DPI_MAX || dpi < ENGINE_PNG_DPI_MIN)
        return errmsg_fail(err, err_len, "dpi must be between %g and %g", ENGINE_PNG_DPI_MIN,
                           ENGINE_PNG_DPI_MAX);
    PopplerDocument *doc = open_doc(pdf, len, &bytes, err, err_len);
    if (!doc)
        goto cleanup;
    *pages = poppler_document_get_n_pages(doc);
    if (page > *pages) {
        errmsg_fail(err, err_len, "page %d does not exist: the document has %d page%s", page, *pages,
                    *pages == 1 ? "" : "s");
        goto cleanup;
    }
    p = poppler_document_get_page(doc, page - 1);
    double pw = 0, ph = 0, scale = dpi / 72.0;
    if (p)
        poppler_page_get_size(p, &pw, &ph);
    if (!p || !(pw > 0) || !(ph > 0)) {
        errmsg_fail(err, err_len, "the PDF could not be read: page %d has no size", page);
        goto cleanup;
    }
    double w = ceil(pw * scale), h = ceil(ph * scale);
    if (w * h > ENGINE_PNG_PIXELS_MAX) {
        errmsg_fail(err, err_len, "the image would be too large; lower the dpi");
        goto cleanup;
    }
    if (draw_png(p, (int)w, (int)h, scale, &out, err, err_len) == 0) {
        *png = (unsigned char *)buf_detach(&out.b, png_len);
        rc = 0;
    }
cleanup:
    buf_free(&out.b);
    if (p)
        g_object_unref(p);
    if (doc)
        g_object_unref(doc);
    if (bytes)
        g_bytes_unref(bytes);
    return rc;
}

int pdfraster_png(const unsigned char *pdf, size_t len, int page, double dpi, unsigned char **png,
                  size_t *png_len, int *pages, char *err, size_t err_len)
{
    if (atomic_flag_test_and_set(&busy)) {
        *png = NULL;
        *pages = 0;
        return errmsg_fail(err, err_len, "internal error: PDF pages are being drawn by another thread");
    }
    int rc = raster(pdf, len, page, dpi, png, png_len, pages, err, err_len);
    atomic_flag_clear(&busy);
    return rc;
}
