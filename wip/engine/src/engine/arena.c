#include "engine/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    arena_chunk_t *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_ALIGN 16

void arena_init(arena_t *a, size_t chunk_size, size_t max)
{
    memset(a, 0, sizeof *a);
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    a->max = max;
}

static arena_chunk_t *chunk_new(arena_t *a, size_t need)
{
    size_t size = need > a->chunk_size ? need : a->chunk_size;
    if (a->used_total + size + sizeof(arena_chunk_t) > a->max) {
        a->full = true;
        return NULL;
    }
    /* calloc: callers rely on zeroed memory, and fresh pages from the OS are zero anyway. */
    arena_chunk_t *c = calloc(1, sizeof *c + size);
    if (!c) {
        a->full = true;
        return NULL;
    }
    c->size = size;
    c->next = a->head;
    a->head = c;
    a->used_total += size + sizeof *c;
    return c;
}

void *arena_alloc(arena_t *a, size_t size)
{
    if (size == 0)
        size = 1;
    size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (rounded < size)
        return NULL;
    arena_chunk_t *c = a->head;
    if (!c || c->size - c->used < rounded) {
        /* Large requests get a chunk of their own so the current chunk keeps its free tail. */
        if (c && rounded > a->chunk_size / 4) {
            arena_chunk_t *own = chunk_new(a, rounded);
            if (!own)
                return NULL;
            /* chunk_new pushed it on top; swap it below the current chunk. */
            a->head = own->next;
            own->next = a->head->next;
            a->head->next = own;
            own->used = rounded;
            return own->data;
        }
        c = chunk_new(a, rounded);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += rounded;
    return p;
}

void *arena_calloc(arena_t *a, size_t n, size_t sz)
{
    if (sz && n > SIZE_MAX / sz)
        return NULL;
    return arena_alloc(a, n * sz);
}

char *arena_strndup(arena_t *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

void *arena_grow(arena_t *a, void *old, size_t old_n, size_t new_n, size_t sz)
{
    void *p = arena_calloc(a, new_n, sz);
    if (p && old && old_n)
        memcpy(p, old, old_n * sz);
    return p;
}

void arena_reset(arena_t *a)
{
    arena_chunk_t *c = a->head, *keep = NULL;
    while (c) {
        arena_chunk_t *next = c->next;
        if (!next && c->size == a->chunk_size) {
            keep = c; /* the oldest standard chunk survives */
        } else {
            free(c);
        }
        c = next;
    }
    a->head = keep;
    a->used_total = 0;
    a->full = false;
    if (keep) {
        /* Only the used part needs zeroing; the rest is still zero from calloc. */
        memset(keep->data, 0, keep->used);
        keep->used = 0;
        keep->next = NULL;
        a->used_total = keep->size + sizeof *keep;
    }
}

void arena_free(arena_t *a)
{
    arena_chunk_t *c = a->head;
    while (c) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

size_t arena_bytes(const arena_t *a)
{
    return a->used_total;
}
