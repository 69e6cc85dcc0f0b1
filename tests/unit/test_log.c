/* The log escapers: a client's bytes can never add a line, a key or invalid JSON/UTF-8. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("escape");
    tcase_add_test(tc, text_values_escape_controls_and_quote_when_needed);
    tcase_add_test(tc, text_messages_escape_without_quotes);
    tcase_add_test(tc, json_strings_are_valid_json_and_utf8);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
