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

static void append_json_string(buf_t *b, const char *s)
{
    buf_append_char(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            buf_printf(b, "\\u%04x", *p);
        else
            buf_append_char(b, (char)*p);
    }
    buf_append_char(b, '"');
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
        append_json_string(&b, msg);
    } else {
        buf_printf(&b, "%s %-5s %s", ts, level_names[level], msg);
    }
    if (pairs) {
        const char *key;
        while ((key = va_arg(*pairs, const char *)) != NULL) {
            const char *val = va_arg(*pairs, const char *);
            if (!val)
                continue;
            if (log_json) {
                buf_append_char(&b, ',');
                append_json_string(&b, key);
                buf_append_char(&b, ':');
                append_json_string(&b, val);
            } else {
                buf_printf(&b, " %s=%s", key, val);
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
