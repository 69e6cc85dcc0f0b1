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
