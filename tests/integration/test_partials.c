/* The partial library (issue 19): PUT/GET/DELETE /v1/partials/:name and the paged list, each
 * partial checked on its own when saved (problems at exact paths, cycles through the library,
 * unknown partials), the copy of the library partials a template version uses into its layout
 * ("libraryPartials") so that changing the library changes only versions saved afterwards, the
 * layout's own partials winning over the library's, isolation between projects and every bad
 * input (names, sizes, nesting, the count caps). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "harness_render.h"
#include "tu.h"

static th_server_t *srv;

#define MANIFEST "{\"variables\":[{\"key\":\"company\",\"dataType\":\"text\"}]}"

static th_resp_t *put_partial(const char *key, const char *name, const char *body)
{
    char path[512];
    snprintf(path, sizeof path, "/v1/partials/%s", name);
    return th_req(srv, "PUT", path, key, body, NULL);
}

static void put_ok(const char *key, const char *name, const char *body, long status)
{
    th_resp_t *r = put_partial(key, name, body);
    ck_assert_msg(r->status == status, "%s: %ld %s", name, r->status, r->body);
    th_resp_free(r);
}

/* PUT /v1/templates/<slug> with the manifest above and layout (JSON text). */
static th_resp_t *put_template(const char *key, const char *slug, const char *layout)
{
    char path[256], *body = malloc(strlen(layout) + 256);
    snprintf(path, sizeof path, "/v1/templates/%s", slug);
    sprintf(body, "{\"manifest\":" MANIFEST ",\"layout\":%s}", layout);
    th_resp_t *r = th_req(srv, "PUT", path, key, body, NULL);
    free(body);
    return r;
}

/* The fieldErrors of an error envelope. */
static json_t *field_errors(const th_resp_t *r)
{
    return json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
}

/* Asserts r is 400 invalid_request with an issue at path whose message contains needle. */
static void assert_issue(const th_resp_t *r, const char *path, const char *needle)
{
    th_assert_error(r, 400, "invalid_request");
    json_t *msgs = json_object_get(field_errors(r), path);
    const char *m = json_string_value(json_array_get(msgs, 0));
    ck_assert_msg(m && strstr(m, needle), "%s: %s", path, r->body);
}

/* The text of a sync render of slug (version 0: the current one); caller frees. */
static char *render_text(const char *key, const char *slug, int version)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"data\":{\"company\":\"Acme\"},\"options\":{\"sync\":true,\"versionNumber\":%d}}", version);
    if (version == 0)
        snprintf(body, sizeof body, "{\"data\":{\"company\":\"Acme\"},\"options\":{\"sync\":true}}");
    th_resp_t *r = th_render_post(srv, key, slug, body, NULL);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    char path[256];
    snprintf(path, sizeof path, "/v1/renders/%s/download", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    char *text = th_pdf_text(r->body, r->len);
    th_resp_free(r);
    ck_assert_ptr_nonnull(text);
    return text;
}

START_TEST(create_replace_list_get_delete)
{
    char pid[64], key[128];
    th_project(srv, "Library", false, pid, key);
    th_resp_t *r = put_partial(key, "letterhead",
                               "{\"partial\":[{\"type\":\"text\",\"text\":\"{{company}}\"}],"
                               "\"description\":\"The company header\"}");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "name"), "letterhead");
    ck_assert_str_eq(th_str(r->json, "description"), "The company header");
    ck_assert(json_is_array(json_object_get(r->json, "partial")));
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    /* the same name again replaces it (same id, 200), key order kept */
    r = put_partial(key, "letterhead", "{\"partial\":{\"type\":\"text\",\"text\":\"Acme\",\"bold\":true}}");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    ck_assert(json_is_null(json_object_get(r->json, "description")));
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/partials/letterhead", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "{\"type\":\"text\",\"text\":\"Acme\",\"bold\":true}"), "%s", r->body);
    th_resp_free(r);
    put_ok(key, "address", "{\"partial\":\"Kings Road 1\"}", 201);
    put_ok(key, "foot_er-2", "{\"partial\":[]}", 201);
    /* pages, newest first, without the blocks */
    r = th_req(srv, "GET", "/v1/partials?limit=2", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *list = json_object_get(r->json, "partials");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(th_str(json_array_get(list, 0), "name"), "foot_er-2");
    ck_assert_str_eq(th_str(json_array_get(list, 1), "name"), "address");
    ck_assert_ptr_null(json_object_get(json_array_get(list, 0), "partial"));
    ck_assert(json_is_true(json_object_get(r->json, "hasMore")));
    char path[256];
    snprintf(path, sizeof path, "/v1/partials?limit=2&cursor=%s", th_str(r->json, "nextCursor"));
    th_resp_free(r);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    list = json_object_get(r->json, "partials");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(th_str(json_array_get(list, 0), "name"), "letterhead");
    ck_assert(json_is_false(json_object_get(r->json, "hasMore")));
    th_resp_free(r);
    r = th_req(srv, "DELETE", "/v1/partials/address", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_str(r->json, "name"), "address");
    ck_assert(json_is_string(json_object_get(r->json, "deletedAt")));
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/partials/address", key, NULL, 404, "partial_not_found");
    th_expect_error(srv, "DELETE", "/v1/partials/address", key, NULL, 404, "partial_not_found");
    th_expect_error(srv, "GET", "/v1/partials", NULL, NULL, 401, "unauthorized");
}
END_TEST

START_TEST(projects_are_isolated)
{
    char pid[64], key[128], pid2[64], key2[128];
    th_project(srv, "Iso A", false, pid, key);
    th_project(srv, "Iso B", false, pid2, key2);
    put_ok(key, "secret", "{\"partial\":\"Only for A\"}", 201);
    th_expect_error(srv, "GET", "/v1/partials/secret", key2, NULL, 404, "partial_not_found");
    th_expect_error(srv, "DELETE", "/v1/partials/secret", key2, NULL, 404, "partial_not_found");
    th_resp_t *r = th_req(srv, "GET", "/v1/partials", key2, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "partials")), 0);
    th_resp_free(r);
    /* B's layouts do not see A's library, nor do B's partials */
    r = put_template(key2, "iso", "{\"body\":[{\"type\":\"partial\",\"name\":\"secret\"}]}");
    assert_issue(r, "layout.body.0.name", "Unknown partial \"secret\"");
    th_resp_free(r);
    r = put_partial(key2, "uses", "{\"partial\":{\"type\":\"partial\",\"name\":\"secret\"}}");
    assert_issue(r, "partial.name", "Unknown partial \"secret\"");
    th_resp_free(r);
    /* B may have its own of the same name */
    put_ok(key2, "secret", "{\"partial\":\"Only for B\"}", 201);
    r = th_req(srv, "GET", "/v1/partials/secret", key, NULL, NULL);
    ck_assert_msg(strstr(r->body, "Only for A"), "%s", r->body);
    th_resp_free(r);
}
END_TEST

/* `craftkit render --layout` of layout (JSON text) with {"company": "Acme"}: its text has needle. */
static void cli_render_has(const char *layout, const char *needle)
{
    char lpath[700], dpath[700], opath[700];
    snprintf(lpath, sizeof lpath, "%s/cli-layout.json", srv->dir);
    snprintf(dpath, sizeof dpath, "%s/cli-data.json", srv->dir);
    snprintf(opath, sizeof opath, "%s/cli-out.pdf", srv->dir);
    FILE *f = fopen(lpath, "w");
    ck_assert_ptr_nonnull(f);
    fputs(layout, f);
    fclose(f);
    f = fopen(dpath, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"company\":\"Acme\"}", f);
    fclose(f);
    const char *args[] = {"render", "--layout", lpath, "--data", dpath, "-o", opath, "--quiet", NULL};
    char *out = NULL;
    ck_assert_int_eq(th_cli(srv, &out, args), 0);
    free(out);
    tu_bytes_t pdf = tu_bytes_load(opath);
    char *text = th_pdf_text((const char *)pdf.data, pdf.len);
    ck_assert_msg(text && strstr(text, needle), "%s", text ? text : "(not a PDF)");
    free(text);
    free(pdf.data);
}

/* A version keeps the library partials it uses as they were when it was saved. */
START_TEST(versions_keep_their_library_partials)
{
    char pid[64], key[128];
    th_project(srv, "Snapshots", false, pid, key);
    put_ok(key, "address", "{\"partial\":\"Kings Road 1\"}", 201);
    put_ok(
        key, "letterhead",
        "{\"partial\":[{\"type\":\"text\",\"text\":\"Head of {{company}}\"},{\"type\":\"partial\",\"name\":"
        "\"address\"}]}",
        201);
    put_ok(key, "unused", "{\"partial\":\"never used\"}", 201);
    /* the layout's own "address" is for the layout; the library's letterhead uses the library's */
    const char *layout = "{\"partials\":{\"address\":\"Local street 9\"},"
                         "\"header\":{\"type\":\"partial\",\"name\":\"letterhead\"},"
                         "\"body\":[{\"type\":\"partial\",\"name\":\"address\"}, \"Body text\"]}";
    th_resp_t *r = put_template(key, "letter", layout);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates/letter/versions/1", key, NULL, NULL);
    json_t *lib = json_object_get(json_object_get(r->json, "layout"), "libraryPartials");
    ck_assert_msg(json_object_size(lib) == 2 && json_object_get(lib, "letterhead") &&
                      json_object_get(lib, "address"),
                  "%s", r->body);
    char *v1_layout = json_dumps(json_object_get(r->json, "layout"), JSON_COMPACT);
    th_resp_free(r);
    /* the partial says which templates' current versions carry a copy of it */
    r = th_req(srv, "GET", "/v1/partials/address", key, NULL, NULL);
    json_t *users = json_object_get(r->json, "usedBy");
    ck_assert_msg(json_array_size(users) == 1, "%s", r->body);
    ck_assert_str_eq(th_str(json_array_get(users, 0), "template"), "letter");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(users, 0), "version")), 1);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/partials/unused", key, NULL, NULL);
    ck_assert_msg(json_array_size(json_object_get(r->json, "usedBy")) == 0, "%s", r->body);
    th_resp_free(r);
    /* the exported layout renders offline as it is: `craftkit render` needs no library */
    cli_render_has(v1_layout, "Kings Road 1");
    char *text = render_text(key, "letter", 0);
    ck_assert_msg(strstr(text, "Head of Acme") && strstr(text, "Kings Road 1") &&
                      strstr(text, "Local street 9"),
                  "%s", text);
    free(text);

    /* replacing a library partial changes only versions saved afterwards */
    put_ok(key, "address", "{\"partial\":\"Queens Road 2\"}", 200);
    text = render_text(key, "letter", 0);
    ck_assert_msg(strstr(text, "Kings Road 1") && !strstr(text, "Queens"), "%s", text);
    free(text);
    r = put_template(key, "letter", layout);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    th_resp_free(r);
    text = render_text(key, "letter", 0);
    ck_assert_msg(strstr(text, "Queens Road 2"), "%s", text);
    free(text);
    text = render_text(key, "letter", 1);
    ck_assert_msg(strstr(text, "Kings Road 1"), "%s", text);
    free(text);

    /* deleting it is allowed: saved versions still render from their copies ... */
    r = th_req(srv, "DELETE", "/v1/partials/address", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    text = render_text(key, "letter", 0);
    ck_assert_msg(strstr(text, "Queens Road 2"), "%s", text);
    free(text);
    /* ... while saving a layout that needs it, even one sent back with its copy, says where */
    r = put_template(key, "letter", v1_layout);
    assert_issue(r, "layout.libraryPartials.letterhead.1.name", "Unknown partial \"address\"");
    th_resp_free(r);
    free(v1_layout);

    /* a preview uses the library as it is now */
    r = th_req(srv, "POST", "/v1/templates/letter/preview", key,
               "{\"data\":{\"company\":\"Acme\"},\"manifest\":" MANIFEST
               ",\"layout\":{\"body\":[{\"type\":\"partial\",\"name\":\"letterhead\"}]}}",
               NULL);
    assert_issue(r, "layout.libraryPartials.letterhead.1.name", "Unknown partial \"address\"");
    th_resp_free(r);
    put_ok(key, "address", "{\"partial\":\"Preview Lane\"}", 201);
    r = th_req(srv, "POST", "/v1/templates/letter/preview", key,
               "{\"data\":{\"company\":\"Acme\"},\"manifest\":" MANIFEST
               ",\"layout\":{\"body\":[{\"type\":\"partial\",\"name\":\"letterhead\"}]}}",
               NULL);
    ck_assert_msg(r->status == 200, "%ld %.300s", r->status, r->body);
    th_resp_free(r);

    /* the data a library partial names is checked against each template's manifest */
    put_ok(key, "typo", "{\"partial\":{\"type\":\"text\",\"text\":\"{{compnay}}\"}}", 201);
    r = put_template(key, "typo-user", "{\"body\":[{\"type\":\"partial\",\"name\":\"typo\"}]}");
    assert_issue(r, "layout.libraryPartials.typo.text", "compnay");
    th_resp_free(r);
}
END_TEST

/* {"partial": n boxes nested in each other around inner}; caller frees. */
static char *nested_boxes(int n, const char *inner)
{
    char *s = malloc((size_t)n * 40 + strlen(inner) + 64);
    size_t o = (size_t)sprintf(s, "{\"partial\":");
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(s + o, "{\"type\":\"box\",\"children\":[");
    o += (size_t)sprintf(s + o, "%s", inner);
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(s + o, "]}");
    sprintf(s + o, "}");
    return s;
}

START_TEST(saved_partials_are_checked)
{
    char pid[64], key[128];
    th_project(srv, "Checks", false, pid, key);
    th_resp_t *r = put_partial(key, "box",
                               "{\"partial\":{\"type\":\"box\",\"children\":[{\"type\":\"bogus\"},"
                               "{\"type\":\"text\",\"text\":\"x\",\"colour\":\"red\"}]}}");
    assert_issue(r, "partial.children.0.type", "bogus");
    ck_assert_msg(json_object_get(field_errors(r), "partial.children.1.colour") != NULL, "%s", r->body);
    th_resp_free(r);
    r = put_partial(key, "num", "{\"partial\":42}");
    assert_issue(r, "partial", "Expected a block or a list of blocks");
    th_resp_free(r);
    r = put_partial(key, "none", "{\"description\":\"no blocks\"}");
    assert_issue(r, "partial", "Required");
    th_resp_free(r);
    r = put_partial(key, "extra", "{\"partial\":[],\"layout\":{}}");
    th_assert_error(r, 400, "invalid_request");
    th_resp_free(r);
    r = put_partial(key, "long-description", "{\"partial\":[],\"description\":7}");
    assert_issue(r, "description", "");
    th_resp_free(r);
    /* unknown partials, itself, and circles through the library */
    r = put_partial(key, "a", "{\"partial\":[\"A\",{\"type\":\"partial\",\"name\":\"missing\"}]}");
    assert_issue(r, "partial.1.name", "Unknown partial \"missing\"");
    th_resp_free(r);
    r = put_partial(key, "self", "{\"partial\":{\"type\":\"partial\",\"name\":\"self\"}}");
    assert_issue(r, "partial.name", "Partial \"self\" uses itself (self → self)");
    th_resp_free(r);
    put_ok(key, "b", "{\"partial\":\"B\"}", 201);
    put_ok(key, "a", "{\"partial\":[{\"type\":\"partial\",\"name\":\"b\"}]}", 201);
    r = put_partial(key, "b",
                    "{\"partial\":{\"type\":\"box\",\"children\":[{\"type\":\"partial\",\"name\":\"a\"}]}}");
    assert_issue(r, "libraryPartials.a.0.name", "Partial \"b\" uses itself (b → a → b)");
    th_resp_free(r);
    /* deep nesting: past the body's 64 levels is invalid JSON; within them, partials that nest
     * boxes inside each other pass the engine's block nesting in the one that closes it */
    char *deep = nested_boxes(200, "\"x\"");
    r = put_partial(key, "deep", deep);
    th_assert_error(r, 400, "invalid_json");
    th_resp_free(r);
    free(deep);
    deep = nested_boxes(30, "\"x\"");
    put_ok(key, "deep1", deep, 201);
    free(deep);
    deep = nested_boxes(30, "{\"type\":\"partial\",\"name\":\"deep1\"}");
    r = put_partial(key, "deep2", deep);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(strstr(r->body, "Blocks nested more than"), "%.400s", r->body);
    th_resp_free(r);
    free(deep);
    /* too large: a named cap, 413 */
    size_t big = 70 * 1024;
    char *huge = malloc(big + 64);
    size_t o = (size_t)sprintf(huge, "{\"partial\":\"");
    memset(huge + o, 'x', big);
    sprintf(huge + o + big, "\"}");
    r = put_partial(key, "huge", huge);
    th_assert_error(r, 413, "partial_too_large");
    th_resp_free(r);
    free(huge);
    th_expect_error(srv, "GET", "/v1/partials/huge", key, NULL, 404, "partial_not_found");
}
END_TEST

START_TEST(bad_names_are_refused)
{
    char pid[64], key[128];
    th_project(srv, "Names", false, pid, key);
    const char *bad[] = {"bad.name",
                         "-dash",
                         "_under",
                         "%C3%A9t%C3%A9",
                         "a%2Fb",
                         "..",
                         "with%20space",
                         "0123456789012345678901234567890123456789012345678901234567890123456789",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        th_resp_t *r = put_partial(key, bad[i], "{\"partial\":\"x\"}");
        ck_assert_msg(r->status == 400 || r->status == 404, "%s: %ld %s", bad[i], r->status, r->body);
        if (r->status == 400)
            assert_issue(r, "name", "1 to 64 letters");
        th_resp_free(r);
        char path[256];
        snprintf(path, sizeof path, "/v1/partials/%s", bad[i]);
        r = th_req(srv, "GET", path, key, NULL, NULL);
        ck_assert_msg(r->status == 404, "%s: %ld", bad[i], r->status);
        th_resp_free(r);
    }
    th_resp_t *r = th_req(srv, "GET", "/v1/partials", key, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "partials")), 0);
    th_resp_free(r);
    /* 64 characters is the longest name */
    put_ok(key, "A123456789012345678901234567890123456789012345678901234567890123", "{\"partial\":\"x\"}",
           201);
}
END_TEST

/* Puts n partials p1 … pn into the project's library through SQL. */
static void fill_library(const char *pid, int n)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO partials (id, project_id, name, partial) SELECT gen_random_uuid(), '%s', 'p' || n,"
             " '\"x\"' FROM generate_series(1, %d) n",
             pid, n);
    free(th_sql(srv, sql));
}

/* The caps on a library (PARTIALS_PROJECT_MAX) and on what one version may carry
 * (PARTIALS_SNAPSHOT_MAX), filled through SQL. */
START_TEST(count_caps)
{
    char pid[64], key[128];
    th_project(srv, "Caps", false, pid, key);
    fill_library(pid, 500);
    th_resp_t *r = put_partial(key, "one-more", "{\"partial\":\"x\"}");
    th_assert_error(r, 409, "partial_limit_reached");
    th_resp_free(r);
    put_ok(key, "p1", "{\"partial\":\"replacing is fine\"}", 200);
    /* a layout that uses 65 of them */
    char *layout = malloc(8192);
    size_t o = (size_t)sprintf(layout, "{\"body\":[");
    for (int i = 1; i <= 65; i++)
        o += (size_t)sprintf(layout + o, "%s{\"type\":\"partial\",\"name\":\"p%d\"}", i > 1 ? "," : "", i);
    sprintf(layout + o, "]}");
    r = put_template(key, "many", layout);
    assert_issue(r, "layout", "more than 64 library partials");
    th_resp_free(r);
    free(layout);
}
END_TEST

/* Concurrent creates against a library one short of PARTIALS_PROJECT_MAX: exactly one wins
 * (the count and the insert are serialised per project). */
#define RACERS 8
typedef struct {
    const char *key;
    int index;
    long status;
} racer_t;

static void *race_put(void *arg)
{
    racer_t *rc = arg;
    char name[32];
    snprintf(name, sizeof name, "racer-%d", rc->index);
    th_resp_t *r = put_partial(rc->key, name, "{\"partial\":\"x\"}");
    rc->status = r->status;
    th_resp_free(r);
    return NULL;
}

START_TEST(count_cap_holds_under_concurrent_creates)
{
    char pid[64], key[128], sql[1024];
    th_project(srv, "Race", false, pid, key);
    fill_library(pid, 499);
    pthread_t t[RACERS];
    racer_t args[RACERS];
    for (int i = 0; i < RACERS; i++) {
        args[i] = (racer_t){.key = key, .index = i};
        pthread_create(&t[i], NULL, race_put, &args[i]);
    }
    int created = 0, refused = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        created += args[i].status == 201;
        refused += args[i].status == 409;
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(refused, RACERS - 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM partials WHERE project_id = '%s'", pid);
    char *n = th_sql(srv, sql);
    ck_assert_str_eq(n, "500");
    free(n);
}
END_TEST

int main(void)
{
    srv = th_start("partials", NULL);
    Suite *s = suite_create("partials");
    TCase *tc = tcase_create("partials");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, create_replace_list_get_delete);
    tcase_add_test(tc, projects_are_isolated);
    tcase_add_test(tc, versions_keep_their_library_partials);
    tcase_add_test(tc, saved_partials_are_checked);
    tcase_add_test(tc, bad_names_are_refused);
    tcase_add_test(tc, count_caps);
    tcase_add_test(tc, count_cap_holds_under_concurrent_creates);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
