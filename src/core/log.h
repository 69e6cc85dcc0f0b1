/*
 * log — one line per event on stderr, as text or JSON (CRAFTKIT_LOG_FORMAT=text|json).
 *
 * log_event() takes key/value pairs so request logs stay machine-readable:
 *   log_event(LOG_INFO, "request", "method", m, "path", p, NULL);
 * Threads: any; each line is written with a single fputs (stdio locks the stream).
 */
#ifndef CRAFTKIT_CORE_LOG_H
#define CRAFTKIT_CORE_LOG_H

#include <stdbool.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_set_json(bool json);
void log_set_level(log_level_t level);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* msg, then NULL-terminated key, value (both const char *) pairs. NULL values are skipped. */
void log_event(log_level_t level, const char *msg, ...) __attribute__((sentinel));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
