#include "engfix.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h" /* engine_debug_layout */

engine_ctx_t *engfix_ctx;

void engfix_setup(void)
{
    engine_global_init();
    engfix_ctx = engine_ctx_new(NULL);
    ck_assert_ptr_nonnull(engfix_ctx);
}

void engfix_teardown(void)
{
    engine_ctx_free(engfix_ctx);
    engfix_ctx = NULL;
}

json_t *engfix_json(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    ck_assert_msg(v != NULL, "bad test JSON: %s: %s", e.text, s);
    return v;
}

engine_template_t *engfix_compile(const char *layout)
{
    json_t *l = engfix_json(layout), *issues = NULL;
    char err[1000];
    engine_template_t *t = engine_compile(l, NULL, NULL, &issues, err, sizeof err);
    if (!t) {
        char *s = json_dumps(issues, 0);
        ck_abort_msg("%s\n%s", err, s);
    }
    json_decref(l);
    return t;
}

json_t *engfix_issues(const char *layout)
{
    json_t *l = engfix_json(layout), *issues = NULL;
    char err[1000];
    engine_template_t *t = engine_compile(l, NULL, NULL, &issues, err, sizeof err);
    ck_assert_msg(t == NULL, "compiled, but should not: %s", layout);
    ck_assert_ptr_nonnull(issues);
    json_decref(l);
    return issues;
}

bool engfix_has_issue(const json_t *issues, const char *path, const char *needle)
{
    json_t *list = json_object_get(json_object_get(issues, "fieldErrors"), path);
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m)
    {
        const char *s = json_string_value(m);
        if (s && strstr(s, needle))
            return true;
    }
    return false;
}

void engfix_expect_issue(const json_t *issues, const char *path, const char *needle)
{
    if (engfix_has_issue(issues, path, needle))
        return;
    char *s = json_dumps(issues, JSON_INDENT(1));
    ck_abort_msg("no issue \"%s\" at %s in %s", needle, path, s);
}

json_t *engfix_pages(engine_template_t *t, json_t *data)
{
    char err[600];
    json_t *r = engine_debug_layout(engfix_ctx, t, data, err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    json_t *pages = json_incref(json_object_get(r, "pages"));
    json_decref(r);
    return pages;
}

void engfix_expect_layout_error(const char *layout, json_t *data, const char *needle)
{
    engine_template_t *t = engfix_compile(layout);
    char err[600] = "";
    json_t *r = engine_debug_layout(engfix_ctx, t, data, err, sizeof err);
    ck_assert_msg(r == NULL, "rendered, but should fail with \"%s\"", needle);
    ck_assert_msg(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
    engine_template_free(t);
}

json_t *engfix_pages_of(const char *layout, json_t *data)
{
    engine_template_t *t = engfix_compile(layout);
    json_t *pages = engfix_pages(t, data);
    engine_template_free(t);
    return pages;
}

json_t *engfix_lines(int n)
{
    json_t *a = json_array();
    for (int i = 1; i <= n; i++) {
        char s[32];
        snprintf(s, sizeof s, "line %d", i);
        json_array_append_new(a, json_string(s));
    }
    return json_pack("{s:o}", "lines", a);
}

json_t *engfix_items(const json_t *pages, int p)
{
    return json_object_get(json_array_get(pages, (size_t)p), "items");
}

json_t *engfix_text_item(const json_t *pages, int p, const char *s)
{
    size_t i;
    json_t *it;
    json_array_foreach(engfix_items(pages, p), i, it)
    {
        const char *t = json_string_value(json_object_get(it, "text"));
        if (t && !strcmp(t, s))
            return it;
    }
    return NULL;
}

int engfix_page_with(const json_t *pages, const char *s)
{
    for (size_t p = 0; p < json_array_size(pages); p++)
        if (engfix_text_item(pages, (int)p, s))
            return (int)p;
    return -1;
}

void engfix_expect_in_pdf(engine_template_t *t, const char *const *want, size_t n)
{
    engine_render_opts_t opts = {.compression = ENGINE_COMPRESS_NONE};
    engine_output_t out = {0};
    char err[300];
    ck_assert_msg(engine_render(engfix_ctx, t, NULL, &opts, &out, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(memmem(out.data, out.len, want[i], strlen(want[i])), "no %s in the PDF", want[i]);
    engine_output_free(&out);
}
