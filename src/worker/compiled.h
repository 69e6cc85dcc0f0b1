/*
 * compiled — a template version compiled once: the manifest validator, the engine template,
 * the effective layout and the JSON Schema; plus a process-wide cache keyed by version id.
 *
 * Versions are immutable, so cache entries never go stale; the cache holds at most
 * COMPILED_CACHE_MAX entries and evicts the least recently used one that nobody holds.
 * Threads: compiled_get/compiled_release from any thread (one mutex); a compiled_t is
 * read-only and may be used by many threads at once while referenced.
 * Memory: compiled_build returns a reference the caller releases with compiled_release.
 */
#ifndef CRAFTKIT_WORKER_COMPILED_H
#define CRAFTKIT_WORKER_COMPILED_H

#include <craftkit/engine.h>
#include <jansson.h>

#include "db/db.h"
#include "manifest/manifest.h"
#include "worker/overlay.h"
#include "worker/sandbox.h"

#define COMPILED_CACHE_MAX 256

typedef struct compiled {
    char version_id[37];
    manifest_t *manifest;
    engine_template_t *engine;
    json_t *layout;                     /* the layout in effect (generated when none was given) */
    json_t *schema;                     /* Draft-07 JSON Schema of the manifest */
    json_t *manifest_src, *page_config; /* as given (page_config may be NULL): what a render
                                           helper compiles (worker/sandbox.h) */
    engine_text_t *filename;            /* the version's default file name template, or NULL */
    overlay_t *overlay;                 /* a pdf-overlay template's base and form filling, or NULL
                                           (engine then draws its placements) */
    int refs;                           /* guarded by the cache mutex */
} compiled_t;

typedef enum { COMPILE_OK = 0, COMPILE_INVALID, COMPILE_INVALID_LOOP_KEY } compile_status_t;

/* Compiles manifest + layout (NULL → generated) + pageConfig (may be NULL); fonts says which
 * families the project uploaded (NULL: only installed ones). On failure returns NULL with
 * *status and *issues (every problem in manifest, layout and pageConfig at once). */
compiled_t *compiled_build(const json_t *manifest, const json_t *layout, const json_t *page_config,
                           const engine_compile_opts_t *fonts, compile_status_t *status, json_t **issues,
                           char *err, size_t err_len);
/* Compiles tpl (a version's default file name, "invoice-{{invoice.number}}.pdf") against
 * c's manifest into c->filename. Only before c is shared. 0, or -1 with *issues at "filename". */
int compiled_add_filename(compiled_t *c, const char *tpl, json_t **issues, char *err, size_t err_len);
/* The compiled form of a stored version, from the cache or loaded and compiled now. NULL + err
 * when the version does not exist or cannot be loaded. */
compiled_t *compiled_get(db_t *db, const char *version_id, char *err, size_t err_len);
void compiled_release(compiled_t *c);
/* What a render helper needs to know of c (pointers into c, valid while it is referenced). */
void compiled_sandbox_template(const compiled_t *c, sandbox_template_t *tpl);
/* Frees every unreferenced cache entry (shutdown, tests). */
void compiled_cache_clear(void);

#endif
