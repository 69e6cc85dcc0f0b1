#include "tu.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

cairo_status_t tu_bytes_append(void *closure, const unsigned char *data, unsigned int len)
{
    tu_bytes_t *b = closure;
    unsigned char *grown = realloc(b->data, b->len + len);
    if (!grown)
        return CAIRO_STATUS_NO_MEMORY;
    b->data = grown;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return CAIRO_STATUS_SUCCESS;
}

tu_bytes_t tu_bytes_load(const char *path)
{
    tu_bytes_t b = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    b.len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc(b.len);
    ck_assert(fread(b.data, 1, b.len, f) == b.len);
    fclose(f);
    return b;
}

typedef struct {
    const unsigned char *p;
    size_t left;
} png_in_t;

static cairo_status_t png_read(void *closure, unsigned char *data, unsigned int len)
{
    png_in_t *in = closure;
    if (len > in->left)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, in->p, len);
    in->p += len;
    in->left -= len;
    return CAIRO_STATUS_SUCCESS;
}

cairo_surface_t *tu_png_decode(const unsigned char *png, size_t len)
{
    png_in_t in = {png, len};
    return cairo_image_surface_create_from_png_stream(png_read, &in);
}

int tu_grey_at(cairo_surface_t *s, int x, int y)
{
    cairo_surface_flush(s);
    const unsigned char *px = cairo_image_surface_get_data(s) + (size_t)y * cairo_image_surface_get_stride(s);
    uint32_t v;
    memcpy(&v, px + 4 * x, 4);
    return (int)(((v >> 16) & 255) + ((v >> 8) & 255) + (v & 255)) / 3;
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

unsigned char *tu_font_renamed(const char *path, const char *family, size_t *len)
{
    tu_bytes_t file = tu_bytes_load(path);
    unsigned char *d = file.data;
    *len = file.len;
    const unsigned char *name = NULL;
    for (unsigned i = 0; i < be16(d + 4); i++)
        if (!memcmp(d + 12 + i * 16, "name", 4))
            name = d + be32(d + 12 + i * 16 + 8);
    ck_assert_msg(name != NULL, "%s has no name table", path);
    unsigned count = be16(name + 2);
    unsigned char *strings = (unsigned char *)name + be16(name + 4);
    size_t flen = strlen(family);
    int renamed = 0;
    for (unsigned i = 0; i < count; i++) {
        unsigned char *r = (unsigned char *)name + 6 + i * 12;
        unsigned platform = be16(r), id = be16(r + 6), slen = be16(r + 8), off = be16(r + 10);
        if (id != 1 && id != 16)
            continue;
        bool wide = platform == 0 || platform == 3;
        size_t need = wide ? flen * 2 : flen;
        ck_assert_msg(need <= slen, "\"%s\" is longer than the family name of %s", family, path);
        for (size_t k = 0; k < flen; k++) {
            if (wide) {
                strings[off + k * 2] = 0;
                strings[off + k * 2 + 1] = (unsigned char)family[k];
            } else {
                strings[off + k] = (unsigned char)family[k];
            }
        }
        r[8] = (unsigned char)(need >> 8);
        r[9] = (unsigned char)need;
        renamed++;
    }
    ck_assert_msg(renamed > 0, "%s has no family name", path);
    return d;
}
