#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"

#define LOG_LINE_MAX (16 * 1024)
#define LOG_TAIL_MAX 64 /* room past LOG_LINE_MAX for the closing "truncated" mark */

static bool log_json;
static log_level_t log_min = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_json(bool json)
{
    log_json = json;
}

void log_set_level(log_level_t level)
{
    log_min = level;
}

/* Length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when p does not start one
 * (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void log_append_json(buf_t *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) { /* not UTF-8: the byte as the text \xHH, so the line stays valid JSON */
            buf_putf(b, "\\\\x%02x", *p++);
            continue;
        }
        if (*p == '"' || *p == '\\')
            buf_putf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            buf_putf(b, "\\u%04x", *p);
        else
            buf_put(b, p, n);
        p += n;
    }
    buf_putc(b, '"');
}

/* A text value needs quotes when it is empty or has a space, quote, backslash, '=' or a byte
 * that is not printable UTF-8: without them it could pass for more key=value pairs. */
static bool text_needs_quotes(const char *s)
{
    if (!*s)
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0 || *p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '=')
            return true;
        p += n;
    }
    return false;
}

void log_append_text(buf_t *b, const char *s, bool quote)
{
    if (quote)
        buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) {
            buf_putf(b, "\\x%02x", *p++);
            continue;
        }
        switch (*p) {
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '"':
            if (quote)
                buf_puts(b, "\\\"");
            else
                buf_putc(b, '"');
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                buf_putf(b, "\\x%02x", *p);
            else
                buf_put(b, p, n);
        }
        p += n;
    }
    if (quote)
        buf_putc(b, '"');
}

void log_append_text_value(buf_t *b, const char *s)
{
    log_append_text(b, s, text_needs_quotes(s));
}

/* The line's start: time, level and message. */
static void append_head(buf_t *line, const char *ts, log_level_t level, const char *msg)
{
    if (log_json) {
        buf_putf(line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
        log_append_json(line, msg);
    } else {
        buf_putf(line, "%s %-5s ", ts, level_names[level]);
        log_append_text(line, msg, false);
    }
}

/* Appends one field unless the line would pass LOG_LINE_MAX; false when it was left out. */
static bool append_field(buf_t *line, const char *key, const char *val)
{
    buf_t field;
    buf_init(&field, LOG_LINE_MAX);
    if (log_json) {
        buf_putc(&field, ',');
        log_append_json(&field, key);
        buf_putc(&field, ':');
        log_append_json(&field, val);
    } else {
        buf_putf(&field, " %s=", key);
        log_append_text_value(&field, val);
    }
    bool fits = buf_error(&field) == BUF_OK && line->len + field.len <= LOG_LINE_MAX &&
                buf_append(line, buf_cstr(&field), field.len) == BUF_OK;
    buf_free(&field);
    return fits;
}

/* One line on stderr. A line that would pass LOG_LINE_MAX keeps what fits and says it was
 * cut (still one valid JSON object), so no value can make the log unreadable. */
static void emit(log_level_t level, const char *msg, va_list *pairs)
{
    if (level < log_min)
        return;
    char ts[TIME_ISO_LEN + 1];
    time_format_iso(time_now_ms(), ts);
    buf_t b;
    buf_init(&b, LOG_LINE_MAX + LOG_TAIL_MAX);
    append_head(&b, ts, level, msg);
    bool cut = false;
    if (buf_error(&b) != BUF_OK || b.len > LOG_LINE_MAX) {
        buf_reset(&b);
        append_head(&b, ts, level, "(message over the log line limit)");
        cut = true;
    }
    const char *key;
    while (pairs && (key = va_arg(*pairs, const char *)) != NULL) {
        const char *val = va_arg(*pairs, const char *);
        if (val && !append_field(&b, key, val))
            cut = true;
    }
    if (cut)
        buf_puts(&b, log_json ? ",\"truncated\":true" : " truncated=true");
    buf_puts(&b, log_json ? "}\n" : "\n");
    /* the tail has its own room (LOG_TAIL_MAX), so the line is whole */
    fputs(buf_cstr(&b), stderr);
    buf_free(&b);
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, msg, NULL);
}

void log_event(log_level_t level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    emit(level, msg, &ap);
    va_end(ap);
}
