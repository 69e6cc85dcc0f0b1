/*
 * engine — craftkit's document engine: compiles a JSON layout (the template language of
 * docs/templates.md) once, then renders it with data to PDF or PNG with cairo + pango.
 *
 * Usage:
 *   engine_global_init();                                   once, in main, before threads
 *   t = engine_compile(layout, page_config, manifest, &issues, err, sizeof err);
 *   ctx = engine_ctx_new(&opts);                            one per worker thread
 *   engine_render(ctx, t, data, &ropts, &out, err, sizeof err);  many times
 *   engine_output_free(&out); engine_ctx_free(ctx); engine_template_free(t);
 *
 * Threads: engine_global_init/cleanup on the main thread with no renders running. A compiled
 * engine_template_t is immutable and may be shared by any number of threads. An engine_ctx_t
 * belongs to ONE thread (it holds that thread's fonts, shaping buffers and image loader) and
 * must be created, used and freed on that thread.
 * Memory: engine_compile returns a template freed with engine_template_free, and a new
 * reference in *issues (caller decrefs). engine_default_layout returns a new reference.
 * engine_render fills out->data (malloc'd; engine_output_free releases it).
 */
#ifndef CRAFTKIT_ENGINE_H
#define CRAFTKIT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Once in main before threads: fontconfig init with rescans off, warm-up of the font caches.
 * Returns 0, or -1 when fontconfig cannot be initialised. Note: pango starts a helper thread
 * when its first font map is created, so after this call the process may fork() only to
 * exec(): a child that keeps running could inherit a lock held by that thread. */
int engine_global_init(void);
/* At exit in tests and sanitizer builds (releases cairo/fontconfig static data). */
void engine_global_cleanup(void);

typedef struct engine_template engine_template_t;

/* Compiles a layout (NULL → engine_default_layout(manifest)), an optional pageConfig object
 * ({format, orientation, margin, width, height, printBackground}; overrides the layout's page)
 * and an optional manifest ({variables, loops}; NULL = no binding checks, no automatic formats).
 * On a bad layout returns NULL and sets *issues (when issues != NULL) to
 *   {"formErrors":[...],"fieldErrors":{"layout.body.2.text":["Unknown variable \"customer.nmae\""]}}
 * with every problem at once (paths start with "layout." or "pageConfig."), and err to a
 * one-line summary. On success *issues is set to NULL. */
engine_template_t *engine_compile(const json_t *layout, const json_t *page_config, const json_t *manifest,
                                  json_t **issues, char *err, size_t err_len);
/* What engine_compile_ex knows of the fonts a render will bring. */
typedef struct {
    /* Font families the project uploaded (engine_asset_t.family): a layout may name them even
     * when no installed family has the name. */
    const char *const *families;
    size_t nfamilies;
    /* Fonts are not checked at all: the layout was checked when it was saved (server renders of
     * stored versions and previews that the API already compiled). */
    bool skip_font_check;
} engine_compile_opts_t;

/* engine_compile with opts (NULL = engine_compile). A family that is neither uploaded nor
 * installed is an issue at its path ("layout.body.0.font"). */
engine_template_t *engine_compile_ex(const json_t *layout, const json_t *page_config, const json_t *manifest,
                                     const engine_compile_opts_t *opts, json_t **issues, char *err,
                                     size_t err_len);
void engine_template_free(engine_template_t *t);
/* Adds to names (a JSON object used as a set) the name of every {"type": "partial", "name": ...}
 * block anywhere in v (a layout, a partial), looking at most ENGINE_PARTIAL_WALK_MAX levels
 * deep: the server looks these up in the project's library of partials. */
#define ENGINE_PARTIAL_WALK_MAX 256
void engine_partial_names(const json_t *v, json_t *names);
/* The font families a layout names ("font": "Brand, sans-serif"), each list once with the path
 * of its first use: [{"family": "Brand, sans-serif", "path": "layout.body.0.font"}] (borrowed;
 * lives with t). The server pins the uploaded files of these families when a version is saved. */
const json_t *engine_template_font_refs(const engine_template_t *t);
/* Whether one family of the list "A, B" is name (case-insensitive). */
bool engine_family_list_has(const char *list, const char *name);
/* The brand assets a layout names literally ("src": "asset:logo" — not through {{…}}):
 * [{"ref": "logo", "path": "layout.body.0.src"}] in document order (borrowed; lives with t).
 * The server checks them against the project's assets when a layout is saved or previewed. */
const json_t *engine_template_asset_refs(const engine_template_t *t);
/* The page size in pt after pageConfig and orientation have been applied. */
void engine_template_page_size(const engine_template_t *t, double *width_pt, double *height_pt);

/* One {{ }} template string outside a layout, e.g. a version's default file name
 * ("invoice-{{invoice.number}}.pdf"): the same syntax, filters and manifest checks as a layout's
 * text. compile returns NULL with *issues ({formErrors, fieldErrors}, problems at path) and err
 * when the string is bad. eval writes the text (malloc'd, at most ENGINE_TEXT_EVAL_MAX bytes) to
 * *out: 0, or -1 + err. A compiled text is immutable: any thread may evaluate it. */
#define ENGINE_TEXT_EVAL_MAX 4096
typedef struct engine_text engine_text_t;
engine_text_t *engine_text_compile(const char *text, const json_t *manifest, const char *path,
                                   json_t **issues, char *err, size_t err_len);
int engine_text_eval(const engine_text_t *et, const json_t *data, char **out, char *err, size_t err_len);
void engine_text_free(engine_text_t *et);

/* A layout generated from a manifest: labelled scalars, images, loops as tables with a header
 * row. New reference; never NULL for a manifest object (an empty body for NULL). */
json_t *engine_default_layout(const json_t *manifest);

typedef enum { ENGINE_PDF = 0, ENGINE_PNG } engine_format_t;

#define ENGINE_PNG_DPI_MIN 10.0
#define ENGINE_PNG_DPI_MAX 600.0
#define ENGINE_PNG_PIXELS_MAX (12000 * 12000) /* width x height of one PNG */

typedef struct engine_ctx engine_ctx_t;

typedef struct {
    int image_timeout_ms;    /* per image fetch; 0 = 10000 */
    size_t image_max_bytes;  /* per image; 0 = 5 MiB (CRAFTKIT_IMAGE_MAX_BYTES default) */
    bool allow_private_urls; /* tests only: lets images come from private addresses */
    const char *assets_dir;  /* directory for "asset:NAME" images; NULL = none */
    /* Uploaded fonts parsed and kept by this context (fontconfig set-up, pango map, faces),
     * least recently used dropped first, counted by the files' bytes; 0 = 64 MiB
     * (CRAFTKIT_FONT_CACHE_BYTES). */
    size_t font_cache_bytes;
} engine_ctx_opts_t;

/* Returns NULL only when out of memory. */
engine_ctx_t *engine_ctx_new(const engine_ctx_opts_t *opts);
void engine_ctx_free(engine_ctx_t *ctx);

/* How the PDF's streams are compressed. FAST (the default) compresses page content (zlib 1) and
 * stores the embedded font programs, which shrink by only ~30 % and cost half of a short
 * render: files are ~25 % larger than STANDARD for one page and a few % for long documents,
 * renders of short documents about twice as fast. STANDARD compresses everything (zlib 6,
 * cairo's own setting). NONE compresses nothing. */
typedef enum {
    ENGINE_COMPRESS_FAST = 0,
    ENGINE_COMPRESS_STANDARD,
    ENGINE_COMPRESS_NONE
} engine_compression_t;

/* PDF/A output (docs/einvoice.md). DEFAULT = the template's own (pageConfig.pdfa), else none. */
typedef enum { ENGINE_PDFA_DEFAULT = 0, ENGINE_PDFA_NONE, ENGINE_PDFA_2B, ENGINE_PDFA_3B } engine_pdfa_t;

/* How an embedded file relates to the document (PDF/A-3 /AFRelationship). */
typedef enum {
    ENGINE_AF_UNSPECIFIED = 0,
    ENGINE_AF_ALTERNATIVE,
    ENGINE_AF_DATA,
    ENGINE_AF_SOURCE,
    ENGINE_AF_SUPPLEMENT
} engine_af_t;

#define ENGINE_ATTACHMENTS_MAX 16               /* embedded files in one PDF */
#define ENGINE_ATTACHMENT_NAME_MAX 120          /* bytes of a file name */
#define ENGINE_ATTACHMENTS_BYTES_MAX (8u << 20) /* all embedded files together */
#define ENGINE_FACTURX_XML_MAX (5u << 20)       /* the Factur-X XML */

/* A file embedded in the PDF: an associated file of the document under PDF/A-3, a plain
 * embedded file otherwise (PDF/A-2 allows none). Names must pass engine_attachment_name_check. */
typedef struct {
    const char *name;        /* UTF-8 file name, no path */
    const char *media_type;  /* "type/subtype" */
    const char *description; /* NULL = none */
    const unsigned char *data;
    size_t len;
    engine_af_t relationship;
} engine_attachment_t;

/* Factur-X / ZUGFeRD profiles (the XMP fx:ConformanceLevel). */
typedef enum {
    ENGINE_FX_NONE = 0,
    ENGINE_FX_MINIMUM,
    ENGINE_FX_BASIC_WL,
    ENGINE_FX_BASIC,
    ENGINE_FX_EN16931,
    ENGINE_FX_EXTENDED,
    ENGINE_FX_XRECHNUNG
} engine_fx_profile_t;

/* A Factur-X invoice: the CII XML (checked with engine_facturx_check) is embedded as
 * factur-x.xml (xrechnung.xml for XRECHNUNG) and the output is PDF/A-3b. */
typedef struct {
    engine_fx_profile_t profile; /* NONE = no Factur-X */
    const char *xml;
    size_t len;
} engine_facturx_t;

/* One of the project's brand assets for a render: its bytes are the local file at path (the
 * server's cache, keyed by sha256), so a render never touches storage or the database and works
 * the same in this process or another. "asset:REF" in an image src matches REF against name,
 * then id. A font is used where a layout names its family ("font": "Brand"): the files of a
 * family are chosen by weight and italic like CSS font matching, before installed families. */
typedef struct {
    const char *name;   /* "logo" */
    const char *id;     /* the asset's uuid */
    const char *kind;   /* "font" | "image" */
    const char *sha256; /* hex of the uploaded bytes */
    const char *path;   /* a local file holding those bytes (a font: as TrueType/OpenType, WOFF decoded) */
    const char *family; /* a font's family ("Brand"); NULL for images */
} engine_asset_t;

/* Server renders carry these to a render helper process: a new field must be added to the
 * wire format of src/worker/sandbox.c too (wire_opts_t, sandbox_render, helper_serve). */
typedef struct {
    engine_format_t format;           /* PDF default */
    int page;                         /* PNG: 1-based page number (0 = 1) */
    double dpi;                       /* PNG: default 96 */
    const char *watermark;            /* NULL or e.g. "TEST" (diagonal, light); replaces the layout's own */
    int64_t creation_time;            /* unix seconds for PDF metadata; 0 = now. Fixed → identical bytes */
    int64_t deadline_ms;              /* CLOCK_MONOTONIC ms after which rendering aborts; 0 = none */
    engine_compression_t compression; /* PDF: FAST default */
    engine_pdfa_t pdfa;               /* PDF: PDF/A level; DEFAULT = the template's */
    const engine_attachment_t *attachments; /* PDF: embedded files (not copied; live during the call) */
    size_t nattachments;                    /* ≤ ENGINE_ATTACHMENTS_MAX */
    engine_facturx_t facturx;               /* PDF: Factur-X XML; implies PDF/A-3b */
    size_t image_budget_bytes;              /* decoded image bytes one render may hold; 0 = no limit. Checked
                                         from each image's header before decoding, so a document of
                                         huge pictures fails at once with a message */
    /* The project's assets (not copied; live during the call). When assets is non-NULL, "asset:"
     * images come only from this list (none from the context's assets_dir), even if nassets is 0. */
    const engine_asset_t *assets;
    size_t nassets;
} engine_render_opts_t;

typedef struct {
    unsigned char *data;
    size_t len;
    int pages; /* pages in the document (also for PNG, which holds one) */
} engine_output_t;

/* data: the normalised data object (already validated against the manifest by the caller).
 * Returns 0, or -1 with an actionable message in err, e.g.
 * "image at data.logo could not be fetched: HTTP 404". */
int engine_render(engine_ctx_t *ctx, const engine_template_t *t, const json_t *data,
                  const engine_render_opts_t *opts, engine_output_t *out, char *err, size_t err_len);
void engine_output_free(engine_output_t *out);

/* "2b" | "3b" → ENGINE_PDFA_2B/3B; anything else → -1. */
int engine_pdfa_parse(const char *name);
/* "EN 16931", "BASIC", "BASIC WL", "MINIMUM", "EXTENDED", "XRECHNUNG" → the profile; else -1. */
int engine_fx_profile_parse(const char *name);
/* "Alternative", "Data", "Source", "Supplement", "Unspecified" → the relationship; else -1. */
int engine_af_parse(const char *name);
/* A file name that is safe to embed: 1..ENGINE_ATTACHMENT_NAME_MAX bytes of UTF-8 with no
 * control characters, no slash or backslash, not "." or "..", no leading dot or space. 0, or -1 with a
 * message for the user in err. */
int engine_attachment_name_check(const char *name, char *err, size_t err_len);
/* Checks a Factur-X XML before it is embedded: at most ENGINE_FACTURX_XML_MAX bytes, UTF-8,
 * well-formed (a small parser that knows no DTD: DOCTYPE and entity declarations are refused,
 * only the five predefined entities and character references are accepted), and its root is
 * rsm:CrossIndustryInvoice in the UN/CEFACT CII namespace. 0, or -1 with a message. */
int engine_facturx_check(const char *xml, size_t len, char *err, size_t err_len);
/* Checks that the guideline a checked Factur-X XML declares (BT-24,
 * GuidelineSpecifiedDocumentContextParameter/ID) is the one of profile, in its Factur-X 1.0 or
 * ZUGFeRD 2.x spelling (XRECHNUNG: any XRechnung version), because the XMP's fx:ConformanceLevel
 * must name the profile the XML was made for. An XML that declares none is not checked. 0, or
 * -1 with a message. */
int engine_facturx_profile_check(const char *xml, size_t len, engine_fx_profile_t profile, char *err,
                                 size_t err_len);
/* A template whose layout has "einvoice" (docs/einvoice.md) generates its Factur-X XML from the
 * data. Returns 0 when it has none; 1 with *xml (malloc'd, caller frees; xml may be NULL to
 * only check), *len and *profile; or -1 with *issues (new reference, fieldErrors at data paths
 * such as "items.3.total") when the data lack a term or do not add up (BR-CO rules). */
int engine_einvoice_build(const engine_template_t *t, const json_t *data, char **xml, size_t *len,
                          engine_fx_profile_t *profile, json_t **issues);

#endif
