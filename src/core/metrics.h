/*
 * metrics — process-wide counters and histograms, rendered as Prometheus text at /metrics.
 *
 * Threads: every function is safe from any thread (one mutex; observations are cheap).
 * Other subsystems add their own series with metrics_counter_add / metrics_gauge_set.
 */
#ifndef CRAFTKIT_CORE_METRICS_H
#define CRAFTKIT_CORE_METRICS_H

#include "core/buf.h"

#define METRICS_MAX_SERIES 512

/* Records one HTTP request (route = the matched pattern or "unmatched"). */
void metrics_http_observe(const char *method, const char *route, int status, double seconds);
/* Adds to a counter; name and labels (e.g. "status=\"succeeded\"") are copied on first use. */
void metrics_counter_add(const char *name, const char *labels, double value);
/* Sets a gauge. */
void metrics_gauge_set(const char *name, const char *labels, double value);
/* Records a duration for a histogram with the default buckets. */
void metrics_histogram_observe(const char *name, const char *labels, double seconds);
/* Appends the Prometheus text exposition of everything to out (buf_put*: the caller checks
 * buf_error before it serves the text). */
void metrics_render(buf_t *out);

#endif
