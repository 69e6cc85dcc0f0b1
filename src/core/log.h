/*
 * log — one line per event on stderr, as text or JSON (CRAFTKIT_LOG_FORMAT=text|json).
 *
 * log_event() takes key/value pairs so request logs stay machine-readable:
 *   log_event(LOG_INFO, "request", "method", m, "path", p, NULL);
 * Whatever a client sent (paths, methods, ids) may end up in a line, so every string is
 * escaped: text lines turn control characters into \n, \r, \t or \xHH and bytes that are not
 * UTF-8 into \xHH, and quote values that have spaces, quotes, backslashes or '=' (so a value
 * can never add a line or a key); JSON lines are always valid JSON in valid UTF-8 (bytes that
 * are not UTF-8 become the text \xHH).
 * Threads: any; each line is written with a single fputs (stdio locks the stream).
 */
#ifndef CRAFTKIT_CORE_LOG_H
#define CRAFTKIT_CORE_LOG_H

#include <stdbool.h>

#include "core/buf.h"

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_set_json(bool json);
void log_set_level(log_level_t level);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg, then NULL-terminated key, value (both const char *) pairs. NULL values are skipped. */
void log_event(log_level_t level, const char *msg, ...) __attribute__((sentinel));

/* The escapers (exposed for tests). log_append_json appends s as a JSON string (quotes
 * included); log_append_text appends s escaped for a text line, in quotes when quote is set;
 * log_append_text_value quotes only when s needs it. They append with buf_put*: the caller
 * checks buf_error. */
void log_append_json(buf_t *b, const char *s);
void log_append_text(buf_t *b, const char *s, bool quote);
void log_append_text_value(buf_t *b, const char *s);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
