/*
 * common — helpers shared by the API handlers: body shape checks, issue lists in Zod's
 * flatten() shape, slugs, timestamps in SQL, paging cursors, uniform database errors and the
 * "one repository call, answered" shape of a handler (api_call_t).
 * Threads: any (pure, or the caller's request). Memory: what a function takes is said at it;
 * returned json_t references are new ones (the caller's).
 */
#ifndef CRAFTKIT_API_COMMON_H
#define CRAFTKIT_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/errmsg.h"
#include "http/http.h"

#define API_NAME_MAX 120

/* Requires the body to be a JSON object; answers 400 invalid_json (empty body) or
 * invalid_request (another JSON type) and returns NULL otherwise. */
json_t *api_body_object(http_req_t *req);
/* api_body_object, then a new *issues with its keys checked against allowed (api_check_keys):
 * the body, or NULL after answering (then *issues is NULL). */
json_t *api_body_keys(http_req_t *req, const char *const *allowed, json_t **issues);
/* Whether s is one of the NULL-terminated list. */
bool api_one_of(const char *s, const char *const *list);
/* Rejects keys of obj not in the NULL-terminated allowed list: adds "Unrecognized key(s) in
 * object: 'x'" to issues' formErrors. Returns true when all keys are known. */
bool api_check_keys(const json_t *obj, const char *const *allowed, json_t *issues);

/* Reports each key of an options object not in the NULL-terminated list under the field
 * "options" ("Unrecognized key(s) in object: 'x'"). */
void api_check_option_keys(const json_t *options, const char *const *allowed, json_t *issues);

/* {"formErrors":[],"fieldErrors":{}} */
json_t *api_issues_new(void);
void api_issue_field(json_t *issues, const char *path, const char *message);
void api_issue_form(json_t *issues, const char *message);
bool api_issues_empty(const json_t *issues);
/* Answers 400 invalid_request with issues (taken). */
void api_invalid_request(http_req_t *req, json_t *issues);
/* Takes issues: when any were collected answers 400 invalid_request and returns true,
 * otherwise frees them and returns false (the handler goes on). */
bool api_reject_issues(http_req_t *req, json_t *issues);

/* Optional string field: absent → true, *out NULL; wrong type or length → issue, false. */
bool api_opt_string(const json_t *obj, const char *key, size_t min_len, size_t max_len, const char **out,
                    json_t *issues);

/* options.filename of a render or batch (absent or null: NULL): the download name if storage
 * accepts it, else NULL with an issue at "options.filename". */
const char *api_filename_option(const json_t *options, json_t *issues);

/* A JSON string of s, or null when s is NULL or empty. */
json_t *api_str_or_null(const char *s);

/* This thread's database connection, or NULL after answering 503 database_unavailable. */
struct db;
struct db *api_db(http_req_t *req);
/* For a handler that goes on after a repository read: true for REPO_OK; otherwise answers 404
 * not_found_code with not_found_msg (REPO_NOT_FOUND) or 503 (any other status, err logged) and
 * returns false. */
bool api_found(http_req_t *req, int st, const char *err, const char *not_found_code,
               const char *not_found_msg);
/* Answers a repository result: ok_status with out (taken), or as api_found does.
 * Callers map REPO_CONFLICT themselves before calling (it is answered as 503 here). */
void api_answer(http_req_t *req, int st, int ok_status, json_t *out, const char *err,
                const char *not_found_code, const char *not_found_msg);
/* 503 queue_unavailable (Retry-After: 1, counted in craftkit_queue_unavailable_total): a
 * submission created nothing because the render queue refused it; the caller logs why. */
void api_queue_unavailable(http_req_t *req);
/* 503 database_unavailable / 500 internal_error with a logged cause. */
void api_db_error(http_req_t *req, const char *err);
/* Test-key permissions (docs/api.md "Test keys"): true for a live key; for a test key answers
 * 403 live_key_required ("<what> needs a live key") and returns false. */
bool api_require_live_key(http_req_t *req, const char *what);
/* Answers 400 invalid_request ("The request body is not valid; see issues") with the single
 * issue msg at fieldErrors[path]. */
void api_reject_field(http_req_t *req, const char *path, const char *msg);
/* Answers 400 invalid_request with msg as the message and at fieldErrors[param]. */
void api_bad_query(http_req_t *req, const char *param, const char *msg);
/* Page size from ?limit= (default def, 1..max) or answers 400 and returns -1. */
int api_limit(http_req_t *req, int def, int max);
/* ?limit= (as api_limit) and ?cursor= (absent, or a UUID: a previous page's nextCursor) of an
 * id-paged list. true, or false after answering 400 invalid_request. */
bool api_page(http_req_t *req, int def, int max, int *limit, const char **cursor);

/* {"<key>": list (taken), "nextCursor": last_id when more (else null), "hasMore": more}: one
 * page of an id-paged list. last_id is the id of the page's last item (NULL for an empty page). */
json_t *api_list_page(const char *key, json_t *list, bool more, const char *last_id);

/* ---- one repository call, answered ----
 * Most handlers take this thread's database, make one repository call with an out object and
 * an error buffer, and answer its status:
 *     api_call_t c;
 *     if (api_call_db(req, &c))
 *         api_call_answer(req, &c, thing_get(c.db, id, &c.out, c.err, sizeof c.err), 200, code, msg);
 * The call lives on the handler's stack (the request's thread); api_call_answer takes c.out. */
typedef struct api_call {
    struct db *db;      /* this thread's connection */
    json_t *out;        /* the repository's result, NULL until it sets one */
    int limit;          /* api_call_page: the page size */
    const char *cursor; /* api_call_page: ?cursor= (the request's), or NULL */
    char err[ERRMSG_LEN];
} api_call_t;

/* Starts c with this thread's database: true, or false after answering 503. */
bool api_call_db(http_req_t *req, api_call_t *c);
/* Takes issues: answers 400 with them when there are any (api_reject_issues), else starts c as
 * api_call_db does. true when the handler goes on. */
bool api_call_checked(http_req_t *req, json_t *issues, api_call_t *c);
/* Reads ?limit= and ?cursor= (api_page) into c, then starts it as api_call_db does. true when
 * the handler goes on, false after answering 400 or 503. */
bool api_call_page(http_req_t *req, int def, int max, api_call_t *c);
/* Answers the call's repository status st as api_answer does: ok_status with c->out (taken),
 * 404 not_found_code/not_found_msg, or 503 with c->err logged. */
void api_call_answer(http_req_t *req, api_call_t *c, int st, int ok_status, const char *not_found_code,
                     const char *not_found_msg);

/* Answers a list call: 200 with page (taken) when st is REPO_OK, else 503 with c->err logged
 * (page freed). */
void api_call_list(http_req_t *req, api_call_t *c, int st, json_t *page);

/* A signed link (storage_download_url) to the stored file key, downloaded as filename; null
 * when no store can sign it (logged as "<what> <id>: cannot sign a download URL"). */
json_t *api_download_url(const char *key, const char *filename, const char *what, const char *id);

/* GET .../download of a stored file (a render's PDF, a batch's merged output): local storage
 * streams it from the fd; from S3 the object is spooled to an unlinked temporary file (at most
 * API_DOWNLOAD_MAX bytes) and sent from there, so memory stays flat whatever its size. Sends
 * Content-Disposition (filename), ETag (etag, quoted) and content_type; 410 file_gone
 * (gone_msg) when the object is missing, 503 when the store is down. what names the file in
 * logs ("render <id>"). */
#define API_DOWNLOAD_MAX ((size_t)2 << 30)
void api_send_stored(http_req_t *req, const char *key, const char *filename, const char *content_type,
                     const char *etag, const char *what, const char *gone_msg);

#endif
