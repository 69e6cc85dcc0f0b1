/* /v1/assets: a project's brand assets (fonts, images and the PDFs of pdf-overlay templates) — upload, list, read, delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/common.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "db/assets_repo.h"
#include "engine/fontprobe.h"
#include "engine/image.h"
#include "http/multipart.h"
#include "http/router.h"
#include "pdf/pdfdoc.h"
#include "storage/storage.h"
#include "worker/overlay.h"

#define ASSET_NOT_FOUND_MSG "No asset with that id in this project"
#define ASSETS_MULTIPART_OVERHEAD (64u << 10) /* headers and boundaries around the file */
#define ASSETS_DEFAULT_FONT_MAX (20u << 20)
#define ASSETS_DEFAULT_IMAGE_MAX (10u << 20)
#define ASSETS_DEFAULT_PDF_MAX (20u << 20)

static const char *const accepted_types[] = {"font/ttf",      "font/otf",        "font/woff",
                                             "font/woff2",    "image/png",       "image/jpeg",
                                             "image/svg+xml", "application/pdf", NULL};

static size_t font_max(void)
{
    return config_get() ? config_get()->asset_font_max_bytes : ASSETS_DEFAULT_FONT_MAX;
}

static size_t image_max(void)
{
    return config_get() ? config_get()->asset_image_max_bytes : ASSETS_DEFAULT_IMAGE_MAX;
}

static size_t pdf_max(void)
{
    return config_get() ? config_get()->asset_pdf_max_bytes : ASSETS_DEFAULT_PDF_MAX;
}

/* The same rule as the engine's asset:NAME: letters, digits, '.', '_', '-', ' '; no leading
 * '.' or blank, no trailing blank. NULL when fine, else why not. */
static const char *name_problem(const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return "The name is empty";
    if (n > ASSETS_NAME_MAX)
        return "The name is longer than 120 characters";
    if (name[0] == '.' || name[0] == ' ' || name[n - 1] == ' ')
        return "The name may not start with '.' or a blank, nor end with a blank";
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-' || c == ' '))
            return "The name may only contain letters, digits, '.', '_', '-' and blanks (no '/')";
    }
    return NULL;
}

static void bad_name(http_req_t *req, const char *problem)
{
    json_t *issues = api_issues_new();
    api_issue_field(issues, "name", problem);
    http_error(req, 400, "invalid_request", problem, issues);
}

static bool media_type_accepted(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    for (int i = 0; accepted_types[i]; i++)
        if (strlen(accepted_types[i]) == n && !strncasecmp(ct, accepted_types[i], n))
            return true;
    return false;
}

typedef struct upload {
    const unsigned char *data;
    size_t len;
    char name[ASSETS_NAME_MAX + 2];
} upload_t;

/* The file and its name from a multipart/form-data body: one part "file" (a file), an optional
 * text part "name"; the file's own name is the default. false after answering. */
static bool read_multipart(http_req_t *req, const char *ct, upload_t *up)
{
    multipart_part_t parts[MULTIPART_MAX_PARTS];
    int n = 0;
    char err[ERRMSG_LEN];
    if (multipart_parse(ct, req->body.data ? req->body.data : "", req->body.len, parts, MULTIPART_MAX_PARTS,
                        &n, err, sizeof err) != 0) {
        http_error(req, 400, "invalid_multipart", err, NULL);
        return false;
    }
    const multipart_part_t *file = NULL, *name = NULL;
    int files = 0;
    for (int i = 0; i < n; i++) {
        if (parts[i].has_filename)
            files++;
        if (!strcmp(parts[i].name, "file"))
            file = &parts[i];
        else if (!strcmp(parts[i].name, "name") && !parts[i].has_filename)
            name = &parts[i];
        else {
            errmsg_fail(err, sizeof err,
                        "Unknown part \"%.100s\": send one part \"file\" and optionally \"name\"",
                        parts[i].name);
            http_error(req, 400, "invalid_multipart", err, NULL);
            return false;
        }
    }
    if (files > 1 || (file && !file->has_filename)) {
        http_error(req, 400, "invalid_multipart",
                   files > 1 ? "The body holds more than one file; upload one file per request"
                             : "The part \"file\" must be a file (with a filename)",
                   NULL);
        return false;
    }
    if (!file) {
        http_error(req, 400, "invalid_multipart", "The body has no part named \"file\"", NULL);
        return false;
    }
    up->data = (const unsigned char *)file->data;
    up->len = file->len;
    if (name) {
        if (name->len > ASSETS_NAME_MAX) {
            bad_name(req, "The name is longer than 120 characters");
            return false;
        }
        memcpy(up->name, name->data, name->len);
        up->name[name->len] = '\0';
        if (strlen(up->name) != name->len) {
            bad_name(req, "The name may only contain letters, digits, '.', '_', '-' and blanks (no '/')");
            return false;
        }
    } else {
        size_t fl = strlen(file->filename);
        if (fl > ASSETS_NAME_MAX) {
            bad_name(req, "The name is longer than 120 characters");
            return false;
        }
        memcpy(up->name, file->filename, fl + 1);
    }
    return true;
}

/* true when the upload has at most max bytes; else false after answering 413 asset_too_large
 * ("The <what> has N bytes, more than the limit of M bytes<suffix>"). */
static bool within_limit(http_req_t *req, const upload_t *up, size_t max, const char *what,
                         const char *suffix)
{
    if (up->len <= max)
        return true;
    char msg[200];
    snprintf(msg, sizeof msg, "The %s has %zu bytes, more than the limit of %zu bytes%s", what, up->len, max,
             suffix);
    http_error(req, 413, "asset_too_large", msg, NULL);
    return false;
}

/* A PDF (the base of pdf-overlay templates): checked with libqpdf against damage, passwords and
 * bombs (pdf/pdfdoc.h) and described by its pages and form fields. false after answering. */
static bool describe_pdf(http_req_t *req, const upload_t *up, json_t **meta)
{
    char err[ERRMSG_LEN], msg[ERRMSG_LEN + 32]; /* msg: a short prefix and err */
    if (!within_limit(req, up, pdf_max(), "PDF", ""))
        return false;
    pdfdoc_info_t info;
    if (pdfdoc_check(up->data, up->len, &info, NULL, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "The PDF %s", err);
        http_error(req, 400, "invalid_asset", msg, NULL);
        return false;
    }
    *meta = json_pack("{s:i, s:f, s:f, s:i, s:i, s:b, s:s}", "pages", info.pages, "width", info.width,
                      "height", info.height, "rotate", info.rotate, "formFields", info.form_fields,
                      "encrypted", info.encrypted, "version", info.version);
    return *meta != NULL;
}

/* Sniffs and describes the bytes; fills kind, media type and meta, or answers. */
static bool describe(http_req_t *req, const upload_t *up, const char **kind, const char **media_type,
                     json_t **meta)
{
    char err[ERRMSG_LEN], msg[ERRMSG_LEN + 32]; /* msg: a short prefix and err */
    if (fontprobe_is_font(up->data, up->len)) {
        *kind = "font";
        if (!within_limit(req, up, font_max(), "font", ""))
            return false;
        fontprobe_t fp;
        if (fontprobe(up->data, up->len, font_max(), &fp, err, sizeof err) != 0) {
            http_error(req, 400, "invalid_asset", err, NULL);
            return false;
        }
        *media_type = fp.media_type;
        *meta =
            json_pack("{s:s, s:s, s:i, s:s, s:b, s:I}", "family", fp.family, "style", fp.style, "weight",
                      fp.weight, "stretch", fp.stretch, "italic", fp.italic, "glyphs", (json_int_t)fp.glyphs);
        return *meta != NULL;
    }
    if (pdfdoc_sniff(up->data, up->len)) {
        *kind = "pdf";
        *media_type = "application/pdf";
        return describe_pdf(req, up, meta);
    }
    *kind = "image";
    if (!within_limit(req, up, image_max(), "file", " for an image"))
        return false;
    double w = 0, h = 0;
    if (image_probe(up->data, up->len, media_type, &w, &h, err, sizeof err) != 0) {
        if (!strcmp(err, "is not a PNG, JPEG or SVG image"))
            snprintf(msg, sizeof msg,
                     "The file is neither a font (TrueType, OpenType, WOFF, WOFF2), an image (PNG, JPEG, "
                     "SVG) nor a PDF");
        else
            snprintf(msg, sizeof msg, "The image %s", err);
        http_error(req, 400, "invalid_asset", msg, NULL);
        return false;
    }
    *meta = json_pack("{s:f, s:f}", "width", w, "height", h);
    return *meta != NULL;
}

/* Removes objects the project no longer needs (interrupted uploads, deleted or unused
 * replaced assets). Best effort: what fails now is tried again next time. */
static void collect(db_t *db, const char *project_id)
{
    char ids[ASSETS_COLLECT_MAX][37], keys[ASSETS_COLLECT_MAX][ASSETS_KEY_MAX], err[ERRMSG_LEN];
    int n = assets_collect(db, project_id, ids, keys, ASSETS_COLLECT_MAX, err, sizeof err);
    if (n < 0) {
        log_warn("assets: cannot list objects to remove: %s", err);
        return;
    }
    storage_t *st = n ? storage_thread() : NULL;
    for (int i = 0; i < n && st; i++) {
        if (storage_delete(st, keys[i], err, sizeof err) != 0) {
            log_warn("assets: cannot remove %s (tried again later): %s", keys[i], err);
            continue;
        }
        if (assets_collected(db, ids[i], err, sizeof err) != 0)
            log_warn("assets: %s removed, row not updated: %s", keys[i], err);
    }
}

static void create_asset(http_req_t *req)
{
    const char *ct = http_header(req, "Content-Type");
    upload_t up = {0};
    if (multipart_is_form_data(ct)) {
        if (!read_multipart(req, ct, &up))
            return;
    } else if (media_type_accepted(ct)) {
        up.data = (const unsigned char *)req->body.data;
        up.len = req->body.len;
        const char *q = http_query(req, "name");
        if (!q) {
            bad_name(req, "Give the asset a name with ?name= (or upload it as multipart/form-data)");
            return;
        }
        if (strlen(q) > ASSETS_NAME_MAX) {
            bad_name(req, "The name is longer than 120 characters");
            return;
        }
        snprintf(up.name, sizeof up.name, "%s", q);
    } else {
        http_error(
            req, 415, "unsupported_media_type",
            "Send the file as multipart/form-data (part \"file\") or as the raw body with Content-Type "
            "font/ttf, font/otf, font/woff, font/woff2, image/png, image/jpeg, image/svg+xml or "
            "application/pdf",
            NULL);
        return;
    }
    const char *problem = name_problem(up.name);
    if (problem) {
        bad_name(req, problem);
        return;
    }
    if (up.len == 0 || !up.data) {
        http_error(req, 400, "invalid_asset", "The file is empty", NULL);
        return;
    }
    const char *kind = NULL, *media_type = NULL;
    json_t *meta = NULL, *out = NULL;
    if (!describe(req, &up, &kind, &media_type, &meta))
        return;
    char sha[CRYPTO_SHA256_HEX_LEN + 1], err[ERRMSG_LEN];
    crypto_sha256_hex(up.data, up.len, sha);
    db_t *db = api_db(req);
    if (!db)
        goto done;
    repo_status_t st = assets_find_same(db, req->auth.project_id, up.name, sha, &out, err, sizeof err);
    if (st != REPO_NOT_FOUND) { /* the same bytes under the same name: nothing to do */
        api_answer(req, st, 200, out, err, "asset_not_found", ASSET_NOT_FOUND_MSG);
        goto done;
    }
    collect(db, req->auth.project_id);
    const config_t *cfg = config_get();
    asset_new_t a = {up.name, kind, media_type, up.len, sha, meta};
    char id[37], key[ASSETS_KEY_MAX], msg[256];
    switch (assets_reserve(db, req->auth.project_id, &a, cfg ? cfg->assets_max_count : 200,
                           cfg ? cfg->assets_max_total_bytes : (200u << 20), id, key, err, sizeof err)) {
    case ASSETS_RESERVED: break;
    case ASSETS_OVER_COUNT:
        snprintf(msg, sizeof msg, "The project has %d assets already; delete some first",
                 cfg ? cfg->assets_max_count : 200);
        http_error(req, 409, "asset_limit_reached", msg, NULL);
        goto done;
    case ASSETS_OVER_BYTES:
        snprintf(msg, sizeof msg, "The project's assets would take more than %zu bytes; delete some first",
                 cfg ? cfg->assets_max_total_bytes : (size_t)(200u << 20));
        http_error(req, 413, "asset_quota_exceeded", msg, NULL);
        goto done;
    default: api_db_error(req, err); goto done;
    }
    storage_t *store = storage_thread();
    char stored_sha[CRYPTO_SHA256_HEX_LEN + 1];
    if (!store || storage_put(store, key, up.data, up.len, media_type, stored_sha, err, sizeof err) != 0) {
        log_warn("assets: cannot store %s: %s", key, store ? err : "no storage backend");
        char aerr[ERRMSG_LEN];
        if (assets_abandon(db, id, aerr, sizeof aerr) != 0)
            log_warn("assets: pending row %s left for collection: %s", id, aerr);
        http_error(req, 503, "storage_unavailable", "The file store is unavailable; retry shortly", NULL);
        goto done;
    }
    st = assets_commit(db, req->auth.project_id, id, &out, err, sizeof err);
    if (st != REPO_OK) {
        /* The row stays pending: the object goes now, or with the next collection. */
        char derr[ERRMSG_LEN];
        if (storage_delete(store, key, derr, sizeof derr) == 0 &&
            assets_abandon(db, id, derr, sizeof derr) != 0)
            log_warn("assets: pending row %s left for collection: %s", id, derr);
        api_db_error(req, err);
        goto done;
    }
    http_respond_json(req, 201, out);
done:
    json_decref(meta);
}

static void answer(http_req_t *req, api_call_t *c, repo_status_t st, int ok_status)
{
    api_call_answer(req, c, st, ok_status, "asset_not_found", ASSET_NOT_FOUND_MSG);
}

static void list_assets(http_req_t *req)
{
    api_call_t c;
    if (api_call_page(req, 20, ASSETS_PAGE_MAX, &c))
        answer(req, &c,
               assets_list(c.db, req->auth.project_id, c.cursor, c.limit, &c.out, c.err, sizeof c.err), 200);
}

static void get_asset(http_req_t *req)
{
    api_call_t c;
    if (!api_call_db(req, &c))
        return;
    repo_status_t st =
        assets_get(c.db, req->auth.project_id, http_param(req, "id"), &c.out, NULL, c.err, sizeof c.err);
    answer(req, &c, st, 200);
}

/* The asset of the path's :id (*row, a new reference) and its bytes from storage (data, to
 * buf_free). false after answering (404, 503). */
static bool read_asset(http_req_t *req, json_t **row, buf_t *data)
{
    db_t *db = api_db(req);
    if (!db)
        return false;
    char err[ERRMSG_LEN], key[ASSETS_KEY_MAX];
    repo_status_t st = assets_get(db, req->auth.project_id, http_param(req, "id"), row, key, err, sizeof err);
    if (!api_found(req, st, err, "asset_not_found", ASSET_NOT_FOUND_MSG))
        return false;
    storage_t *store = storage_thread();
    buf_init(data, (size_t)json_integer_value(json_object_get(*row, "bytes")));
    int rc = store ? storage_get(store, key, data, err, sizeof err) : -1;
    if (rc != 0) {
        log_warn("assets: cannot read %s: %s", key, rc == STORAGE_NOT_FOUND ? "missing" : err);
        buf_free(data);
        json_decref(*row);
        *row = NULL;
        http_error(req, 503, "storage_unavailable", "The file could not be read from storage; retry shortly",
                   NULL);
        return false;
    }
    return true;
}

static void get_content(http_req_t *req)
{
    json_t *out = NULL;
    buf_t data;
    if (!read_asset(req, &out, &data))
        return;
    char media_type[64], etag[72];
    snprintf(media_type, sizeof media_type, "%s", json_string_value(json_object_get(out, "mediaType")));
    snprintf(etag, sizeof etag, "\"%s\"", json_string_value(json_object_get(out, "sha256")));
    json_decref(out);
    /* An uploaded SVG is shown to browsers: no script, no request, no same-origin anything. */
    http_add_header(req, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    http_add_header(req, "ETag", etag);
    http_respond_bytes(req, 200, media_type, data.data ? data.data : "", data.len);
    buf_free(&data);
}

/* GET /v1/assets/:id/pdf: a PDF asset's pages and form fields, to build an overlay on. */
static void get_pdf_listing(http_req_t *req)
{
    json_t *out = NULL, *listing = NULL;
    buf_t data;
    if (!read_asset(req, &out, &data))
        return;
    char err[ERRMSG_LEN], msg[600];
    if (strcmp(json_string_value(json_object_get(out, "kind")), "pdf")) {
        http_error(req, 400, "invalid_request",
                   "This asset is not a PDF: only PDF assets have pages and fields", NULL);
    } else if (overlay_base_listing((const unsigned char *)data.data, data.len, &listing, err, sizeof err) !=
               0) {
        snprintf(msg, sizeof msg, "The PDF %s", err);
        http_error(req, 500, "internal_error", msg, NULL);
    } else {
        http_respond_json(req, 200, listing);
    }
    json_decref(out);
    buf_free(&data);
}

/* Whether published template versions use the asset id: true after answering 409 asset_in_use
 * (or 503). */
static bool in_use(http_req_t *req, db_t *db, const char *id)
{
    char err[ERRMSG_LEN];
    json_t *users = NULL;
    if (assets_users(db, id, &users, err, sizeof err) != REPO_OK) {
        api_db_error(req, err);
        return true;
    }
    if (json_array_size(users) == 0) {
        json_decref(users);
        return false;
    }
    char msg[300];
    json_t *u0 = json_array_get(users, 0);
    snprintf(msg, sizeof msg,
             "Published template versions use this asset (e.g. %s version %lld); delete with ?force=true "
             "to remove it anyway (those versions then fail to render)",
             json_string_value(json_object_get(u0, "template")),
             (long long)json_integer_value(json_object_get(u0, "version")));
    json_t *issues = json_pack("{s:[s], s:{s:o}}", "formErrors", msg, "fieldErrors", "usedBy", users);
    http_error(req, 409, "asset_in_use", msg, issues);
    return true;
}

static void delete_asset(http_req_t *req)
{
    api_call_t c;
    if (!api_call_db(req, &c))
        return;
    const char *id = http_param(req, "id");
    const char *force = http_query(req, "force");
    repo_status_t st = assets_get(c.db, req->auth.project_id, id, &c.out, NULL, c.err, sizeof c.err);
    json_decref(c.out);
    c.out = NULL;
    if (!api_found(req, st, c.err, "asset_not_found", ASSET_NOT_FOUND_MSG))
        return;
    if (!(force && !strcmp(force, "true")) && in_use(req, c.db, id))
        return;
    st = assets_delete(c.db, req->auth.project_id, id, &c.out, c.err, sizeof c.err);
    if (st == REPO_OK)
        collect(c.db, req->auth.project_id);
    answer(req, &c, st, 200);
}

void api_assets_routes(void)
{
    size_t max = font_max() > image_max() ? font_max() : image_max();
    if (pdf_max() > max)
        max = pdf_max();
    max += ASSETS_MULTIPART_OVERHEAD;
    router_add_upload("POST", "/v1/assets", create_asset, AUTH_PROJECT, max);
    router_add("GET", "/v1/assets", list_assets, AUTH_PROJECT);
    router_add("GET", "/v1/assets/:id", get_asset, AUTH_PROJECT);
    router_add("GET", "/v1/assets/:id/content", get_content, AUTH_PROJECT);
    router_add("GET", "/v1/assets/:id/pdf", get_pdf_listing, AUTH_PROJECT);
    router_add("DELETE", "/v1/assets/:id", delete_asset, AUTH_PROJECT);
}
