/*
 * pdfraster — draws one page of a PDF to a PNG with poppler-glib: the PNG previews of
 * pdf-overlay templates, whose pages are a client's base PDF with the overlay stamped on.
 *
 * Poppler parses the whole (untrusted) PDF, so in the server this runs only inside a render
 * helper process (worker/sandbox.h), under its deadline and memory budget; the offline CLI
 * calls it for the user's own files. The sizes follow the engine's PNG output: the page as it
 * is shown (crop box turned by /Rotate) at dpi / 72 pixels per point, rounded up, on white,
 * dpi in ENGINE_PNG_DPI_MIN..ENGINE_PNG_DPI_MAX and at most ENGINE_PNG_PIXELS_MAX pixels.
 *
 * Threads: any, but poppler's global state is set up on first use, so a process calls this
 * from one thread at a time (each render helper serves its requests on its one main thread);
 * a call while another runs fails at once with an internal error rather than racing.
 * Memory: *png is malloc'd (the caller frees it).
 */
#ifndef CRAFTKIT_PDF_PDFRASTER_H
#define CRAFTKIT_PDF_PDFRASTER_H

#include <stddef.h>

#define PDFRASTER_PNG_MAX ((size_t)512 << 20) /* bytes of one PNG */

/* Page `page` (1-based; 0 = 1) of the PDF as a PNG at dpi (0 = 96). *pages gets the
 * document's page count (also on the "does not exist" failure). 0, or -1 with a message:
 * "page 4 does not exist: the document has 3 pages", "the PDF could not be read: …". */
int pdfraster_png(const unsigned char *pdf, size_t len, int page, double dpi, unsigned char **png,
                  size_t *png_len, int *pages, char *err, size_t err_len);

#endif
