/*
 * renders (API) — POST /v1/templates/:slug/render, GET /v1/renders[/:id[/download]], and the
 * submission path shared with inbound hooks (POST /v1/hooks/:token).
 *
 * A submission is: (idempotent replay? then no rate-limit token) → rate limit → resolve
 * template and version → validate → (replay: compare the hash of the normalised request) → in one transaction insert the render row and LPUSH its id (the transaction rolls
 * back when Redis refuses, so a 503 leaves nothing behind) → 202, or with options.sync park
 * the request (api/syncwait.h) until the render is terminal or the deadline passes.
 * Threads: MHD pool threads. Memory: everything belongs to the request.
 */
#ifndef CRAFTKIT_API_RENDERS_H
#define CRAFTKIT_API_RENDERS_H

#include <jansson.h>
#include <stdbool.h>

#include "db/renders_repo.h"
#include "db/templates_repo.h"
#include "http/http.h"
#include "worker/compiled.h"

/* One render request, after the caller has checked the body's shape. */
typedef struct render_submission {
    const char *slug;     /* template slug (also in the idempotency hash) */
    const tpl_row_t *tpl; /* known template (hooks), or NULL to look the slug up */
    const json_t *data;   /* the data object as sent */
    int version_number;   /* 0 = the current published version */
    bool sync;
    const char *filename; /* options.filename as sent, or NULL */
    bool strict;
    const json_t *options;       /* options as sent: pdfa, attachments, facturx are read from it */
    const char *idempotency_key; /* NULL: none */
    const char *job_id;          /* body jobId as sent (echoed), or NULL */
    const char *source;          /* "api" | "hook" */
    bool minimal_answer;         /* hooks: answer {id,status,pollUrl} only */
} render_submission_t;

/* Takes a token from the project's bucket and adds the RateLimit-* headers. Returns true when
 * the request may go on; otherwise it has answered 429 rate_limited with Retry-After. Fails open
 * (true, no headers) when Redis cannot be asked. */
bool api_rate_limit(http_req_t *req);
/* The Idempotency-Key header (1-200 characters), else fallback (a body jobId, or NULL), into
 * *out. false after answering 400 invalid_request. */
bool api_idempotency_key(http_req_t *req, const char *fallback, const char **out);
/* Runs a submission to its answer (202/200, or an error; or parks it for sync). */
void api_render_submit(http_req_t *req, const render_submission_t *sub);
/* For handlers that submit: when req is a resumed sync request, finishes it (answers or parks
 * again) and returns true; the handler then returns at once. */
bool api_render_resumed(http_req_t *req);
/* Checks one render's data against a compiled version (manifest, then the e-invoice a
 * template generates unless options bring their own): NULL with *normalised (caller decrefs)
 * and the download name (options' filename, the version's filename template, or "<id>.pdf")
 * in name_out; or the message of a 400 invalid_input_data with *issues (flatten shape, data
 * paths; caller decrefs). Shared by single renders and the items of a batch. */
const char *api_render_check_data(const compiled_t *c, const json_t *data, const json_t *options, bool strict,
                                  const char *filename, const char *id, json_t **normalised, json_t **issues,
                                  char *name_out, size_t name_len);
/* {id, status, templateId, templateSlug, versionNumber, test}: what the render object and the
 * batch object begin with, in this order. New reference. */
json_t *api_job_json(const char *id, const char *status, const char *template_id, const char *template_slug,
                     int version_number, bool test);
/* The render object (docs/api.md, "The render object"), with absolute pollUrl and a fresh downloadUrl. New reference. */
json_t *api_render_json(const render_row_t *row);

void api_renders_routes(void);

#endif
