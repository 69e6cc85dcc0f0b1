/* Helpers shared by the manifest unit tests (test_manifest.c, test_validate.c,
 * test_json_schema.c). Everything is static inline so each test uses what it needs. */
#ifndef CRAFTKIT_TESTS_MANIFEST_TESTUTIL_H
#define CRAFTKIT_TESTS_MANIFEST_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manifest/manifest.h"
#include "tu.h"

/* Parses JSON text (NUL escapes allowed) or fails the test. */
static inline json_t *tj(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    ck_assert_msg(v != NULL, "bad test JSON (%s): %s", err.text, text);
    return v;
}

static inline char *tdump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Compiles manifest text that must be valid. */
static inline manifest_t *compile_ok(const char *text)
{
    json_t *j = tj(text);
    manifest_status_t st = MANIFEST_INVALID;
    json_t *issues = NULL;
    manifest_t *m = manifest_compile(j, &st, &issues);
    if (!m) {
        char *s = tdump(issues);
        ck_abort_msg("manifest did not compile: %s\n%s", text, s);
    }
    ck_assert_int_eq(st, MANIFEST_OK);
    ck_assert_ptr_null(issues);
    json_decref(j);
    return m;
}

/* Compiles manifest text that must be rejected; returns the issues, status in *st. */
static inline json_t *compile_fail(const char *text, manifest_status_t *st)
{
    json_t *j = tj(text);
    json_t *issues = NULL;
    manifest_status_t s = MANIFEST_OK;
    manifest_t *m = manifest_compile(j, &s, &issues);
    ck_assert_msg(m == NULL, "manifest compiled but should not: %s", text);
    ck_assert_ptr_nonnull(issues);
    ck_assert_int_ne(s, MANIFEST_OK);
    if (st)
        *st = s;
    json_decref(j);
    return issues;
}

/* Validates data text that must pass; returns the normalised data. */
static inline json_t *validate_ok(const manifest_t *m, const char *data, unsigned flags)
{
    json_t *d = tj(data);
    json_t *norm = NULL, *issues = NULL;
    int rc = manifest_validate(m, d, flags, &norm, &issues);
    if (rc != 0) {
        char *s = tdump(issues);
        ck_abort_msg("data rejected: %s\n%s", data, s);
    }
    ck_assert_ptr_nonnull(norm);
    ck_assert_ptr_null(issues);
    json_decref(d);
    return norm;
}

/* Validates data text that must fail; returns the issues. */
static inline json_t *validate_fail(const manifest_t *m, const char *data, unsigned flags)
{
    json_t *d = tj(data);
    json_t *norm = NULL, *issues = NULL;
    int rc = manifest_validate(m, d, flags, &norm, &issues);
    ck_assert_msg(rc == -1, "data accepted but should not: %s", data);
    ck_assert_ptr_null(norm);
    ck_assert_ptr_nonnull(issues);
    json_decref(d);
    return issues;
}

/* The messages under a field path (NULL when there are none). */
static inline json_t *field_msgs(const json_t *issues, const char *path)
{
    return json_object_get(json_object_get(issues, "fieldErrors"), path);
}

static inline bool has_msg(const json_t *issues, const char *path, const char *msg)
{
    json_t *list = path ? field_msgs(issues, path) : json_object_get(issues, "formErrors");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(v), msg) == 0)
            return true;
    }
    return false;
}

/* Asserts that path carries msg, printing all issues otherwise. */
#define assert_msg(issues, path, msg)                                                                        \
    do {                                                                                                     \
        if (!has_msg((issues), (path), (msg))) {                                                             \
            char *dump_ = tdump(issues);                                                                     \
            ck_abort_msg("expected %s: \"%s\" in %s", (path) ? (path) : "(form)", (msg), dump_);             \
        }                                                                                                    \
    } while (0)

/* Asserts JSON equality against text (keys sorted in the message). */
#define assert_json_eq(value, text)                                                                          \
    do {                                                                                                     \
        json_t *want_ = tj(text);                                                                            \
        if (!json_equal((value), want_)) {                                                                   \
            char *got_ = tdump(value), *exp_ = tdump(want_);                                                 \
            ck_abort_msg("JSON differs:\n got  %s\n want %s", got_, exp_);                                   \
        }                                                                                                    \
        json_decref(want_);                                                                                  \
    } while (0)

static inline size_t field_count(const json_t *issues)
{
    return json_object_size(json_object_get(issues, "fieldErrors"));
}

/* CPU seconds of this thread: the "cheap" checks measure work done, which a loaded CI machine
 * (other tests, sanitizers' own threads) does not change the way it changes wall-clock time. */
static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads a file under CRAFTKIT_TEST_DATA as JSON. */
static inline json_t *load_test_json(const char *rel)
{
    const char *dir = getenv("CRAFTKIT_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", rel);
    json_error_t err;
    json_t *v = json_load_file(path, 0, &err);
    ck_assert_msg(v != NULL, "cannot load %s: %s", path, err.text);
    return v;
}

/* Runs a suite and turns the result into an exit status. */
#endif
