/*
 * libFuzzer target: manifest JSON → manifest_compile() → JSON Schema, to_json, validation.
 * Invariants: a failure always comes with well-formed, capped issues; a success round-trips
 * through manifest_to_json(), emits a schema, and validates data (the input itself, and {})
 * consistently. Built from source with clang by tests/cmake/fuzz.cmake.
 */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!j)
        return 0;
    manifest_status_t st = MANIFEST_OK;
    json_t *issues = NULL;
    manifest_t *m = manifest_compile(j, &st, &issues);
    if (!m) {
        FUZZ_CHECK(st == MANIFEST_INVALID || st == MANIFEST_INVALID_LOOP_KEY);
        fuzz_check_issues(issues);
        json_decref(issues);
        json_decref(j);
        return 0;
    }
    FUZZ_CHECK(st == MANIFEST_OK && issues == NULL);
    /* The stored form compiles again to the same stored form. */
    json_t *src = manifest_to_json(m);
    manifest_t *m2 = manifest_compile(src, &st, NULL);
    FUZZ_CHECK(m2 != NULL);
    json_t *src2 = manifest_to_json(m2);
    FUZZ_CHECK(json_equal(src, src2));
    FUZZ_CHECK(manifest_variable_count(m) == manifest_variable_count(m2));
    json_decref(src2);
    manifest_free(m2);
    /* Schemas. */
    for (unsigned flags = 0; flags <= MANIFEST_STRICT; flags++) {
        json_t *schema = manifest_json_schema_ex(m, flags);
        FUZZ_CHECK(json_is_object(schema));
        char *text = json_dumps(schema, JSON_COMPACT);
        FUZZ_CHECK(text != NULL);
        free(text);
        json_decref(schema);
    }
    /* Introspection. */
    for (size_t i = 0; i < manifest_variable_count(m); i++) {
        const manifest_field_info_t *f = manifest_variable(m, i);
        FUZZ_CHECK(f && f->key && manifest_find_variable(m, f->key) == f);
    }
    for (size_t i = 0; i < manifest_loop_count(m); i++) {
        const manifest_loop_info_t *l = manifest_loop(m, i);
        FUZZ_CHECK(l && manifest_find_loop(m, l->key) == l && l->field_count > 0);
        for (size_t k = 0; k < l->field_count; k++)
            FUZZ_CHECK(manifest_loop_field(m, i, k) != NULL);
    }
    /* Data: an empty object, and the manifest itself as data. */
    json_t *empty = json_object();
    fuzz_validate_twice(m, empty, 0);
    fuzz_validate_twice(m, j, 0);
    fuzz_validate_twice(m, j, MANIFEST_STRICT);
    json_decref(empty);
    json_decref(src);
    manifest_free(m);
    json_decref(j);
    return 0;
}
