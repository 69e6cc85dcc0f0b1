/*
 * pdfa — turns the PDF cairo wrote into PDF/A-2b or PDF/A-3b, with embedded files (PDF/A-3
 * associated files) and the Factur-X / ZUGFeRD XMP, in the same render.
 *
 * How: cairo's bytes stay as they are and one incremental update is appended (PDF 32000-1
 * §7.5.6; PDF/A allows it): a new catalog (the old one's entries plus /Metadata,
 * /OutputIntents, /AF and /Names /EmbeddedFiles), a new Info dictionary whose entries match
 * the XMP, the XMP stream, the sRGB OutputIntent with its ICC profile (embedded in the binary
 * at build time), the embedded files, the annotations cairo wrote again with the Print flag
 * (/F 4), and a trailer with a document /ID. Image dictionaries' "/Interpolate true" (which
 * PDF/A forbids) is blanked in place with spaces, so no offset moves. Appending costs a few
 * kilobytes and microseconds however long the document is; a rewrite would copy every byte.
 * The rules it enforces, each tested, are listed in docs/einvoice.md.
 *
 * A plain PDF with a document language gets the same kind of update, with only the catalog
 * (cairo 1.16 cannot write /Lang).
 *
 * Threads: any thread; the compressed ICC profile is made once per process (pthread_once).
 * Memory: pdfa_finish appends to the caller's buffer; nothing else is kept.
 */
#ifndef CRAFTKIT_ENGINE_PDFA_H
#define CRAFTKIT_ENGINE_PDFA_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "craftkit/engine.h"

/* The document information that the Info dictionary and the XMP both carry (UTF-8; NULL or
 * "" = absent). */
typedef struct pdfa_info {
    const char *title, *author, *subject, *keywords, *creator;
    const char *lang; /* the document language (BCP 47): the catalog's /Lang, in plain PDFs too */
    int64_t created;  /* unix seconds: CreationDate = ModDate */
} pdfa_info_t;

/* Appends the update to pdf (cairo's complete file). level: ENGINE_PDFA_2B or 3B, or NONE for
 * a plain PDF that only gets its embedded files. Returns 0, or -1 with err (the PDF is then
 * unusable). */
int pdfa_finish(buf_t *pdf, engine_pdfa_t level, const pdfa_info_t *info, const engine_render_opts_t *opts,
                char *err, size_t err_len);

#endif
