/*
 * fuzz_layout — libFuzzer target for the layout compiler and the expression parser.
 * The input is compiled as a layout (with and without a manifest); its raw bytes are also
 * parsed as a template string and as a condition. Whatever the input, compiling must either
 * succeed or return well-formed issues, within the layout caps, without crashing or leaking.
 */
#include <stdint.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/expr.h"
#include "fuzz_common.h"

static const char *MANIFEST =
    "{\"variables\":[{\"key\":\"customer.name\",\"dataType\":\"text\"},{\"key\":\"total\",\"dataType\":"
    "\"currency\","
    "\"format\":\"money:EUR\"},{\"key\":\"logo\",\"dataType\":\"image\"},{\"key\":\"issued\",\"dataType\":"
    "\"date\"}],"
    "\"loops\":[{\"key\":\"items\",\"itemFields\":[{\"key\":\"name\",\"dataType\":\"text\"},"
    "{\"key\":\"qty\",\"dataType\":\"number\"}]}]}";

static void check_issues(const json_t *issues)
{
    FUZZ_CHECK(json_is_object(issues));
    json_t *form = json_object_get(issues, "formErrors"), *fields = json_object_get(issues, "fieldErrors");
    FUZZ_CHECK(json_is_array(form) && json_is_object(fields));
    FUZZ_CHECK(json_array_size(form) + json_object_size(fields) > 0);
    FUZZ_CHECK(json_object_size(fields) <= 100);
    const char *path;
    json_t *list;
    json_object_foreach(fields, path, list)
    {
        FUZZ_CHECK(!strncmp(path, "layout", 6) || !strncmp(path, "pageConfig", 10));
        FUZZ_CHECK(json_is_array(list) && json_array_size(list) > 0);
    }
}

static void compile_one(const json_t *layout, const json_t *manifest)
{
    json_t *issues = NULL;
    char err[512];
    engine_template_t *t = engine_compile(layout, NULL, manifest, &issues, err, sizeof err);
    if (t) {
        FUZZ_CHECK(issues == NULL);
        double w, h;
        engine_template_page_size(t, &w, &h);
        FUZZ_CHECK(w >= 18 && h >= 18 && w <= 14400 && h <= 14400);
        engine_template_free(t);
    } else {
        check_issues(issues);
        json_decref(issues);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *manifest;
    if (!manifest)
        manifest = json_loads(MANIFEST, 0, NULL);
    json_t *layout = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (layout) {
        compile_one(layout, manifest);
        compile_one(layout, NULL);
        json_decref(layout);
    }
    /* The raw bytes as a template string and as a condition. */
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    arena_t a;
    arena_init(&a, 4096, 1 << 24);
    expr_scope_names_t names = {.depth = 1, .names = {"item"}, .allow_page = true};
    expr_str_t str;
    char err[300];
    if (expr_parse_str(&a, s, &names, &str, err, sizeof err) == 0) {
        json_t *d = json_loads("{\"items\":[{\"qty\":2}],\"total\":1.5,\"name\":\"x\"}", 0, NULL);
        expr_scope_t sc = {.data = d, .depth = 1, .page = 1, .pages = 2};
        sc.frames[0] = (expr_frame_t){json_array_get(json_object_get(d, "items"), 0), 0, 1, "items"};
        buf_t b;
        buf_init(&b, 1 << 16);
        expr_eval_str(&sc, &str, &b, err, sizeof err);
        buf_free(&b);
        json_decref(d);
    }
    json_t *owned = json_array();
    expr_cond_t *c;
    if (expr_parse_cond(&a, s, &names, owned, &c, err, sizeof err) == 0) {
        expr_scope_t sc = {.data = NULL};
        (void)expr_eval_cond(&sc, c);
    }
    json_decref(owned);
    arena_free(&a);
    free(s);
    return 0;
}
