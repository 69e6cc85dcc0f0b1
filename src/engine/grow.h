/*
 * grow — doubling growth of malloc'd scratch arrays (shaping buffers, glyph batches) that a
 * thread keeps and reuses between paragraphs and pages.
 * Threads: whoever owns the array. Memory: *p is realloc'd; the owner frees it.
 */
#ifndef CRAFTKIT_ENGINE_GROW_H
#define CRAFTKIT_ENGINE_GROW_H

#include <stdlib.h>

/* Makes room for `need` elements of `sz` bytes; 0, or -1 (array unchanged) when out of memory. */
static inline int grow_array(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * sz);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

#endif
