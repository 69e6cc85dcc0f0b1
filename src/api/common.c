#include "api/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/uuid7.h"
#include "manifest/issues.h"
#include "db/db.h"
#include "db/projects_repo.h"
#include "core/errmsg.h"
#include "storage/download.h"
#include "storage/storage.h"

json_t *api_body_object(http_req_t *req)
{
    if (!req->json) {
        http_error(req, 400, "invalid_json",
                   "The request body is empty; send a JSON object with Content-Type: application/json", NULL);
        return NULL;
    }
    if (!json_is_object(req->json)) {
        json_t *issues = api_issues_new();
        api_issue_form(issues, "Expected object");
        api_invalid_request(req, issues);
        return NULL;
    }
    return req->json;
}

json_t *api_body_keys(http_req_t *req, const char *const *allowed, json_t **issues)
{
    json_t *body = api_body_object(req);
    *issues = NULL;
    if (!body)
        return NULL;
    *issues = api_issues_new();
    api_check_keys(body, allowed, *issues);
    return body;
}

bool api_one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

bool api_check_keys(const json_t *obj, const char *const *allowed, json_t *issues)
{
    buf_t b;
    buf_init(&b, 4096);
    const char *key;
    json_t *v;
    int unknown = 0;
    bool cut = false; /* the list passed the buffer's cap: it ends with "…" */
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!api_one_of(key, allowed)) {
            if (!cut && buf_printf(&b, "%s'%.100s'", unknown ? ", " : "", key) != BUF_OK)
                cut = true;
            unknown++;
        }
    }
    if (unknown) {
        char msg[4200];
        snprintf(msg, sizeof msg, "Unrecognized key(s) in object: %s%s", buf_cstr(&b), cut ? ", …" : "");
        api_issue_form(issues, msg);
    }
    buf_free(&b);
    return unknown == 0;
}

void api_check_option_keys(const json_t *options, const char *const *allowed, json_t *issues)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)options, key, v)
    {
        if (!api_one_of(key, allowed)) {
            char msg[200];
            snprintf(msg, sizeof msg, "Unrecognized key(s) in object: '%.100s'", key);
            api_issue_field(issues, "options", msg);
        }
    }
}

json_t *api_issues_new(void)
{
    return json_pack("{s:[], s:{}}", "formErrors", "fieldErrors");
}

void api_issue_field(json_t *issues, const char *path, const char *message)
{
    issues_json_field(issues, path, message);
}

void api_issue_form(json_t *issues, const char *message)
{
    json_array_append_new(json_object_get(issues, "formErrors"), json_string(message));
}

bool api_issues_empty(const json_t *issues)
{
    return json_array_size(json_object_get(issues, "formErrors")) == 0 &&
           json_object_size(json_object_get(issues, "fieldErrors")) == 0;
}

void api_invalid_request(http_req_t *req, json_t *issues)
{
    http_error(req, 400, "invalid_request", "The request body is not valid; see issues", issues);
}

bool api_reject_issues(http_req_t *req, json_t *issues)
{
    if (api_issues_empty(issues)) {
        json_decref(issues);
        return false;
    }
    api_invalid_request(req, issues);
    return true;
}

bool api_opt_string(const json_t *obj, const char *key, size_t min_len, size_t max_len, const char **out,
                    json_t *issues)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return true;
    if (!json_is_string(v)) {
        api_issue_field(issues, key, "Expected string");
        return false;
    }
    size_t n = json_string_length(v);
    char msg[96];
    if (n < min_len) {
        snprintf(msg, sizeof msg, "String must contain at least %zu character(s)", min_len);
        api_issue_field(issues, key, msg);
        return false;
    }
    if (n > max_len) {
        snprintf(msg, sizeof msg, "String must contain at most %zu character(s)", max_len);
        api_issue_field(issues, key, msg);
        return false;
    }
    if (strlen(json_string_value(v)) != n) {
        api_issue_field(issues, key, "String must not contain NUL characters");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

const char *api_filename_option(const json_t *options, json_t *issues)
{
    json_t *filename = json_object_get(options, "filename");
    if (!filename || json_is_null(filename))
        return NULL;
    const char *problem = json_is_string(filename) ? storage_filename_problem(json_string_value(filename),
                                                                              json_string_length(filename))
                                                   : "Expected string";
    if (problem)
        api_issue_field(issues, "options.filename", problem);
    return problem ? NULL : json_string_value(filename);
}

json_t *api_str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

bool api_found(http_req_t *req, int st, const char *err, const char *not_found_code,
               const char *not_found_msg)
{
    if (st == REPO_NOT_FOUND)
        http_error(req, 404, not_found_code, not_found_msg, NULL);
    else if (st != REPO_OK)
        api_db_error(req, err);
    return st == REPO_OK;
}

void api_answer(http_req_t *req, int st, int ok_status, json_t *out, const char *err,
                const char *not_found_code, const char *not_found_msg)
{
    if (api_found(req, st, err, not_found_code, not_found_msg))
        http_respond_json(req, ok_status, out);
    else
        json_decref(out);
}

db_t *api_db(http_req_t *req)
{
    db_t *db = db_thread();
    if (!db)
        api_db_error(req, "no connection");
    return db;
}

bool api_require_live_key(http_req_t *req, const char *what)
{
    if (!req->auth.test)
        return true;
    char msg[256];
    snprintf(msg, sizeof msg,
             "%s needs a live key (ck_live_…); test keys cannot change what live traffic uses", what);
    http_error(req, 403, "live_key_required", msg, NULL);
    return false;
}

void api_queue_unavailable(http_req_t *req)
{
    metrics_counter_add("craftkit_queue_unavailable_total", NULL, 1);
    http_add_header(req, "Retry-After", "1");
    http_error(req, 503, "queue_unavailable",
               "The render queue is unavailable and nothing was created; retry shortly (with the same "
               "Idempotency-Key)",
               NULL);
}

void api_db_error(http_req_t *req, const char *err)
{
    log_error("database error: %s (request %s)", err, req->request_id);
    http_error(req, 503, "database_unavailable", "The database is unavailable; retry shortly", NULL);
}

int api_limit(http_req_t *req, int def, int max)
{
    const char *s = http_query(req, "limit");
    if (!s)
        return def;
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end || n < 1 || n > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "limit must be an integer from 1 to %d", max);
        api_bad_query(req, "limit", msg);
        return -1;
    }
    return (int)n;
}

bool api_page(http_req_t *req, int def, int max, int *limit, const char **cursor)
{
    if ((*limit = api_limit(req, def, max)) < 0)
        return false;
    *cursor = http_query(req, "cursor");
    if (*cursor && !uuid_valid(*cursor)) {
        api_bad_query(req, "cursor", "cursor must be the nextCursor of a previous page");
        return false;
    }
    return true;
}

void api_reject_field(http_req_t *req, const char *path, const char *msg)
{
    json_t *issues = api_issues_new();
    api_issue_field(issues, path, msg);
    api_invalid_request(req, issues);
}

json_t *api_list_page(const char *key, json_t *list, bool more, const char *last_id)
{
    return json_pack("{s:o, s:o, s:b}", key, list, "nextCursor",
                     more && last_id ? json_string(last_id) : json_null(), "hasMore", more);
}

bool api_call_db(http_req_t *req, api_call_t *c)
{
    *c = (api_call_t){.db = api_db(req)};
    return c->db != NULL;
}

bool api_call_checked(http_req_t *req, json_t *issues, api_call_t *c)
{
    return !api_reject_issues(req, issues) && api_call_db(req, c);
}

bool api_call_page(http_req_t *req, int def, int max, api_call_t *c)
{
    int limit;
    const char *cursor;
    if (!api_page(req, def, max, &limit, &cursor) || !api_call_db(req, c))
        return false;
    c->limit = limit;
    c->cursor = cursor;
    return true;
}

void api_call_answer(http_req_t *req, api_call_t *c, int st, int ok_status, const char *not_found_code,
                     const char *not_found_msg)
{
    api_answer(req, st, ok_status, c->out, c->err, not_found_code, not_found_msg);
    c->out = NULL;
}

void api_call_list(http_req_t *req, api_call_t *c, int st, json_t *page)
{
    if (st == REPO_OK) {
        http_respond_json(req, 200, page);
        return;
    }
    json_decref(page);
    api_db_error(req, c->err);
}

json_t *api_download_url(const char *key, const char *filename, const char *what, const char *id)
{
    storage_t *s = storage_thread();
    char *url = NULL, err[ERRMSG_LEN];
    if (!s || storage_download_url(s, key, filename, 0, &url, err, sizeof err) != 0) {
        log_error("%s %s: cannot sign a download URL: %s", what, id, s ? err : "no storage backend");
        return json_null();
    }
    json_t *v = json_string(url);
    free(url);
    return v;
}

void api_bad_query(http_req_t *req, const char *param, const char *msg)
{
    json_t *issues = api_issues_new();
    api_issue_field(issues, param, msg);
    http_error(req, 400, "invalid_request", msg, issues);
}

/* ---- downloads ---- */

/* 410 when the stored file is gone (deleted by retention), 503 when the store is down. */
static void stored_error(http_req_t *req, const char *what, int rc, const char *err, const char *gone_msg)
{
    log_error("%s: cannot read its file: %s", what, err);
    if (rc == STORAGE_NOT_FOUND)
        http_error(req, 410, "file_gone", gone_msg, NULL);
    else
        http_error(req, 503, "storage_unavailable", "The file store is unavailable; retry shortly", NULL);
}

/* An anonymous read-write file in $TMPDIR (else /tmp), or -1 + err. */
static int open_spool(char *err, size_t err_len)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/craftkit-download-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return errmsg_fail(err, err_len, "cannot create a temporary file in %s: %s", dir, strerror(errno));
    unlink(path);
    return fd;
}

void api_send_stored(http_req_t *req, const char *key, const char *filename, const char *content_type,
                     const char *etag, const char *what, const char *gone_msg)
{
    storage_t *s = storage_thread();
    if (!s) {
        http_error(req, 503, "storage_unavailable", "The file store is unavailable; retry shortly", NULL);
        return;
    }
    char disposition[DOWNLOAD_DISPOSITION_MAX], err[ERRMSG_LEN];
    download_content_disposition(filename, disposition, sizeof disposition);
    if (storage_kind(s) == STORAGE_LOCAL) {
        int fd = -1;
        struct stat sb;
        int rc = storage_local_open(s, key, &fd, &sb, err, sizeof err);
        if (rc != 0) {
            stored_error(req, what, rc, err, gone_msg);
            return;
        }
        http_add_header(req, "Content-Disposition", disposition);
        http_add_header(req, "ETag", etag);
        http_respond_fd(req, 200, content_type, fd, 0, (uint64_t)sb.st_size);
        return;
    }
    /* From S3 the object is copied to an unlinked temporary file and sent from there like a
     * local one: memory stays flat whatever the file's size, and the file is gone once MHD
     * closes it. */
    int fd = open_spool(err, sizeof err);
    if (fd < 0) {
        log_error("download %s: %s", what, err);
        http_error(req, 503, "storage_unavailable", "The file could not be read from storage; retry shortly",
                   NULL);
        return;
    }
    size_t len = 0;
    int rc = storage_get_fd(s, key, fd, API_DOWNLOAD_MAX, &len, err, sizeof err);
    if (rc != 0) {
        close(fd);
        stored_error(req, what, rc, err, gone_msg);
        return;
    }
    http_add_header(req, "Content-Disposition", disposition);
    http_add_header(req, "ETag", etag);
    http_respond_fd(req, 200, content_type, fd, 0, (uint64_t)len);
}
