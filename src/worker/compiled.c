#include "worker/compiled.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static compiled_t *cache[COMPILED_CACHE_MAX];
static unsigned long cache_used[COMPILED_CACHE_MAX];
static unsigned long cache_clock;

static void compiled_free(compiled_t *c)
{
    if (!c)
        return;
    manifest_free(c->manifest);
    engine_template_free(c->engine);
    json_decref(c->layout);
    json_decref(c->schema);
    json_decref(c->manifest_src);
    json_decref(c->page_config);
    engine_text_free(c->filename);
    overlay_free(c->overlay);
    free(c);
}

/* Moves every fieldErrors/formErrors entry of src into dst. */
static void merge_issues(json_t *dst, const json_t *src)
{
    if (!src)
        return;
    json_array_extend(json_object_get(dst, "formErrors"), json_object_get(src, "formErrors"));
    const char *path;
    json_t *msgs;
    json_t *fields = json_object_get(dst, "fieldErrors");
    json_object_foreach(json_object_get(src, "fieldErrors"), path, msgs)
    {
        json_t *have = json_object_get(fields, path);
        if (have)
            json_array_extend(have, msgs);
        else
            json_object_set(fields, path, msgs);
    }
}

compiled_t *compiled_build(const json_t *manifest, const json_t *layout, const json_t *page_config,
                           const engine_compile_opts_t *fonts, compile_status_t *status, json_t **issues,
                           char *err, size_t err_len)
{
    compiled_t *c = calloc(1, sizeof *c);
    json_t *all = json_pack("{s:[], s:{}}", "formErrors", "fieldErrors");
    json_t *m_issues = NULL, *e_issues = NULL;
    manifest_status_t mst = MANIFEST_OK;
    *status = COMPILE_OK;
    *issues = NULL;
    if (!c || !all)
        goto fail;
    c->refs = 1;
    c->manifest_src = json_incref((json_t *)manifest);
    c->page_config = json_incref((json_t *)page_config);
    c->manifest = manifest_compile(manifest, &mst, &m_issues);
    if (!c->manifest) {
        *status = mst == MANIFEST_INVALID_LOOP_KEY ? COMPILE_INVALID_LOOP_KEY : COMPILE_INVALID;
        merge_issues(all, m_issues);
        errmsg_fail(err, err_len, "the manifest is not valid");
        /* The layout can only be checked against a valid manifest. */
        goto fail;
    }
    c->layout = layout ? json_incref((json_t *)layout) : engine_default_layout(manifest);
    if (overlay_is(c->layout)) /* a pageConfig has no say: the base PDF's pages are the pages */
        c->overlay = overlay_compile(c->layout, manifest, fonts, &c->engine, &e_issues, err, err_len);
    else
        c->engine = engine_compile_ex(c->layout, page_config, manifest, fonts, &e_issues, err, err_len);
    if (!c->engine) {
        *status = COMPILE_INVALID;
        merge_issues(all, e_issues);
        goto fail;
    }
    c->schema = manifest_json_schema(c->manifest);
    json_decref(all);
    json_decref(m_issues);
    json_decref(e_issues);
    return c;
fail:
    if (*status == COMPILE_OK)
        *status = COMPILE_INVALID;
    *issues = all;
    json_decref(m_issues);
    json_decref(e_issues);
    compiled_free(c);
    return NULL;
}

int compiled_add_filename(compiled_t *c, const char *tpl, json_t **issues, char *err, size_t err_len)
{
    json_t *manifest = manifest_to_json(c->manifest);
    c->filename = engine_text_compile(tpl, manifest, "filename", issues, err, err_len);
    json_decref(manifest);
    return c->filename ? 0 : -1;
}

static json_t *parse_column(const PGresult *r, const char *col)
{
    const char *text = db_get(r, 0, col);
    return text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
}

static compiled_t *load(db_t *db, const char *version_id, char *err, size_t err_len)
{
    const char *params[] = {version_id};
    PGresult *r =
        db_exec(db, "SELECT manifest, layout, page_config, filename FROM template_versions WHERE id = $1", 1,
                params, err, err_len);
    if (!r)
        return NULL;
    if (PQntuples(r) != 1) {
        errmsg_fail(err, err_len, "template version %s does not exist", version_id);
        PQclear(r);
        return NULL;
    }
    json_t *manifest = parse_column(r, "manifest"), *layout = parse_column(r, "layout"),
           *page_config = parse_column(r, "page_config");
    char *filename = db_get(r, 0, "filename") ? strdup(db_get(r, 0, "filename")) : NULL;
    PQclear(r);
    compile_status_t st;
    json_t *issues = NULL;
    /* Its fonts were checked when it was saved; its pinned uploads come with each render. */
    static const engine_compile_opts_t saved = {.skip_font_check = true};
    compiled_t *c = compiled_build(manifest, layout, page_config, &saved, &st, &issues, err, err_len);
    if (c && filename && compiled_add_filename(c, filename, &issues, err, err_len) != 0) {
        compiled_free(c);
        c = NULL;
    }
    free(filename);
    if (!c && issues) {
        /* Stored versions were valid when published; this means an engine upgrade broke one. */
        char *text = json_dumps(issues, JSON_COMPACT);
        errmsg_fail(err, err_len, "template version no longer compiles: %.400s", text ? text : "");
        free(text);
    }
    json_decref(issues);
    json_decref(manifest);
    json_decref(layout);
    json_decref(page_config);
    if (c)
        snprintf(c->version_id, sizeof c->version_id, "%s", version_id);
    return c;
}

compiled_t *compiled_get(db_t *db, const char *version_id, char *err, size_t err_len)
{
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; i < COMPILED_CACHE_MAX; i++) {
        if (cache[i] && !strcmp(cache[i]->version_id, version_id)) {
            cache[i]->refs++;
            cache_used[i] = ++cache_clock;
            compiled_t *hit = cache[i];
            pthread_mutex_unlock(&cache_mu);
            return hit;
        }
    }
    pthread_mutex_unlock(&cache_mu);

    /* Compile outside the lock; if another thread raced us, keep theirs. */
    compiled_t *c = load(db, version_id, err, err_len);
    if (!c)
        return NULL;
    pthread_mutex_lock(&cache_mu);
    int slot = -1;
    for (int i = 0; i < COMPILED_CACHE_MAX; i++) {
        if (cache[i] && !strcmp(cache[i]->version_id, version_id)) {
            cache[i]->refs++;
            compiled_t *theirs = cache[i];
            pthread_mutex_unlock(&cache_mu);
            compiled_free(c);
            return theirs;
        }
        if (!cache[i]) {
            if (slot < 0)
                slot = i;
        } else if (cache[i]->refs == 0 && (slot < 0 || (cache[slot] && cache_used[i] < cache_used[slot]))) {
            slot = i;
        }
    }
    if (slot >= 0) {
        if (cache[slot])
            compiled_free(cache[slot]);
        cache[slot] = c;
        cache_used[slot] = ++cache_clock; /* refs counts users; the cache's hold is the slot */
    }
    pthread_mutex_unlock(&cache_mu);
    return c;
}

void compiled_release(compiled_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cache_mu);
    bool gone = --c->refs == 0;
    bool cached = false;
    for (int i = 0; i < COMPILED_CACHE_MAX && gone; i++)
        if (cache[i] == c)
            cached = true;
    pthread_mutex_unlock(&cache_mu);
    if (gone && !cached)
        compiled_free(c);
}

void compiled_sandbox_template(const compiled_t *c, sandbox_template_t *tpl)
{
    *tpl = (sandbox_template_t){.version_id = c->version_id,
                                .layout = c->layout,
                                .page_config = c->page_config,
                                .manifest = c->manifest_src};
}

void compiled_cache_clear(void)
{
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; i < COMPILED_CACHE_MAX; i++) {
        if (cache[i] && cache[i]->refs == 0) {
            compiled_free(cache[i]);
            cache[i] = NULL;
        }
    }
    pthread_mutex_unlock(&cache_mu);
}
