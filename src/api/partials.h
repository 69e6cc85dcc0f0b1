/*
 * partials (API) — /v1/partials: the project's library of partials, named blocks that every
 * template's layout may use ({"type": "partial", "name": "letterhead"}), and the step that
 * copies the ones a layout uses into it when a template version is saved or previewed.
 * Threads: request handlers (any server thread). Memory: what a function takes is said at it.
 */
#ifndef CRAFTKIT_API_PARTIALS_H
#define CRAFTKIT_API_PARTIALS_H

#include <jansson.h>
#include <stdbool.h>

#include "http/http.h"

/* Library partials one version may carry (all it uses, transitively). */
#define PARTIALS_SNAPSHOT_MAX 64
/* Bytes of one partial's blocks as compact JSON. */
#define PARTIALS_BYTES_MAX (64 * 1024)

/* When body's "layout" (a block layout) uses library partials, directly or through other
 * library partials, replaces it with a copy whose "libraryPartials" holds them as the library
 * has them now (whatever "libraryPartials" the client sent is dropped): the version keeps them,
 * so renders never read the library. Names the layout's own "partials" define are its own.
 * false after answering (400 when it uses more than PARTIALS_SNAPSHOT_MAX, 503). */
bool partials_prepare_layout(http_req_t *req, json_t *body);

#endif
