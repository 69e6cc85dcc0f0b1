/*
 * buf — bounded, growable byte buffers (in the spirit of curl's dynbuf).
 *
 * Every buffer has a hard maximum fixed at init time; an append that would pass it fails with
 * BUF_TOO_BIG and leaves the buffer unchanged, so a client can never grow one without bound.
 * The contents are always NUL-terminated (the NUL is not counted in len).
 *
 * Two ways to append. The buf_append* / buf_printf family returns BUF_OK or the failure and
 * must be checked (warn_unused_result). The buf_put* family is for writers that emit many
 * pieces and check once, like stdio's fprintf + ferror: it returns nothing, and the first
 * failure of any append since buf_init/buf_reset stays in the buffer for buf_error(), which
 * the writer checks before it uses the contents. It also serves a best-effort text such as a
 * log excerpt, where a lost piece is acceptable (the call says so). A failed append of either
 * family leaves the contents unchanged; later puts still run, but buf_error() keeps the failure.
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
    int err;    /* first failed append since init/reset: BUF_OK, BUF_TOO_BIG or BUF_NOMEM */
} buf_t;

#define BUF_MUST_USE __attribute__((warn_unused_result))

void buf_init(buf_t *b, size_t max);
void buf_free(buf_t *b);
/* Keeps the allocation, forgets the contents and any recorded failure. */
void buf_reset(buf_t *b);
/* Each returns BUF_OK, or BUF_TOO_BIG / BUF_NOMEM with the contents unchanged. */
BUF_MUST_USE int buf_append(buf_t *b, const void *data, size_t len);
BUF_MUST_USE int buf_append_str(buf_t *b, const char *s);
BUF_MUST_USE int buf_append_char(buf_t *b, char c);
BUF_MUST_USE int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
BUF_MUST_USE int buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* The same appends for writers that check once with buf_error() (see the top). */
void buf_put(buf_t *b, const void *data, size_t len);
void buf_puts(buf_t *b, const char *s);
void buf_putc(buf_t *b, char c);
void buf_putf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vputf(buf_t *b, const char *fmt, va_list ap);
/* The first failure of an append since buf_init/buf_reset (BUF_OK when none). */
BUF_MUST_USE int buf_error(const buf_t *b);
/* Returns the NUL-terminated contents ("" when empty); caller frees. The buffer is reset. */
char *buf_detach(buf_t *b, size_t *len_out);
/* The contents as a C string, never NULL; valid until the next modification. */
const char *buf_cstr(const buf_t *b);

#endif
