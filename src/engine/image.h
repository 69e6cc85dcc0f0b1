/*
 * image — loads PNG, JPEG and SVG images for the engine from http(s) URLs, data: URIs and
 * named assets, and draws them into a cairo context (vector for SVG; JPEG bytes are attached
 * as MIME data so PDF output embeds the original JPEG unchanged).
 *
 * Threads: an image_loader_t belongs to ONE thread (it owns a CURL handle and an LRU cache);
 * create one per worker thread. A loaded image_t is read-only and refcounted; image_ref/unref
 * and image_draw may be used from the thread that owns the loader that produced it (the
 * refcount is atomic, but cairo surfaces and rsvg handles are not meant to be shared).
 * Memory: image_load() returns a new reference in *out; release it with image_unref(). The
 * loader's cache holds its own references; image_loader_free() drops them.
 * Network fetches go through core/netguard (SSRF guard; allow_private only lifts the address
 * check). Options: timeout_ms <= 0 means 10000; max_bytes 0 means 5 MiB (applies to fetched
 * bodies, decoded data: URIs and asset files); assets_dir is copied, NULL refuses asset:
 * sources. curl_global_init() must have run (once, at startup) before loaders are created.
 * Sources, limits and error texts are listed at the top of image.c.
 */
#ifndef CRAFTKIT_ENGINE_IMAGE_H
#define CRAFTKIT_ENGINE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cairo.h>
#include <craftkit/engine.h>

typedef struct image image_t;               /* decoded image, refcounted; read-only once loaded */
typedef struct image_loader image_loader_t; /* per-thread: owns a CURL* and a small LRU cache */
typedef struct {
    int timeout_ms;
    size_t max_bytes;
    bool allow_private;
    const char *assets_dir;
} image_loader_opts_t;
image_loader_t *image_loader_new(const image_loader_opts_t *opts);
void image_loader_free(image_loader_t *l);
/* Bounds every later fetch by this CLOCK_MONOTONIC time in ms (time_mono_ms()), on top of the
 * per-image timeout; 0 lifts it. The engine sets it to the render's deadline at each render. */
#define IMAGE_DEADLINE_MSG "the render's time limit ran out while it was being fetched"
void image_loader_set_deadline(image_loader_t *l, int64_t deadline_mono_ms);
/* Starts a render's image memory budget: decoded images it uses may hold at most bytes in all
 * (0 = no limit), checked from each image's header before it is decoded. */
void image_loader_set_budget(image_loader_t *l, size_t bytes);
/* Whether img drawn w×h pt fits what is left of the budget (SVG filters are rasterised at the
 * drawn size); 0, or -1 with e.g. "is an SVG with filters drawn 14400x14400 pt: …" in err. */
int image_check_draw(image_loader_t *l, const image_t *img, double w_pt, double h_pt, char *err,
                     size_t err_len);
/* This render's project assets (the engine's engine_render_opts_t.assets; not copied, NULL
 * clears): while set, "asset:REF" resolves only through them (image assets by name, then id),
 * reading the local file each names; the decoded image is cached by the file's sha256. */
void image_loader_set_assets(image_loader_t *l, const engine_asset_t *assets, size_t n);
/* src: http(s) URL, data:image/png|jpeg|svg+xml;base64,..., or "asset:NAME" (file under assets_dir). err gets e.g. "could not be fetched: HTTP 404". */
int image_load(image_loader_t *l, const char *src, image_t **out, char *err, size_t err_len);
/* Checks bytes as an upload: sniffs PNG/JPEG/SVG, checks the pixel caps, decodes them fully
 * (so damaged files are refused now, not at render time) and, for SVG, refuses scripts, event
 * attributes, <foreignObject>, entity declarations and any reference that is not inside the
 * document ("#id") or a data: URI. *media_type gets "image/png" | "image/jpeg" | "image/svg+xml"
 * (static) and *w_px, *h_px the intrinsic size. 0, or -1 with a predicate in err (as above). */
int image_probe(const uint8_t *data, size_t len, const char **media_type, double *w_px, double *h_px,
                char *err, size_t err_len);
void image_ref(image_t *img);
void image_unref(image_t *img);
void image_size(const image_t *img, double *w, double *h); /* intrinsic size in pt (px at 96 dpi → pt) */
typedef enum { IMAGE_FIT_CONTAIN, IMAGE_FIT_COVER, IMAGE_FIT_FILL } image_fit_t;
void image_draw(const image_t *img, cairo_t *cr, double x, double y, double w, double h, image_fit_t fit);

#endif
