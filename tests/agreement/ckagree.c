/*
 * ckagree — the server side of the JSON Schema agreement test (tests/agreement/agree.mjs).
 *
 *   ckagree cases FILE     FILE = {"manifest":…,"strict":bool,"cases":[{"data":…},…]}
 *     → {"schema":<manifest_json_schema_ex>,"results":[{"valid":bool,"issues":…|null},…]}
 *   ckagree patterns FILE  FILE = [{"pattern":"…","subjects":["…",…]},…]
 *     → [{"compiled":bool,"error":"…"|null,"matches":[bool,…]},…]
 *
 * Writes one JSON document to stdout; exits 2 on unusable input (a manifest that does not
 * compile is reported as an error, since every agreement case must have a valid manifest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/manifest.h"
#include "manifest/pattern.h"

static int run_cases(json_t *file)
{
    manifest_status_t st;
    json_t *issues = NULL;
    manifest_t *m = manifest_compile(json_object_get(file, "manifest"), &st, &issues);
    if (!m) {
        char *s = json_dumps(issues, JSON_COMPACT);
        fprintf(stderr, "ckagree: the manifest does not compile: %s\n", s);
        free(s);
        json_decref(issues);
        return 2;
    }
    unsigned flags = json_is_true(json_object_get(file, "strict")) ? MANIFEST_STRICT : 0;
    json_t *out = json_object(), *results = json_array();
    json_object_set_new(out, "schema", manifest_json_schema_ex(m, flags));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(file, "cases"), i, c)
    {
        json_t *norm = NULL, *is = NULL;
        int rc = manifest_validate(m, json_object_get(c, "data"), flags, &norm, &is);
        json_array_append_new(
            results, json_pack("{s:b,s:o*,s:o*}", "valid", rc == 0, "issues", is, "normalised", norm));
    }
    json_object_set_new(out, "results", results);
    json_dumpf(out, stdout, JSON_COMPACT);
    json_decref(out);
    manifest_free(m);
    return 0;
}

static int run_patterns(json_t *file)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(file, i, c)
    {
        json_t *src = json_object_get(c, "pattern");
        char err[PATTERN_ERR_MAX];
        pattern_t *p = pattern_compile(json_string_value(src), json_string_length(src), err);
        json_t *matches = json_array();
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(c, "subjects"), k, s)
        {
            bool hit = p && pattern_match(p, json_string_value(s), json_string_length(s));
            json_array_append_new(matches, json_boolean(hit));
        }
        json_array_append_new(out, json_pack("{s:b,s:s*,s:o}", "compiled", p != NULL, "error", p ? NULL : err,
                                             "matches", matches));
        pattern_free(p);
    }
    json_dumpf(out, stdout, JSON_COMPACT);
    json_decref(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "cases") != 0 && strcmp(argv[1], "patterns") != 0)) {
        fprintf(stderr, "usage: ckagree cases|patterns FILE\n");
        return 2;
    }
    json_error_t err;
    json_t *file = json_load_file(argv[2], JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!file) {
        fprintf(stderr, "ckagree: %s:%d: %s\n", argv[2], err.line, err.text);
        return 2;
    }
    int rc = strcmp(argv[1], "cases") == 0 ? run_cases(file) : run_patterns(file);
    json_decref(file);
    return rc;
}
