#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->err = BUF_OK;
}

void buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = BUF_OK;
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    b->err = BUF_OK;
    if (b->data)
        b->data[0] = '\0';
}

/* Records the first failure for buf_error(); returns rc. */
static int buf_fail(buf_t *b, int rc)
{
    if (b->err == BUF_OK)
        b->err = rc;
    return rc;
}

/* Makes room for `extra` more bytes plus the NUL. */
static int buf_reserve(buf_t *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return buf_fail(b, BUF_TOO_BIG);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return BUF_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return buf_fail(b, BUF_NOMEM);
    b->data = p;
    b->cap = cap;
    return BUF_OK;
}

/* The appends, without the must-use contract (both families call these). */
static int append(buf_t *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);
    if (rc != BUF_OK)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return BUF_OK;
}

static int append_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return buf_fail(b, BUF_NOMEM);
    int rc = buf_reserve(b, (size_t)n);
    if (rc != BUF_OK)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return BUF_OK;
}

int buf_append(buf_t *b, const void *data, size_t len)
{
    return append(b, data, len);
}

int buf_append_str(buf_t *b, const char *s)
{
    return append(b, s, strlen(s));
}

int buf_append_char(buf_t *b, char c)
{
    return append(b, &c, 1);
}

int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    return append_vprintf(b, fmt, ap);
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = append_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_put(buf_t *b, const void *data, size_t len)
{
    append(b, data, len); /* a failure is recorded in b->err */
}

void buf_puts(buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

void buf_putc(buf_t *b, char c)
{
    buf_put(b, &c, 1);
}

void buf_vputf(buf_t *b, const char *fmt, va_list ap)
{
    append_vprintf(b, fmt, ap); /* a failure is recorded in b->err */
}

void buf_putf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vputf(b, fmt, ap);
    va_end(ap);
}

int buf_error(const buf_t *b)
{
    return b->err;
}

char *buf_detach(buf_t *b, size_t *len_out)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = BUF_OK;
    return p;
}

const char *buf_cstr(const buf_t *b)
{
    return b->data ? b->data : "";
}
