/* image — STUB: the real implementation follows; see image.h. */
#include "engine/image.h"

#include <stdio.h>
#include <stdlib.h>

struct image { int refs; };
struct image_loader { image_loader_opts_t opts; };

image_loader_t *image_loader_new(const image_loader_opts_t *opts)
{
    image_loader_t *l = calloc(1, sizeof *l);
    if (l && opts) l->opts = *opts;
    return l;
}

void image_loader_free(image_loader_t *l) { free(l); }

int image_load(image_loader_t *l, const char *src, image_t **out, char *err, size_t err_len)
{
    *out = NULL;
    snprintf(err, err_len, "images are not implemented yet");
    return -1;
}

void image_ref(image_t *img) { if (img) img->refs++; }
void image_unref(image_t *img) { if (img && --img->refs == 0) free(img); }
void image_size(const image_t *img, double *w, double *h) { *w = 0; *h = 0; }
void image_draw(const image_t *img, cairo_t *cr, double x, double y, double w, double h, image_fit_t fit) {}
