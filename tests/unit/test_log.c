/* The log escapers: a client's bytes can never add a line, a key or invalid JSON/UTF-8. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "tu.h"

static char *text_value(const char *s)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    log_append_text_value(&b, s);
    return buf_detach(&b, NULL);
}

static char *json_escaped(const char *s)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    log_append_json(&b, s);
    return buf_detach(&b, NULL);
}

START_TEST(text_values_escape_controls_and_quote_when_needed)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"/v1/templates", "/v1/templates"},
        {"", "\"\""},
        {"/x\n2026-01-01 info forged", "\"/x\\n2026-01-01 info forged\""},
        {"a\rb\tc", "\"a\\rb\\tc\""},
        {"k=v", "\"k=v\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"\x01\x1b[31m\x7f", "\"\\x01\\x1b[31m\\x7f\""},
        {"caf\xc3\xa9", "caf\xc3\xa9"},          /* UTF-8 stays as it is */
        {"bad\xff\xc3", "\"bad\\xff\\xc3\""},    /* bytes that are not UTF-8 */
        {"\xed\xa0\x80", "\"\\xed\\xa0\\x80\""}, /* a surrogate */
        {"\xc0\xaf", "\"\\xc0\\xaf\""},          /* an overlong '/' */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = text_value(cases[i].in);
        ck_assert_msg(!strcmp(got, cases[i].out), "case %zu: got %s want %s", i, got, cases[i].out);
        ck_assert_ptr_null(strchr(got, '\n'));
        free(got);
    }
}
END_TEST

START_TEST(text_messages_escape_without_quotes)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    log_append_text(&b, "cannot connect:\nFATAL \"x\"", false);
    ck_assert_str_eq(buf_cstr(&b), "cannot connect:\\nFATAL \"x\"");
    buf_free(&b);
}
END_TEST

START_TEST(json_strings_are_valid_json_and_utf8)
{
    const char *inputs[] = {
        "plain",   "line\nbreak", "quote\" back\\",  "\x01\x7f", "caf\xc3\xa9 \xf0\x9f\x98\x80",
        "bad\xff", "\xe2\x82",    "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *got = json_escaped(inputs[i]);
        json_error_t err;
        json_t *v = json_loads(got, JSON_DECODE_ANY, &err);
        ck_assert_msg(v && json_is_string(v), "case %zu: %s is not a JSON string: %s", i, got, err.text);
        json_decref(v);
        free(got);
    }
    char *got = json_escaped("a\xff"
                             "b\n");
    ck_assert_str_eq(got, "\"a\\\\xffb\\u000a\"");
    free(got);
    got = json_escaped("caf\xc3\xa9");
    ck_assert_str_eq(got, "\"caf\xc3\xa9\"");
    free(got);
}
END_TEST

/* The line log_event writes to stderr for msg and one field key=val. */
static char *logged_line(const char *key, const char *val)
{
    char path[] = "/tmp/test_log_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    int saved = dup(2);
    dup2(fd, 2);
    log_event(LOG_INFO, "hello", key, val, "after", "x", NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *line = calloc(1, 64 * 1024);
    ck_assert_int_gt(pread(fd, line, 64 * 1024 - 1, 0), 0);
    close(fd);
    unlink(path);
    return line;
}

START_TEST(a_line_over_the_limit_is_cut_whole)
{
    /* A value larger than a log line is left out, and the line says so and stays one valid
     * JSON object (never cut in the middle of a string). */
    log_set_json(true);
    char *big = malloc(40000);
    memset(big, 'v', 39999);
    big[39999] = 0;
    char *line = logged_line("big", big);
    char *eol = strchr(line, '\n');
    ck_assert(eol && eol[1] == 0); /* one line */
    json_error_t err;
    json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, &err);
    ck_assert_msg(o, "not JSON: %s (%.200s)", err.text, line);
    ck_assert_str_eq(json_string_value(json_object_get(o, "msg")), "hello");
    ck_assert_ptr_null(json_object_get(o, "big"));
    ck_assert_str_eq(json_string_value(json_object_get(o, "after")), "x");
    ck_assert(json_is_true(json_object_get(o, "truncated")));
    json_decref(o);
    free(line);
    line = logged_line("small", "y"); /* a line that fits is whole, with no mark */
    o = json_loads(line, JSON_DISABLE_EOF_CHECK, &err);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "small")), "y");
    ck_assert_ptr_null(json_object_get(o, "truncated"));
    json_decref(o);
    free(line);
    free(big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("escape");
    tcase_add_test(tc, text_values_escape_controls_and_quote_when_needed);
    tcase_add_test(tc, text_messages_escape_without_quotes);
    tcase_add_test(tc, json_strings_are_valid_json_and_utf8);
    tcase_add_test(tc, a_line_over_the_limit_is_cut_whole);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
