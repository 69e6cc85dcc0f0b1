#include "engine/fontcache.h"
#include "core/errmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct fontset {
    char *key; /* "path\tfamily\n" per file, in the caller's order */
    fonts_t *fonts;
    text_t *text;
    size_t bytes;
    unsigned long used;
} fontset_t;

struct fontcache {
    fontset_t sets[FONTCACHE_SETS_MAX];
    size_t nsets;
    size_t bytes, max_bytes, built;
    unsigned long clock;
};

fontcache_t *fontcache_new(size_t max_bytes)
{
    fontcache_t *c = calloc(1, sizeof *c);
    if (c)
        c->max_bytes = max_bytes ? max_bytes : FONTCACHE_DEFAULT_BYTES;
    return c;
}

static void set_clear(fontset_t *s)
{
    text_free(s->text);
    fonts_free(s->fonts);
    free(s->key);
    memset(s, 0, sizeof *s);
}

/* Drops set i (the array stays dense). */
static void drop(fontcache_t *c, size_t i)
{
    c->bytes -= c->sets[i].bytes;
    set_clear(&c->sets[i]);
    c->sets[i] = c->sets[--c->nsets];
    memset(&c->sets[c->nsets], 0, sizeof c->sets[c->nsets]);
}

void fontcache_free(fontcache_t *c)
{
    if (!c)
        return;
    while (c->nsets)
        drop(c, c->nsets - 1);
    free(c);
}

/* The key of a file list; NULL when out of memory. */
static char *make_key(const fonts_file_t *files, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(files[i].path) + (files[i].family ? strlen(files[i].family) : 0) + 2;
    char *k = malloc(len), *p = k;
    if (!k)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\t%s\n", files[i].path, files[i].family ? files[i].family : "");
    *p = '\0';
    return k;
}

/* Makes room for a set of bytes: least recently used sets go first. */
static void evict_for(fontcache_t *c, size_t bytes)
{
    while (c->nsets && (c->nsets == FONTCACHE_SETS_MAX || c->bytes + bytes > c->max_bytes)) {
        size_t lru = 0;
        for (size_t i = 1; i < c->nsets; i++)
            if (c->sets[i].used < c->sets[lru].used)
                lru = i;
        drop(c, lru);
    }
}

text_t *fontcache_get(fontcache_t *c, const fonts_file_t *files, size_t n, char *err, size_t err_len)
{
    char *key = make_key(files, n);
    if (!key) {
        errmsg_fail(err, err_len, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < c->nsets; i++)
        if (!strcmp(c->sets[i].key, key)) {
            free(key);
            c->sets[i].used = ++c->clock;
            return c->sets[i].text;
        }
    size_t bytes = FONTCACHE_SET_OVERHEAD;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(files[i].path, &st) != 0) {
            errmsg_fail(err, err_len, "font file %s is missing", files[i].path);
            free(key);
            return NULL;
        }
        bytes += (size_t)st.st_size;
    }
    evict_for(c, bytes);
    fontset_t s = {.key = key, .bytes = bytes, .used = ++c->clock};
    s.fonts = fonts_new_uploaded(files, n, err, err_len);
    s.text = s.fonts ? text_new(s.fonts) : NULL;
    if (!s.text) {
        if (s.fonts)
            errmsg_fail(err, err_len, "out of memory");
        set_clear(&s);
        return NULL;
    }
    c->sets[c->nsets++] = s;
    c->bytes += bytes;
    c->built++;
    return s.text;
}

void fontcache_stats(const fontcache_t *c, size_t *sets, size_t *bytes, size_t *built)
{
    *sets = c->nsets;
    *bytes = c->bytes;
    *built = c->built;
}
