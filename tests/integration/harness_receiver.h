/*
 * receiver — a real HTTP/1.1 server on loopback for webhook tests: records every request
 * (path, raw headers with lowercase names, body) and answers each path with a scripted
 * sequence of status codes, optionally after a delay and with a body of its own. Keep-alive connections are served, one
 * thread per connection, so a slow answer on one connection holds up no other.
 * Threads: its own; the rx_* calls are safe from the test thread while it runs.
 * Memory: rx_get copies into the caller's rx_request_t, released with rx_request_free.
 */
#ifndef CRAFTKIT_TEST_HARNESS_RECEIVER_H
#define CRAFTKIT_TEST_HARNESS_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct receiver receiver_t;

typedef struct rx_request {
    char path[256];
    char *headers; /* "name: value\n" lines, names lowercased */
    char *body;
    size_t len;
} rx_request_t;

receiver_t *rx_start(void);
int rx_port(const receiver_t *rx);
/* Answers to path: statuses[0] first, then statuses[1], …, the last one from then on; each
 * after delay_ms. Paths without a script get 200. */
void rx_script(receiver_t *rx, const char *path, const int *statuses, int n, int delay_ms);
/* Adds a Location header to the answers of a scripted path (for redirects). */
void rx_script_location(receiver_t *rx, const char *path, const char *location);
/* Per-answer delays for a scripted path, replacing its single delay: delays_ms[0] before the
 * first answer, delays_ms[1] before the second, …, the last one from then on. */
void rx_script_delays(receiver_t *rx, const char *path, const int *delays_ms, int n);
/* The body of a scripted path's answers (copied), instead of "answer<status class>". */
void rx_script_body(receiver_t *rx, const char *path, const char *body);
int rx_count(receiver_t *rx, const char *path);
/* Waits until path has had at least n requests; false after timeout_ms. */
bool rx_wait_count(receiver_t *rx, const char *path, int n, int timeout_ms);
/* Copies request i (0-based) of path; false when there is none. */
bool rx_get(receiver_t *rx, const char *path, int i, rx_request_t *out);
void rx_request_free(rx_request_t *r);
/* A header of a copied request (name lowercase), or NULL; static storage until the next call. */
const char *rx_header(const rx_request_t *r, const char *name);
void rx_stop(receiver_t *rx);

#endif
