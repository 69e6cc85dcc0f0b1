/* /v1/templates: CRUD, versions, validate (dry run) and preview. */
#include "api/templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/common.h"
#include "api/partials.h"
#include "api/renders.h"
#include "core/config.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/slug.h"
#include "core/timeutil.h"
#include "core/uuid7.h"
#include "db/assets_repo.h"
#include "http/router.h"
#include "worker/assetcache.h"
#include "worker/overlay.h"
#include "worker/pdfopts.h"
#include "worker/previews.h"

#define TEMPLATE_DESCRIPTION_MAX 280
#define TEMPLATE_FILENAME_MAX 500 /* characters of a version's file name template */

#define TEMPLATE_NOT_FOUND_MSG "No template with that slug in this project"

static void template_not_found(http_req_t *req)
{
    http_error(req, 404, "template_not_found", TEMPLATE_NOT_FOUND_MSG, NULL);
}

/* api_found for a template read: true for REPO_OK, else answers 404 template_not_found or 503. */
static bool template_found(http_req_t *req, repo_status_t st, const char *err)
{
    return api_found(req, st, err, "template_not_found", TEMPLATE_NOT_FOUND_MSG);
}

bool api_option_version(const json_t *options, int *number, json_t *issues)
{
    json_t *v = json_object_get(options, "versionNumber");
    *number = 0;
    if (!v)
        return true;
    /* A JSON number with a zero fraction (3.0) is the integer it equals, as in JavaScript. */
    double d = json_is_number(v) ? json_number_value(v) : 0;
    if (!json_is_number(v) || d != (double)(long long)d || d < 1 || d > 1000000000) {
        api_issue_field(issues, "options.versionNumber", "Expected a positive integer");
        return false;
    }
    *number = (int)d;
    return true;
}

bool api_resolve_version(http_req_t *req, db_t *db, const tpl_row_t *known, const char *slug, int number,
                         bool allow_draft, resolved_version_t *out)
{
    char err[ERRMSG_LEN];
    bool published = false;
    memset(out, 0, sizeof *out);
    int resolved = number;
    repo_status_t st = tpl_resolve(db, req->auth.project_id, known ? known->slug : slug, &resolved, &out->tpl,
                                   out->version_id, &published, err, sizeof err);
    if (!template_found(req, st, err))
        return false;
    if (number == 0 && !out->tpl.current_version) {
        http_error(req, 409, "no_published_version", "This template has no published version yet", NULL);
        return false;
    }
    if (!out->version_id[0] || (!published && !allow_draft)) {
        char msg[128];
        snprintf(msg, sizeof msg, "Version %d of this template does not exist or is not published", number);
        http_error(req, 404, "version_not_found", msg, NULL);
        return false;
    }
    out->number = resolved;
    out->compiled = compiled_get(db, out->version_id, err, sizeof err);
    if (!out->compiled) {
        http_error(req, 500, "internal_error", err, NULL);
        return false;
    }
    return true;
}

void resolved_version_release(resolved_version_t *rv)
{
    compiled_release(rv->compiled);
    rv->compiled = NULL;
}

/* Checks and compiles the version part of a create/PUT body. Answers 400 itself on a bad
 * manifest/layout/pageConfig. */
static compiled_t *compile_body(http_req_t *req, const json_t *body, json_t *issues)
{
    json_t *manifest = json_object_get(body, "manifest"), *layout = json_object_get(body, "layout"),
           *page_config = json_object_get(body, "pageConfig");
    if (!manifest)
        api_issue_field(issues, "manifest", "Required");
    else if (!json_is_object(manifest))
        api_issue_field(issues, "manifest", "Expected object");
    if (layout && !json_is_object(layout) && !json_is_null(layout))
        api_issue_field(issues, "layout", "Expected object");
    if (page_config && !json_is_object(page_config) && !json_is_null(page_config))
        api_issue_field(issues, "pageConfig", "Expected object");
    json_t *publish = json_object_get(body, "publish");
    if (publish && !json_is_boolean(publish))
        api_issue_field(issues, "publish", "Expected boolean");
    json_t *filename = json_object_get(body, "filename");
    if (filename && !json_is_null(filename)) {
        const char *tpl;
        api_opt_string(body, "filename", 1, TEMPLATE_FILENAME_MAX, &tpl, issues);
    }
    if (!api_issues_empty(issues)) {
        api_invalid_request(req, json_incref(issues));
        return NULL;
    }
    compile_status_t st;
    json_t *compile_issues = NULL, *fonts = NULL;
    char err[ERRMSG_LEN];
    db_t *db = api_db(req);
    if (!db)
        return NULL;
    if (assets_fonts(db, req->auth.project_id, &fonts, err, sizeof err) != REPO_OK) {
        api_db_error(req, err);
        return NULL;
    }
    /* The project's uploaded families count as fonts the layout may name. */
    const char **families = calloc(json_array_size(fonts) + 1, sizeof *families);
    if (!families) {
        json_decref(fonts);
        http_error(req, 500, "internal_error", "Out of memory", NULL);
        return NULL;
    }
    engine_compile_opts_t fo = {.families = families};
    size_t i;
    json_t *f;
    json_array_foreach(fonts, i, f) families[fo.nfamilies++] =
        json_string_value(json_object_get(f, "family"));
    compiled_t *c = compiled_build(manifest, json_is_null(layout) ? NULL : layout,
                                   json_is_null(page_config) ? NULL : page_config, &fo, &st, &compile_issues,
                                   err, sizeof err);
    free(families);
    json_decref(fonts);
    if (!c) {
        if (st == COMPILE_INVALID_LOOP_KEY)
            http_error(req, 400, "invalid_loop_key", "Loop keys must not contain dots", compile_issues);
        else
            http_error(req, 400, "invalid_request",
                       "The manifest, layout or pageConfig is not valid; see issues", compile_issues);
        return NULL;
    }
    json_decref(compile_issues);
    if (json_is_string(filename) &&
        compiled_add_filename(c, json_string_value(filename), &compile_issues, err, sizeof err) != 0) {
        compiled_release(c);
        http_error(req, 400, "invalid_request", "The filename template is not valid; see issues",
                   compile_issues);
        return NULL;
    }
    return c;
}

/* Adds to ids every uploaded font file of each family the layout names (all weights and
 * styles of it: which one a text uses is decided per render), so that the version keeps these
 * bytes. false after answering. */
static bool pin_fonts(http_req_t *req, db_t *db, const compiled_t *c, json_t *ids)
{
    const json_t *refs = engine_template_font_refs(c->engine);
    if (json_array_size(refs) == 0)
        return true;
    json_t *fonts = NULL, *f, *r;
    char err[ERRMSG_LEN];
    if (assets_fonts(db, req->auth.project_id, &fonts, err, sizeof err) != REPO_OK) {
        api_db_error(req, err);
        return false;
    }
    size_t i, k;
    json_array_foreach(fonts, i, f)
    {
        const char *family = json_string_value(json_object_get(f, "family"));
        json_array_foreach(refs, k, r)
        {
            if (family && engine_family_list_has(json_string_value(json_object_get(r, "family")), family)) {
                json_array_append(ids, json_object_get(f, "id"));
                break;
            }
        }
    }
    json_decref(fonts);
    return true;
}

/* The brand assets a layout names ("src": "asset:logo") must be images of this project, as
 * unknown fonts are refused: each missing one is an issue at its exact path (400). Otherwise
 * *ids (when ids != NULL) gets the JSON text of their ids, of the uploaded fonts of the
 * families it names, and of extra_id (a pdf-overlay's base, "" for none), for the version to pin
 * (NULL when there are none; caller frees). false after answering. */
static bool check_asset_refs(http_req_t *req, db_t *db, const compiled_t *c, const char *extra_id, char **ids)
{
    if (ids)
        *ids = NULL;
    const json_t *refs = engine_template_asset_refs(c->engine);
    if (json_array_size(refs) == 0) {
        json_t *unique = json_array();
        bool ok = !ids || pin_fonts(req, db, c, unique);
        if (ok && ids && extra_id[0])
            json_array_append_new(unique, json_string(extra_id));
        if (ok && ids && json_array_size(unique))
            *ids = json_dumps(unique, JSON_COMPACT);
        json_decref(unique);
        return ok;
    }
    json_t *names = json_array(), *found = NULL, *r;
    size_t i;
    json_array_foreach(refs, i, r) json_array_append(names, json_object_get(r, "ref"));
    char err[ERRMSG_LEN];
    repo_status_t st = assets_resolve_images(db, req->auth.project_id, names, &found, err, sizeof err);
    json_decref(names);
    if (st != REPO_OK) {
        api_db_error(req, err);
        return false;
    }
    json_t *issues = api_issues_new(), *unique = json_array();
    json_array_foreach(refs, i, r)
    {
        json_t *id = json_array_get(found, i);
        if (json_is_string(id)) {
            json_array_append(unique, id);
            continue;
        }
        char msg[400];
        snprintf(
            msg, sizeof msg,
            "No image asset \"%.200s\" in this project: upload it with POST /v1/assets or name an uploaded "
            "one (by name or id)",
            json_string_value(json_object_get(r, "ref")));
        api_issue_field(issues, json_string_value(json_object_get(r, "path")), msg);
    }
    json_decref(found);
    if (!api_issues_empty(issues)) {
        json_decref(unique);
        http_error(req, 400, "invalid_request",
                   "The layout names assets this project does not have; see issues", issues);
        return false;
    }
    json_decref(issues);
    if (ids && !pin_fonts(req, db, c, unique)) {
        json_decref(unique);
        return false;
    }
    if (extra_id[0])
        json_array_append_new(unique, json_string(extra_id));
    if (ids && json_array_size(unique))
        *ids = json_dumps(unique, JSON_COMPACT);
    json_decref(unique);
    return true;
}

/* The bytes of the project's PDF asset named (or with the id) ref, as a render of version_id
 * (NULL: the current assets) would use them; pdf_id (37 bytes) gets its id. Answers 503 on a
 * storage error; *bytes stays NULL without an answer when there is no such asset. false after
 * answering. */
static bool base_bytes(http_req_t *req, db_t *db, const char *version_id, const char *ref, char *pdf_id,
                       unsigned char **bytes, size_t *len)
{
    assetcache_set_t set;
    char err[ERRMSG_LEN];
    *bytes = NULL;
    if (assetcache_load(db, req->auth.project_id, version_id, &set, err, sizeof err) != 0) {
        log_warn("templates: %s", err);
        http_error(req, 503, "storage_unavailable", "The project's assets could not be read; retry shortly",
                   NULL);
        return false;
    }
    const engine_asset_t *a = overlay_find_base(set.assets, set.n, ref);
    bool ok = true;
    if (a) {
        snprintf(pdf_id, 37, "%s", a->id);
        *bytes = overlay_read_file(a->path, (size_t)1 << 30, len);
        if (!*bytes) {
            http_error(req, 503, "storage_unavailable", "The base PDF could not be read; retry shortly",
                       NULL);
            ok = false;
        }
    }
    assetcache_set_free(&set);
    return ok;
}

/* Describes the project's PDF asset named (or with the id) ref into *base_pdf; *pdf_id gets its
 * id. false after answering. */
static bool describe_base(http_req_t *req, db_t *db, const char *ref, json_t **base_pdf, char *pdf_id)
{
    char err[ERRMSG_LEN], msg[700];
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (!base_bytes(req, db, NULL, ref, pdf_id, &bytes, &len))
        return false;
    bool ok = false;
    if (!bytes) {
        snprintf(
            msg, sizeof msg,
            "No PDF asset \"%.200s\" in this project: upload the base PDF with POST /v1/assets and name it "
            "here (\"asset:NAME\", by name or id)",
            ref);
        api_reject_field(req, "layout.base", msg);
    } else if (overlay_describe_base(bytes, len, base_pdf, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "The base PDF %s", err);
        api_reject_field(req, "layout.base", msg);
    } else {
        ok = true;
    }
    free(bytes);
    return ok;
}

/* A body saving or previewing a pdf-overlay template (templateType "pdf-overlay", or a layout
 * that says so): its layout gets templateType and basePdf, the description of the base PDF it
 * names (whatever basePdf the client sent is replaced), so that compiling the version needs
 * neither the database nor the PDF; pdf_id (37 bytes) gets the base's asset id for the version
 * to pin ("" for other templates). false after answering. */
static bool prepare_overlay(http_req_t *req, json_t *body, char *pdf_id)
{
    pdf_id[0] = '\0';
    json_t *type = json_object_get(body, "templateType"), *layout = json_object_get(body, "layout");
    const char *t = json_string_value(type);
    if (type && (!t || (strcmp(t, "layout") && strcmp(t, OVERLAY_TYPE)))) {
        api_reject_field(req, "templateType", "Invalid enum value. Expected 'layout' | 'pdf-overlay'");
        return false;
    }
    if (!(t && !strcmp(t, OVERLAY_TYPE)) && !overlay_is(layout))
        return true;
    if (t && !strcmp(t, "layout")) {
        api_reject_field(req, "templateType", "The layout is a pdf-overlay layout");
        return false;
    }
    json_t *page_config = json_object_get(body, "pageConfig");
    if (page_config && !json_is_null(page_config)) {
        /* It would be stored and never used: the base PDF's pages are the pages. */
        api_reject_field(req, "pageConfig",
                         "A pdf-overlay template's pages are its base PDF's (their sizes, margins and "
                         "orientation): remove pageConfig");
        return false;
    }
    if (!json_is_object(layout)) {
        api_reject_field(req, "layout",
                         "Required: a pdf-overlay template's layout names its base PDF and placements");
        return false;
    }
    const char *ref = overlay_layout_base(layout);
    if (!ref) {
        api_reject_field(req, "layout.base",
                         "Required: the base PDF, \"asset:NAME\" (upload it with POST /v1/assets)");
        return false;
    }
    db_t *db = api_db(req);
    json_t *base_pdf = NULL;
    if (!db || !describe_base(req, db, ref, &base_pdf, pdf_id))
        return false;
    json_t *prepared = json_copy(layout);
    json_object_set_new(prepared, "templateType", json_string(OVERLAY_TYPE));
    json_object_set_new(prepared, "basePdf", base_pdf);
    json_object_set_new(body, "layout", prepared);
    return true;
}

/* Serialises the stored parts of a version. Caller frees the strings. */
static void version_texts(const json_t *body, const compiled_t *c, tpl_version_in_t *v)
{
    json_t *page_config = json_object_get(body, "pageConfig");
    json_t *publish = json_object_get(body, "publish");
    v->manifest = json_dumps(json_object_get(body, "manifest"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    v->layout = json_dumps(c->layout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    v->page_config = page_config && !json_is_null(page_config)
                         ? json_dumps(page_config, JSON_COMPACT | JSON_PRESERVE_ORDER)
                         : NULL;
    v->json_schema = json_dumps(c->schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    v->publish = !publish || json_is_true(publish);
    json_t *filename = json_object_get(body, "filename");
    v->filename = json_is_string(filename) ? json_string_value(filename) : NULL;
}

static void free_version_texts(tpl_version_in_t *v)
{
    free((char *)v->manifest);
    free((char *)v->layout);
    free((char *)v->page_config);
    free((char *)v->json_schema);
    free((char *)v->asset_ids);
}

/* The version a create or PUT body describes: checked (issues, taken, holds the problems found
 * so far), compiled, its assets resolved, and serialised into v (free_version_texts); *db gets
 * this thread's database. false after answering. */
static bool read_version(http_req_t *req, json_t *body, json_t *issues, db_t **db, tpl_version_in_t *v)
{
    char pdf_id[37] = "";
    /* With problems already, compile_body answers them without compiling anything. */
    if (api_issues_empty(issues) &&
        (!prepare_overlay(req, body, pdf_id) || !partials_prepare_layout(req, body))) {
        json_decref(issues);
        return false;
    }
    compiled_t *c = compile_body(req, body, issues);
    json_decref(issues);
    if (!c)
        return false;
    char *asset_ids = NULL;
    *db = api_db(req);
    bool ok = *db && check_asset_refs(req, *db, c, pdf_id, &asset_ids);
    if (ok) {
        version_texts(body, c, v);
        v->asset_ids = asset_ids;
    }
    compiled_release(c);
    return ok;
}

static void respond_template(http_req_t *req, db_t *db, const char *slug, int status)
{
    char err[ERRMSG_LEN];
    json_t *out = NULL;
    repo_status_t st = tpl_get_json(db, req->auth.project_id, slug, &out, err, sizeof err);
    json_t *inbound = st == REPO_OK ? json_object_get(out, "inbound") : NULL;
    if (inbound && req->auth.test) {
        /* The hook starts live renders without a key: a test key must not learn it. */
        json_object_set_new(inbound, "token", json_null());
        json_object_set_new(inbound, "url", json_null());
        json_object_set_new(inbound, "secret", json_null());
    }
    api_answer(req, st, status, out, err, "template_not_found", TEMPLATE_NOT_FOUND_MSG);
}

/* name/slug/description checks shared by POST, PUT and PATCH. */
static void check_meta(const json_t *body, bool name_required, const char **name, const char **slug,
                       const char **description, json_t *issues)
{
    api_opt_string(body, "name", 1, API_NAME_MAX, name, issues);
    if (name_required && !json_object_get(body, "name"))
        api_issue_field(issues, "name", "Required");
    if (slug && api_opt_string(body, "slug", 1, SLUG_MAX, slug, issues) && *slug && !slug_valid(*slug))
        api_issue_field(issues, "slug", "Invalid slug: use lowercase letters, digits and single dashes");
    json_t *d = json_object_get(body, "description");
    if (!json_is_null(d))
        api_opt_string(body, "description", 0, TEMPLATE_DESCRIPTION_MAX, description, issues);
}

typedef struct tpl_meta {
    const char *name, *slug, *description;
} tpl_meta_t;

/* The body of POST, PUT and PATCH: its keys (allowed), then name/slug/description into m (slug
 * only when with_slug); problems go to *issues (new). NULL after answering a body that is not
 * an object. */
static json_t *read_meta(http_req_t *req, const char *const *allowed, bool name_required, bool with_slug,
                         tpl_meta_t *m, json_t **issues)
{
    json_t *body = api_body_keys(req, allowed, issues);
    *m = (tpl_meta_t){0};
    if (!body)
        return NULL;
    check_meta(body, name_required, &m->name, with_slug ? &m->slug : NULL, &m->description, *issues);
    return body;
}

static void create_template(http_req_t *req)
{
    static const char *const allowed[] = {"name",       "slug",    "description", "manifest",     "layout",
                                          "pageConfig", "publish", "filename",    "templateType", NULL};
    tpl_meta_t m;
    json_t *issues, *body = read_meta(req, allowed, true, true, &m, &issues);
    db_t *db;
    tpl_version_in_t v;
    if (!body || !read_version(req, body, issues, &db, &v))
        return;
    char err[ERRMSG_LEN], out_slug[128];
    repo_status_t st =
        tpl_create(db, req->auth.project_id, m.name, m.slug, m.description, &v, out_slug, err, sizeof err);
    free_version_texts(&v);
    if (st == REPO_CONFLICT)
        http_error(req, 409, "slug_conflict", "A template with this slug already exists in this project",
                   NULL);
    else if (st != REPO_OK)
        api_db_error(req, err);
    else
        respond_template(req, db, out_slug, 201);
}

static void put_template(http_req_t *req)
{
    static const char *const allowed[] = {"name",    "description", "manifest",     "layout", "pageConfig",
                                          "publish", "filename",    "templateType", NULL};
    const char *slug = http_param(req, "slug");
    tpl_meta_t m;
    json_t *issues, *body = read_meta(req, allowed, false, false, &m, &issues);
    if (!body)
        return;
    if (!slug_valid(slug))
        api_issue_form(issues,
                       "The slug in the path must match ^[a-z0-9]+(-[a-z0-9]+)*$ (at most 120 characters)");
    db_t *db;
    tpl_version_in_t v;
    if (!read_version(req, body, issues, &db, &v))
        return;
    char err[ERRMSG_LEN], out_slug[128];
    int number = 0, status = 200;
    repo_status_t st = tpl_add_version(db, req->auth.project_id, slug, &v, &number, err, sizeof err);
    if (st == REPO_NOT_FOUND) {
        status = 201;
        st = tpl_create(db, req->auth.project_id, m.name ? m.name : slug, slug, m.description, &v, out_slug,
                        err, sizeof err);
        if (st == REPO_CONFLICT) /* created concurrently: publish on top of it */
            st = tpl_add_version(db, req->auth.project_id, slug, &v, &number, err, sizeof err), status = 200;
    } else if (st == REPO_OK && (m.name || m.description)) {
        st = tpl_update(db, req->auth.project_id, slug, m.name, m.description, false, -1, err, sizeof err);
    }
    free_version_texts(&v);
    if (st != REPO_OK)
        api_db_error(req, err);
    else
        respond_template(req, db, slug, status);
}

static void answer(http_req_t *req, api_call_t *c, repo_status_t st)
{
    api_call_answer(req, c, st, 200, "template_not_found", TEMPLATE_NOT_FOUND_MSG);
}

static void list_templates(http_req_t *req)
{
    api_call_t c;
    if (api_call_page(req, TPL_PAGE_MAX, TPL_PAGE_MAX, &c))
        answer(req, &c,
               tpl_list_json(c.db, req->auth.project_id, c.cursor, c.limit, &c.out, c.err, sizeof c.err));
}

static void get_template(http_req_t *req)
{
    db_t *db = api_db(req);
    if (db)
        respond_template(req, db, http_param(req, "slug"), 200);
}

/* Answers the template named by the path after a change to it (st, err): 200 with it, or 404/503. */
static void respond_changed(http_req_t *req, api_call_t *c, repo_status_t st)
{
    if (template_found(req, st, c->err))
        respond_template(req, c->db, http_param(req, "slug"), 200);
}

static void patch_template(http_req_t *req)
{
    static const char *const allowed[] = {"name", "description", "inboundEnforceSignature", NULL};
    tpl_meta_t m;
    json_t *issues, *body = read_meta(req, allowed, false, false, &m, &issues);
    if (!body)
        return;
    json_t *enforce = json_object_get(body, "inboundEnforceSignature");
    if (enforce && !json_is_boolean(enforce))
        api_issue_field(issues, "inboundEnforceSignature", "Expected boolean");
    if (api_reject_issues(req, issues))
        return;
    api_call_t c;
    if ((enforce && !api_require_live_key(req, "Changing inboundEnforceSignature")) || !api_call_db(req, &c))
        return;
    bool clear = json_is_null(json_object_get(body, "description"));
    respond_changed(req, &c,
                    tpl_update(c.db, req->auth.project_id, http_param(req, "slug"), m.name, m.description,
                               clear, enforce ? json_is_true(enforce) : -1, c.err, sizeof c.err));
}

/* POST /v1/templates/:slug/inbound/rotate {token?: bool}: a new inbound secret, and a new hook
 * token (URL) when asked; answers the template with its new inbound block. */
static void rotate_inbound(http_req_t *req)
{
    if (!api_require_live_key(req, "Rotating the inbound hook secret"))
        return;
    json_t *body = req->json ? api_body_object(req) : NULL;
    if (req->json && !body)
        return;
    static const char *const allowed[] = {"token", NULL};
    json_t *issues = api_issues_new();
    json_t *token = body ? json_object_get(body, "token") : NULL;
    if (body)
        api_check_keys(body, allowed, issues);
    if (token && !json_is_boolean(token))
        api_issue_field(issues, "token", "Expected boolean");
    api_call_t c;
    if (api_call_checked(req, issues, &c))
        respond_changed(req, &c,
                        tpl_rotate_inbound(c.db, req->auth.project_id, http_param(req, "slug"),
                                           json_is_true(token), c.err, sizeof c.err));
}

static void delete_template(http_req_t *req)
{
    api_call_t c;
    if (!api_call_db(req, &c))
        return;
    const char *slug = http_param(req, "slug");
    if (req->auth.test) {
        /* A test key may delete drafts, not a template live renders use. */
        tpl_row_t t;
        repo_status_t found = tpl_find(c.db, req->auth.project_id, slug, &t, c.err, sizeof c.err);
        if (!template_found(req, found, c.err))
            return;
        if (t.current_version > 0 &&
            !api_require_live_key(req, "Deleting a template with a published version"))
            return;
    }
    answer(req, &c, tpl_delete(c.db, req->auth.project_id, slug, &c.out, c.err, sizeof c.err));
}

static void list_versions(http_req_t *req)
{
    api_call_t c;
    if (!api_call_page(req, TPL_PAGE_MAX, TPL_PAGE_MAX, &c))
        return;
    repo_status_t st = tpl_versions_json(c.db, req->auth.project_id, http_param(req, "slug"), c.cursor,
                                         c.limit, &c.out, c.err, sizeof c.err);
    answer(req, &c, st);
}

/* A version number as a path or query parameter ("1" to "1000000000"): true with *number. */
static bool version_param(const char *s, int *number)
{
    char *end;
    long n = strtol(s, &end, 10);
    *number = *s && *end == '\0' && n >= 1 && n <= 1000000000 ? (int)n : 0;
    return *number > 0;
}

static void get_version(http_req_t *req)
{
    const char *slug = http_param(req, "slug");
    int number;
    bool valid = version_param(http_param(req, "n"), &number);
    api_call_t c;
    if (!api_call_db(req, &c))
        return;
    tpl_row_t t = {0}; /* a missing template is reported before a bad version number */
    repo_status_t st = tpl_find(c.db, req->auth.project_id, slug, &t, c.err, sizeof c.err);
    if (st == REPO_OK)
        st = valid ? tpl_version_json(c.db, req->auth.project_id, slug, number, &c.out, NULL, NULL, c.err,
                                      sizeof c.err)
                   : REPO_CONFLICT;
    if (st == REPO_OK)
        http_respond_json(req, 200, c.out);
    else if (st == REPO_NOT_FOUND && !t.id[0])
        template_not_found(req);
    else if (st == REPO_NOT_FOUND || st == REPO_CONFLICT)
        http_error(req, 404, "version_not_found", "No such version of this template", NULL);
    else
        api_db_error(req, c.err);
}

/* Parses {data, options} (and the other body_keys) of validate/preview. Unknown top-level and
 * options keys are ignored unless options.strict, like a render's. Answers 400 and returns
 * false on a bad shape. */
static bool data_request(http_req_t *req, const char *const *body_keys, const char *const *option_keys,
                         json_t **data, json_t **options, int *version, unsigned *flags)
{
    json_t *body = api_body_object(req);
    if (!body)
        return false;
    json_t *issues = api_issues_new();
    *data = json_object_get(body, "data");
    *options = json_object_get(body, "options");
    if (json_is_null(*options))
        *options = NULL;
    *flags = 0;
    *version = 0;
    if (!*data)
        api_issue_field(issues, "data", "Required");
    else if (!json_is_object(*data))
        api_issue_field(issues, "data", "Expected object");
    if (*options && !json_is_object(*options)) {
        api_issue_field(issues, "options", "Expected object");
    } else if (*options) {
        json_t *strict = json_object_get(*options, "strict");
        if (strict && !json_is_boolean(strict))
            api_issue_field(issues, "options.strict", "Expected boolean");
        if (json_is_true(strict))
            *flags |= MANIFEST_STRICT;
        if (*flags & MANIFEST_STRICT)
            api_check_option_keys(*options, option_keys, issues);
        api_option_version(*options, version, issues);
    }
    if (*flags & MANIFEST_STRICT)
        api_check_keys(body, body_keys, issues);
    if (api_reject_issues(req, issues))
        return false;
    return true;
}

static void validate_data(http_req_t *req)
{
    static const char *const body_keys[] = {"data", "options", NULL};
    static const char *const option_keys[] = {"versionNumber", "strict", NULL};
    json_t *data, *options;
    int version;
    unsigned flags;
    if (!data_request(req, body_keys, option_keys, &data, &options, &version, &flags))
        return;
    db_t *db = api_db(req);
    resolved_version_t rv;
    if (!db || !api_resolve_version(req, db, NULL, http_param(req, "slug"), version, true, &rv))
        return;
    json_t *normalised = NULL, *issues = NULL;
    if (manifest_validate(rv.compiled->manifest, data, flags, &normalised, &issues) == 0)
        http_respond_json(
            req, 200,
            json_pack("{s:b, s:i, s:o}", "valid", 1, "versionNumber", rv.number, "data", normalised));
    else
        http_error(req, 400, "invalid_input_data",
                   "The data does not match the template's manifest; see issues", issues);
    resolved_version_release(&rv);
}

/* A preview parked while the preview pool renders it (worker/previews.h). */
typedef struct {
    preview_job_t job;
    http_req_t *req;
    json_t *normalised;
    pdfopts_t po;            /* attachments and Factur-X of job.opts */
    assetcache_set_t assets; /* the project's assets of job.opts */
    bool refused;            /* the pool's queue was full */
} preview_park_t;

static void preview_park_free(void *p)
{
    preview_park_t *pk = p;
    compiled_release(pk->job.compiled);
    json_decref(pk->normalised);
    pdfopts_free(&pk->po);
    assetcache_set_free(&pk->assets);
    engine_output_free(&pk->job.out);
    free(pk);
}

/* On a preview thread: the job is finished; the handler runs again and answers. */
static void preview_done(preview_job_t *job)
{
    http_resume(((preview_park_t *)job->arg)->req);
}

static void preview_answer(http_req_t *req, preview_park_t *pk)
{
    preview_job_t *job = &pk->job;
    if (pk->refused || job->state == PREVIEW_TIMEOUT || job->state == PREVIEW_STOPPING) {
        http_add_header(req, "Retry-After", "1");
        if (job->state == PREVIEW_STOPPING)
            http_error(req, 503, "previews_busy", "The server is shutting down; retry the preview", NULL);
        else if (job->state == PREVIEW_TIMEOUT)
            http_error(req, 503, "previews_busy",
                       "Every preview renderer stayed busy for the preview's whole time limit; retry in 1 s",
                       NULL);
        else
            http_error(req, 503, "previews_busy",
                       "Too many previews are waiting to be rendered; retry in 1 s", NULL);
    } else if (job->state != PREVIEW_DONE) {
        http_error(req, 422, "render_failed", job->err, NULL);
    } else {
        char pages[16];
        snprintf(pages, sizeof pages, "%d", job->out.pages);
        http_add_header(req, "X-Craftkit-Pages", pages);
        http_respond_bytes(req, 200, job->opts.format == ENGINE_PNG ? "image/png" : "application/pdf",
                           job->out.data, job->out.len);
    }
}

/* Reads the PNG/PDF options of a preview into ro; adds issues. */
static void preview_options(const json_t *options, engine_render_opts_t *ro, json_t *issues)
{
    json_t *format = json_object_get(options, "format"), *page = json_object_get(options, "page"),
           *dpi = json_object_get(options, "dpi");
    if (format && (!json_is_string(format) ||
                   (strcmp(json_string_value(format), "pdf") && strcmp(json_string_value(format), "png"))))
        api_issue_field(issues, "options.format", "Invalid enum value. Expected 'pdf' | 'png'");
    else if (format && !strcmp(json_string_value(format), "png"))
        ro->format = ENGINE_PNG;
    if (page && (!json_is_integer(page) || json_integer_value(page) < 1 || json_integer_value(page) > 100000))
        api_issue_field(issues, "options.page", "Expected a positive integer");
    else if (page)
        ro->page = (int)json_integer_value(page);
    if (dpi && (!json_is_number(dpi) || json_number_value(dpi) < 24 || json_number_value(dpi) > 300))
        api_issue_field(issues, "options.dpi", "Expected a number from 24 to 300");
    else if (dpi)
        ro->dpi = json_number_value(dpi);
}

/* What a preview renders: a stored version, or (beyond) the manifest/layout/pageConfig sent
 * in the body, compiled now and kept nowhere — what an editor shows before publishing.
 * Answers the error itself and returns NULL. */
static compiled_t *preview_template(http_req_t *req, db_t *db, int version)
{
    json_t *body = req->json;
    const char *slug = http_param(req, "slug");
    if (!json_object_get(body, "manifest") && !json_object_get(body, "layout") &&
        !json_object_get(body, "pageConfig")) {
        resolved_version_t rv;
        if (!api_resolve_version(req, db, NULL, slug, version, true, &rv))
            return NULL;
        return rv.compiled; /* the reference moves to the caller */
    }
    tpl_row_t t;
    char err[ERRMSG_LEN];
    repo_status_t st = tpl_find(db, req->auth.project_id, slug, &t, err, sizeof err);
    if (!template_found(req, st, err))
        return NULL;
    char pdf_id[37];
    if (!prepare_overlay(req, body, pdf_id) || !partials_prepare_layout(req, body))
        return NULL;
    json_t *issues = api_issues_new();
    compiled_t *c = compile_body(req, body, issues);
    json_decref(issues);
    if (c && !check_asset_refs(req, db, c, pdf_id, NULL)) {
        compiled_release(c);
        return NULL;
    }
    return c;
}

/* Validates, then parks the request while the preview pool renders it (a handler thread is
 * never held by a render); answers when it runs again. */
static void preview(http_req_t *req)
{
    if (req->resumed) {
        preview_answer(req, req->handler_state);
        return;
    }
    static const char *const body_keys[] = {"data",       "options",      "manifest", "layout",
                                            "pageConfig", "templateType", NULL};
    static const char *const option_keys[] = {"versionNumber", "strict",      "format",  "page", "dpi",
                                              "pdfa",          "attachments", "facturx", NULL};
    json_t *data, *options;
    int version;
    unsigned flags;
    if (!api_rate_limit(req) || !data_request(req, body_keys, option_keys, &data, &options, &version, &flags))
        return;
    engine_render_opts_t ro = {.format = ENGINE_PDF, .page = 1, .dpi = 96};
    json_t *issues = api_issues_new();
    preview_options(options, &ro, issues);
    pdfopts_t po;
    char perr[ERRMSG_LEN];
    pdfopts_read(options, &po, issues, perr, sizeof perr);
    pdfopts_apply(&po, &ro);
    if (api_reject_issues(req, issues)) {
        pdfopts_free(&po);
        return;
    }
    db_t *db = api_db(req);
    compiled_t *c = db ? preview_template(req, db, version) : NULL;
    if (!c) {
        pdfopts_free(&po);
        return;
    }
    json_t *normalised = NULL;
    issues = NULL;
    if (manifest_validate(c->manifest, data, flags, &normalised, &issues) != 0) {
        http_error(req, 400, "invalid_input_data",
                   "The data does not match the template's manifest; see issues", issues);
        compiled_release(c);
        pdfopts_free(&po);
        return;
    }
    /* A template that generates its e-invoice: the data must add up (unless the preview brings its XML). */
    if (ro.facturx.profile == ENGINE_FX_NONE &&
        engine_einvoice_build(c->engine, normalised, NULL, NULL, NULL, &issues) < 0) {
        http_error(req, 400, "invalid_input_data",
                   "The data cannot make the template's e-invoice; see issues", issues);
        json_decref(normalised);
        compiled_release(c);
        pdfopts_free(&po);
        return;
    }
    preview_park_t *pk = calloc(1, sizeof *pk);
    if (!pk) {
        http_error(req, 500, "internal_error", "Out of memory", NULL);
        json_decref(normalised);
        compiled_release(c);
        pdfopts_free(&po);
        return;
    }
    char aerr[ERRMSG_LEN];
    if (assetcache_load(db, req->auth.project_id, c->version_id, &pk->assets, aerr, sizeof aerr) != 0) {
        log_warn("preview: %s", aerr);
        http_error(req, 503, "storage_unavailable", "The project's assets could not be read; retry shortly",
                   NULL);
        free(pk);
        json_decref(normalised);
        compiled_release(c);
        pdfopts_free(&po);
        return;
    }
    ro.assets = pk->assets.assets;
    ro.nassets = pk->assets.n;
    ro.watermark = req->auth.test ? "TEST" : NULL;
    pk->req = req;
    pk->normalised = normalised;
    pk->po = po; /* the attachments' bytes live as long as the job (its names in req->json) */
    pk->job = (preview_job_t){.compiled = c, .data = normalised, .opts = ro, .done = preview_done, .arg = pk};
    pdfopts_apply(&pk->po, &pk->job.opts);
    req->handler_state = pk;
    req->handler_state_free = preview_park_free;
    /* Parked first, so that the pool may resume it at any moment after the submit. */
    http_suspend(req);
    if (!previews_submit(&pk->job)) {
        pk->refused = true;
        http_resume(req);
    }
}

/* GET /v1/templates/:slug/base-pdf[?version=N]: the pages and form fields of the base PDF a
 * pdf-overlay version uses (its pinned bytes; default the current published version). */
static void get_base_pdf(http_req_t *req)
{
    const char *v = http_query(req, "version");
    char err[ERRMSG_LEN], msg[700];
    int number = 0;
    if (v && !version_param(v, &number)) {
        api_reject_field(req, "version", "Expected a positive integer");
        return;
    }
    db_t *db = api_db(req);
    resolved_version_t rv;
    if (!db || !api_resolve_version(req, db, NULL, http_param(req, "slug"), number, true, &rv))
        return;
    const char *ref = rv.compiled->overlay ? overlay_layout_base(rv.compiled->layout) : NULL;
    unsigned char *bytes = NULL;
    size_t len = 0;
    char id[37];
    json_t *listing = NULL;
    if (!ref) {
        http_error(req, 400, "invalid_request", "This template version is not a pdf-overlay template", NULL);
    } else if (!base_bytes(req, db, rv.version_id, ref, id, &bytes, &len)) {
        /* answered */
    } else if (!bytes) {
        snprintf(msg, sizeof msg, "The base PDF \"%.200s\" of this version is no longer available", ref);
        http_error(req, 503, "storage_unavailable", msg, NULL);
    } else if (overlay_base_listing(bytes, len, &listing, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "The PDF %s", err);
        http_error(req, 500, "internal_error", msg, NULL);
    } else {
        json_object_set_new(listing, "asset", json_string(id));
        json_object_set_new(listing, "versionNumber", json_integer(rv.number));
        http_respond_json(req, 200, listing);
    }
    free(bytes);
    resolved_version_release(&rv);
}

void api_templates_routes(void)
{
    router_add("GET", "/v1/templates", list_templates, AUTH_PROJECT);
    router_add("POST", "/v1/templates", create_template, AUTH_PROJECT);
    router_add("GET", "/v1/templates/:slug", get_template, AUTH_PROJECT);
    router_add("PUT", "/v1/templates/:slug", put_template, AUTH_PROJECT);
    router_add("PATCH", "/v1/templates/:slug", patch_template, AUTH_PROJECT);
    router_add("DELETE", "/v1/templates/:slug", delete_template, AUTH_PROJECT);
    router_add("POST", "/v1/templates/:slug/inbound/rotate", rotate_inbound, AUTH_PROJECT);
    router_add("GET", "/v1/templates/:slug/versions", list_versions, AUTH_PROJECT);
    router_add("GET", "/v1/templates/:slug/versions/:n", get_version, AUTH_PROJECT);
    router_add("POST", "/v1/templates/:slug/validate", validate_data, AUTH_PROJECT);
    router_add("POST", "/v1/templates/:slug/preview", preview, AUTH_PROJECT);
    router_add("GET", "/v1/templates/:slug/base-pdf", get_base_pdf, AUTH_PROJECT);
}
