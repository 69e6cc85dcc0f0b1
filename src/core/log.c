#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"

#define LOG_LINE_MAX (16 * 1024)

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
    buf_append_char(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) { /* not UTF-8: the byte as the text \xHH, so the line stays valid JSON */
            buf_printf(b, "\\\\x%02x", *p++);
            continue;
        }
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            buf_printf(b, "\\u%04x", *p);
        else
            buf_append(b, p, n);
        p += n;
    }
    buf_append_char(b, '"');
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
        buf_append_char(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) {
            buf_printf(b, "\\x%02x", *p++);
            continue;
        }
        switch (*p) {
        case '\n': buf_append_str(b, "\\n"); break;
        case '\r': buf_append_str(b, "\\r"); break;
        case '\t': buf_append_str(b, "\\t"); break;
        case '\\': buf_append_str(b, "\\\\"); break;
        case '"':
            if (quote)
                buf_append_str(b, "\\\"");
            else
                buf_append_char(b, '"');
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                buf_printf(b, "\\x%02x", *p);
            else
                buf_append(b, p, n);
        }
        p += n;
    }
    if (quote)
        buf_append_char(b, '"');
}

void log_append_text_value(buf_t *b, const char *s)
{
    log_append_text(b, s, text_needs_quotes(s));
}

static void emit(log_level_t level, const char *msg, va_list *pairs)
{
    if (level < log_min)
        return;
    char ts[TIME_ISO_LEN + 1];
    time_format_iso(time_now_ms(), ts);
    buf_t b;
    buf_init(&b, LOG_LINE_MAX);
    if (log_json) {
        buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_names[level]);
        log_append_json(&b, msg);
    } else {
        buf_printf(&b, "%s %-5s ", ts, level_names[level]);
        log_append_text(&b, msg, false);
    }
    if (pairs) {
        const char *key;
        while ((key = va_arg(*pairs, const char *)) != NULL) {
            const char *val = va_arg(*pairs, const char *);
            if (!val)
                continue;
            if (log_json) {
                buf_append_char(&b, ',');
                log_append_json(&b, key);
                buf_append_char(&b, ':');
                log_append_json(&b, val);
            } else {
                buf_printf(&b, " %s=", key);
                log_append_text_value(&b, val);
            }
        }
    }
    buf_append_str(&b, log_json ? "}\n" : "\n");
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
