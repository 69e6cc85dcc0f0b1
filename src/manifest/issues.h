/*
 * issues — collects validation messages in the shape of Zod's flatten():
 *   {"formErrors":["…"],"fieldErrors":{"customer.name":["Required"],"items.3.qty":["…"]}}
 * Field keys are full dot paths; an empty path goes to formErrors.
 *
 * The number of distinct field paths is capped (max_paths). The first message that would need
 * one more path sets `truncated`, adds one formErrors note saying so, and from then on
 * issues_add() refuses everything, so callers can stop early: a payload with 10,000 bad rows
 * costs a bounded response and bounded time. Messages are truncated to ISSUES_MESSAGE_MAX.
 * Nothing is allocated until the first message, so the happy path costs nothing.
 *
 * Threads: an issues_t belongs to one thread. Memory: issues_take() hands the JSON to the
 * caller (json_decref it); issues_free() releases whatever was not taken.
 */
#ifndef CRAFTKIT_MANIFEST_ISSUES_H
#define CRAFTKIT_MANIFEST_ISSUES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define ISSUES_MESSAGE_MAX 512 /* bytes per message, including the NUL */
#define ISSUES_PER_PATH_MAX 10 /* messages kept per path */

typedef struct issues {
    json_t *form;   /* array, NULL until used */
    json_t *fields; /* object, NULL until used */
    size_t paths;   /* distinct field paths so far */
    size_t max_paths;
    bool truncated;
} issues_t;

void issues_init(issues_t *is, size_t max_paths);
void issues_free(issues_t *is);
/* Adds msg under path (NULL or "" → formErrors). Returns false once the collector is full. */
bool issues_add(issues_t *is, const char *path, const char *msg);
bool issues_addf(issues_t *is, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool issues_any(const issues_t *is);
bool issues_full(const issues_t *is);
/* {"formErrors":[...],"fieldErrors":{...}} (both always present); resets the collector. */
json_t *issues_take(issues_t *is);

/* Appends msg to fieldErrors[path] of an issues object already in that shape (one the caller
 * builds up itself, without the collector's caps). */
void issues_json_field(json_t *issues, const char *path, const char *msg);

#endif
