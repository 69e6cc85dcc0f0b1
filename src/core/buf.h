/*
 * buf — bounded, growable byte buffers (in the spirit of curl's dynbuf).
 *
 * Every buffer has a hard maximum fixed at init time; an append that would pass it fails with
 * BUF_TOO_BIG and leaves the buffer unchanged, so a client can never grow one without bound.
 * The contents are always NUL-terminated (the NUL is not counted in len).
 *
 * Threads: a buf_t belongs to one thread at a time; no internal locking.
 * Memory: the buffer owns data; buf_free() releases it, buf_detach() hands it to the caller
 * (who then frees it with free()).
 */
#ifndef CRAFTKIT_CORE_BUF_H
#define CRAFTKIT_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

enum { BUF_OK = 0, BUF_TOO_BIG = -1, BUF_NOMEM = -2 };

typedef struct buf {
    char *data; /* NULL until the first append */
    size_t len; /* bytes used, excluding the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len */
} buf_t;

void buf_init(buf_t *b, size_t max);
void buf_free(buf_t *b);
/* Keeps the allocation, forgets the contents. */
void buf_reset(buf_t *b);
int buf_append(buf_t *b, const void *data, size_t len);
int buf_append_str(buf_t *b, const char *s);
int buf_append_char(buf_t *b, char c);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* Returns the NUL-terminated contents ("" when empty); caller frees. The buffer is reset. */
char *buf_detach(buf_t *b, size_t *len_out);
/* The contents as a C string, never NULL; valid until the next modification. */
const char *buf_cstr(const buf_t *b);

#endif
