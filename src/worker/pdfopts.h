/*
 * pdfopts — the PDF output options of a render: options.pdfa, options.attachments and
 * options.facturx (docs/einvoice.md). The API checks them with pdfopts_read (400 with issues
 * at their paths) and stores them with the render; the worker and previews read them again
 * into the engine's render options, which is how they reach the engine wherever it runs.
 *
 * Threads: any. Memory: a pdfopts_t owns the decoded attachment bytes (pdfopts_free); its
 * names, media types and XML point into the options object, which must outlive it.
 */
#ifndef CRAFTKIT_WORKER_PDFOPTS_H
#define CRAFTKIT_WORKER_PDFOPTS_H

#include <jansson.h>
#include <stddef.h>

#include "craftkit/engine.h"

#define PDFOPTS_MEDIA_TYPE_MAX 100
#define PDFOPTS_DESCRIPTION_MAX 280

typedef struct pdfopts {
    engine_pdfa_t pdfa; /* DEFAULT when options.pdfa is absent */
    engine_attachment_t att[ENGINE_ATTACHMENTS_MAX];
    unsigned char *bytes[ENGINE_ATTACHMENTS_MAX]; /* decoded contents (owned) */
    size_t natt;
    engine_facturx_t facturx;
} pdfopts_t;

/* Reads options.pdfa/attachments/facturx (options may be NULL) into *out. Every problem is
 * added to issues ({"formErrors":[],"fieldErrors":{}}, paths "options.…") when issues != NULL;
 * returns 0, or -1 with the first problem in err ("options.facturx.xml: …"). *out is always
 * initialised and must be freed with pdfopts_free. */
int pdfopts_read(const json_t *options, pdfopts_t *out, json_t *issues, char *err, size_t err_len);
/* Points the engine's render options at what *p holds (valid while p lives). */
void pdfopts_apply(const pdfopts_t *p, engine_render_opts_t *ro);
void pdfopts_free(pdfopts_t *p);
/* The part of options that changes the PDF (pdfa, attachments, facturx), to be stored with a
 * render and compared for idempotency: copies those members of `from` into `to`. */
void pdfopts_copy(const json_t *from, json_t *to);

#endif
