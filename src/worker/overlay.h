/*
 * overlay — pdf-overlay templates (issue 20): a base PDF (one of the project's "pdf" assets)
 * with placements drawn over its pages and AcroForm fields filled from the data.
 *
 * A version's layout of this type is {"templateType": "pdf-overlay", "base": "asset:NAME",
 * "fields": [placements], "fill": {"<form field>": "{{…}}" | true | false | null},
 * "flatten": true, "basePdf": {…}}. basePdf is written by the server when the version is saved
 * (overlay_describe_base: page count, the pages' shown size, the form fields and their types),
 * so that compiling a stored version needs neither the database nor the PDF.
 *
 * The placements become an ordinary layout (docs/templates.md) of one page per base page, at
 * the largest width and height of the base's pages (positions count from the top-left, and
 * pdfdoc_merge uses the top-left part of each page's own size) with no margins, each placement
 * a positioned block; the engine draws it
 * to a PDF and overlay_merge stamps that over the base with pdfdoc_merge (pdf/pdfdoc.h), which
 * also fills and flattens the form. The base is never redrawn.
 *
 * Threads: any; an overlay_t is immutable after overlay_compile and may be shared.
 * Memory: overlay_compile returns an overlay_t (overlay_free) and a new engine template the
 * caller owns; overlay_describe_base returns a new JSON reference.
 */
#ifndef CRAFTKIT_WORKER_OVERLAY_H
#define CRAFTKIT_WORKER_OVERLAY_H

#include <craftkit/engine.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OVERLAY_TYPE "pdf-overlay"
#define OVERLAY_MAX_PLACEMENTS 10000 /* placements drawn (an "all" placement counts once per page) */
#define OVERLAY_MAX_FILL 10000       /* entries of "fill" */
#define OVERLAY_SIZE_TOLERANCE 0.5   /* pt: pages whose shown sizes differ by less are one size */

typedef struct overlay overlay_t;

/* true when layout is a pdf-overlay layout (an object with "templateType": "pdf-overlay"). */
bool overlay_is(const json_t *layout);

/* The base ref of an overlay layout: "asset:NAME" → "NAME" (a plain name or id as it is);
 * NULL when "base" is not a non-empty string. Points into layout. */
const char *overlay_layout_base(const json_t *layout);

/* Describes a base PDF for a version (the "basePdf" object): {"pages", "width", "height" (page
 * 1 as shown), "otherSizes": {"<page>": [w, h]} (pages shown at another size: placements on
 * them are checked against it), "fields": {"<name>": "<type>"}}. 0, or -1 with a
 * message completing "The base PDF ...". */
int overlay_describe_base(const unsigned char *pdf, size_t len, json_t **base_pdf, char *err, size_t err_len);

/* What a client builds an overlay from: {"pages": [{page, width, height, rotate}] (sizes as
 * shown), "fields": [{name, type, value?, options?, page, rect}]} (pdf/pdfdoc.h). New reference
 * in *out; 0, or -1 with a message completing "The PDF ...". */
int overlay_base_listing(const unsigned char *pdf, size_t len, json_t **out, char *err, size_t err_len);

/* Compiles an overlay layout (with its basePdf) against a manifest. On success *engine gets the
 * template that draws the placements. On a bad overlay: NULL, *issues as engine_compile's
 * ({formErrors, fieldErrors}, paths under "layout.": "layout.fields.3.page") and err. opts: as
 * engine_compile_ex's (the uploaded font families placements may name; NULL: none). */
overlay_t *overlay_compile(const json_t *layout, const json_t *manifest, const engine_compile_opts_t *opts,
                           engine_template_t **engine, json_t **issues, char *err, size_t err_len);
void overlay_free(overlay_t *o);

/* The render options an overlay cannot honour (PDF/A, Factur-X, attachments): 0, or -1 with a
 * message. */
int overlay_check_opts(const engine_render_opts_t *opts, char *err, size_t err_len);

/* out holds the engine's PDF of the placements (one page per base page); it is replaced by the
 * base with that stamped on and the form filled from data. The base is the asset of
 * opts->assets named by "base" (kind "pdf"). 0, or -1 with a message (out left as it was). */
int overlay_merge(const overlay_t *o, const json_t *data, const engine_render_opts_t *opts,
                  engine_output_t *out, char *err, size_t err_len);

/* Renders an overlay template: the engine draws the placements (t, from overlay_compile) to a
 * PDF, overlay_merge stamps it on the base, and for a PNG pdfraster draws opts->page of the
 * result at opts->dpi (poppler parses the base: in the server only inside a render helper,
 * worker/sandbox.h). out as engine_render fills it (pages: the base's page count). 0, or -1
 * with a message (out empty). */
int overlay_render(engine_ctx_t *ctx, const engine_template_t *t, const overlay_t *o, const json_t *data,
                   const engine_render_opts_t *opts, engine_output_t *out, char *err, size_t err_len);

/* The PDF asset of assets[0..n) named ref, else the one whose id is ref; NULL when none. */
const engine_asset_t *overlay_find_base(const engine_asset_t *assets, size_t n, const char *ref);

/* The whole file at path (an asset in the local cache) as malloc'd bytes, *len its size; NULL
 * when it cannot be read, is empty or has more than max bytes. */
unsigned char *overlay_read_file(const char *path, size_t max, size_t *len);

#endif
