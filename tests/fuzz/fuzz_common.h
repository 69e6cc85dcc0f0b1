/* Shared checks of the manifest fuzz targets: any violated invariant aborts, which libFuzzer
 * reports as a crash with the input that caused it. */
#ifndef CRAFTKIT_FUZZ_COMMON_H
#define CRAFTKIT_FUZZ_COMMON_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "manifest/manifest.h"

#define FUZZ_CHECK(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

/* issues must be {"formErrors":[string...],"fieldErrors":{path:[string...]}} within the caps. */
static inline void fuzz_check_issues(const json_t *issues)
{
    FUZZ_CHECK(json_is_object(issues) && json_object_size(issues) == 2);
    json_t *form = json_object_get(issues, "formErrors");
    json_t *fields = json_object_get(issues, "fieldErrors");
    FUZZ_CHECK(json_is_array(form) && json_is_object(fields));
    FUZZ_CHECK(json_array_size(form) + json_object_size(fields) > 0);
    FUZZ_CHECK(json_object_size(fields) <= MANIFEST_ISSUES_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(form, i, v) FUZZ_CHECK(json_is_string(v));
    const char *path;
    json_t *list;
    json_object_foreach(fields, path, list)
    {
        FUZZ_CHECK(path[0] != '\0');
        FUZZ_CHECK(json_is_array(list) && json_array_size(list) > 0);
        json_array_foreach(list, i, v) FUZZ_CHECK(json_is_string(v) && json_string_length(v) > 0);
    }
    char *text = json_dumps(issues, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    free(text);
}

/* Validates data; on success the normalised copy must validate again to itself. */
static inline void fuzz_validate_twice(const manifest_t *m, const json_t *data, unsigned flags)
{
    json_t *norm = NULL, *issues = NULL;
    int rc = manifest_validate(m, data, flags, &norm, &issues);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && norm == NULL);
        fuzz_check_issues(issues);
        json_decref(issues);
        /* A check-only run must reach the same verdict. */
        FUZZ_CHECK(manifest_validate(m, data, flags, NULL, NULL) == -1);
        return;
    }
    FUZZ_CHECK(issues == NULL && json_is_object(norm));
    FUZZ_CHECK(manifest_validate(m, data, flags, NULL, NULL) == 0);
    json_t *again = NULL;
    FUZZ_CHECK(manifest_validate(m, norm, flags | MANIFEST_STRICT, &again, &issues) == 0);
    FUZZ_CHECK(json_equal(norm, again));
    json_decref(again);
    json_decref(norm);
}

#endif
