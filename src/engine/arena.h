/*
 * arena — a bump allocator for the engine: compiled templates and everything one render lays
 * out (shaped glyphs, lines, display lists) come from an arena and are released all at once.
 *
 * Allocation never fails silently: past the arena's cap (set at init) arena_alloc returns NULL
 * and sets `full`, which the engine turns into a "document too large" error. Memory is
 * zero-initialised. arena_reset keeps the first chunk for reuse by the next render.
 *
 * Threads: an arena belongs to one thread at a time; no locking.
 * Memory: the arena owns every block it hands out; arena_free releases them all.
 */
#ifndef CRAFTKIT_ENGINE_ARENA_H
#define CRAFTKIT_ENGINE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct arena_chunk arena_chunk_t;

typedef struct arena {
    arena_chunk_t *head; /* current chunk (newest first) */
    size_t used_total;   /* bytes handed out + chunk overhead, for the cap */
    size_t max;          /* hard cap on used_total */
    size_t chunk_size;   /* default size of a new chunk */
    bool full;           /* set once an allocation hit the cap */
} arena_t;

void arena_init(arena_t *a, size_t chunk_size, size_t max);
/* Zeroed, 16-byte aligned memory, or NULL (and a->full) when the cap is reached. */
void *arena_alloc(arena_t *a, size_t size);
/* Zeroed array of n elements of size sz; NULL on overflow or cap. */
void *arena_calloc(arena_t *a, size_t n, size_t sz);
/* Copies len bytes and appends a NUL. */
char *arena_strndup(arena_t *a, const char *s, size_t len);
char *arena_strdup(arena_t *a, const char *s);
/* Grows an arena array: returns a copy of old (old_n elements) with room for new_n. */
void *arena_grow(arena_t *a, void *old, size_t old_n, size_t new_n, size_t sz);
/* Forgets every allocation but keeps the first chunk's memory. */
void arena_reset(arena_t *a);
void arena_free(arena_t *a);
/* Bytes currently reserved from the system (for diagnostics and memory tests). */
size_t arena_bytes(const arena_t *a);

#endif
