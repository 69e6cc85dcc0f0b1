#include "core/metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_NAME_MAX 96
#define METRICS_LABELS_MAX 256

static const double bucket_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                       0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

typedef enum { SERIES_COUNTER, SERIES_GAUGE, SERIES_HISTOGRAM } series_kind_t;

typedef struct series {
    series_kind_t kind;
    char name[METRICS_NAME_MAX];
    char labels[METRICS_LABELS_MAX];
    double value;        /* counter / gauge; histogram sum */
    unsigned long count; /* histogram */
    unsigned long buckets[N_BUCKETS];
} series_t;

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static series_t series[METRICS_MAX_SERIES];
static int n_series;

/* Finds or creates a series; NULL when the table is full (the observation is dropped). */
static series_t *lookup(series_kind_t kind, const char *name, const char *labels)
{
    for (int i = 0; i < n_series; i++)
        if (series[i].kind == kind && !strcmp(series[i].name, name) && !strcmp(series[i].labels, labels))
            return &series[i];
    if (n_series >= METRICS_MAX_SERIES)
        return NULL;
    series_t *s = &series[n_series++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->labels, sizeof s->labels, "%s", labels ? labels : "");
    return s;
}

void metrics_counter_add(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&metrics_mu);
    series_t *s = lookup(SERIES_COUNTER, name, labels ? labels : "");
    if (s)
        s->value += value;
    pthread_mutex_unlock(&metrics_mu);
}

void metrics_gauge_set(const char *name, const char *labels, double value)
{
    pthread_mutex_lock(&metrics_mu);
    series_t *s = lookup(SERIES_GAUGE, name, labels ? labels : "");
    if (s)
        s->value = value;
    pthread_mutex_unlock(&metrics_mu);
}

void metrics_histogram_observe(const char *name, const char *labels, double seconds)
{
    pthread_mutex_lock(&metrics_mu);
    series_t *s = lookup(SERIES_HISTOGRAM, name, labels ? labels : "");
    if (s) {
        s->count++;
        s->value += seconds;
        for (size_t i = 0; i < N_BUCKETS; i++)
            if (seconds <= bucket_bounds[i])
                s->buckets[i]++;
    }
    pthread_mutex_unlock(&metrics_mu);
}

/* The method label: the standard methods by name, anything else "other",
 * so that clients cannot add series (the route is a pattern or "unmatched" already). */
static const char *method_label(const char *method)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(method, known[i]))
            return known[i];
    return "other";
}

void metrics_http_observe(const char *method, const char *route, int status, double seconds)
{
    char labels[METRICS_LABELS_MAX];
    method = method_label(method);
    if (status < 100 || status > 599)
        status = 0;
    snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",status=\"%d\"", method, route, status);
    metrics_counter_add("craftkit_http_requests_total", labels, 1);
    snprintf(labels, sizeof labels, "route=\"%s\"", route);
    metrics_histogram_observe("craftkit_http_request_duration_seconds", labels, seconds);
}

static void render_one(buf_t *out, const series_t *s)
{
    const char *sep = s->labels[0] ? "," : "";
    if (s->kind != SERIES_HISTOGRAM) {
        if (s->labels[0])
            buf_putf(out, "%s{%s} %.17g\n", s->name, s->labels, s->value);
        else
            buf_putf(out, "%s %.17g\n", s->name, s->value);
        return;
    }
    for (size_t i = 0; i < N_BUCKETS; i++)
        buf_putf(out, "%s_bucket{%s%sle=\"%g\"} %lu\n", s->name, s->labels, sep, bucket_bounds[i],
                 s->buckets[i]);
    buf_putf(out, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", s->name, s->labels, sep, s->count);
    buf_putf(out, "%s_sum{%s} %.17g\n%s_count{%s} %lu\n", s->name, s->labels, s->value, s->name, s->labels,
             s->count);
}

void metrics_render(buf_t *out)
{
    static const char *const kind_names[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&metrics_mu);
    for (int i = 0; i < n_series; i++) {
        /* TYPE line once per metric name, before its first series */
        bool first = true;
        for (int j = 0; j < i; j++)
            if (!strcmp(series[j].name, series[i].name))
                first = false;
        if (!first)
            continue;
        buf_putf(out, "# TYPE %s %s\n", series[i].name, kind_names[series[i].kind]);
        for (int j = i; j < n_series; j++)
            if (!strcmp(series[j].name, series[i].name))
                render_one(out, &series[j]);
    }
    pthread_mutex_unlock(&metrics_mu);
}
