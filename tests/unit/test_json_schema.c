/* Unit tests for manifest_json_schema(): the shape of the emitted Draft-07 schema. Whether
 * ajv then accepts exactly what the server accepts is tests/agreement's job. */
#include "manifest/strfmt.h"
#include "manifest_testutil.h"

static json_t *schema_of(const char *manifest, unsigned flags)
{
    manifest_t *m = compile_ok(manifest);
    json_t *s = manifest_json_schema_ex(m, flags);
    manifest_free(m);
    return s;
}

/* The schema of variable "v" defined by rest. */
static json_t *var_schema(const char *rest)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"variables\":[{\"key\":\"v\",%s}]}", rest);
    json_t *s = schema_of(text, 0);
    json_t *v = json_incref(json_object_get(json_object_get(s, "properties"), "v"));
    json_decref(s);
    ck_assert_ptr_nonnull(v);
    return v;
}

static void expect_var(const char *rest, const char *want)
{
    json_t *v = var_schema(rest);
    assert_json_eq(v, want);
    json_decref(v);
}

START_TEST(root_and_nesting)
{
    json_t *s = schema_of(
        "{\"variables\":["
        "{\"key\":\"customer.name\",\"label\":\"Name\",\"dataType\":\"text\",\"required\":true},"
        "{\"key\":\"customer.address.city\",\"dataType\":\"text\"},"
        "{\"key\":\"total\",\"dataType\":\"currency\",\"required\":true}],"
        "\"loops\":[{\"key\":\"items\",\"label\":\"Items\",\"maxItems\":50,\"itemFields\":["
        "{\"key\":\"qty\",\"dataType\":\"number\",\"integer\":true,\"required\":true}]},"
        "{\"key\":\"tags\",\"minItems\":2,\"itemFields\":[{\"key\":\"t\",\"dataType\":\"text\"}]}]}",
        0);
    assert_json_eq(s, "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\","
                      "\"properties\":{"
                      " \"customer\":{\"type\":\"object\",\"properties\":{"
                      "   \"name\":{\"title\":\"Name\",\"type\":\"string\",\"maxLength\":100000},"
                      "   "
                      "\"address\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
                      "\"maxLength\":100000}}}},"
                      "  \"required\":[\"name\"]},"
                      " \"total\":{\"type\":\"number\"},"
                      " \"items\":{\"title\":\"Items\",\"type\":\"array\",\"items\":{\"type\":\"object\","
                      "   "
                      "\"properties\":{\"qty\":{\"type\":\"integer\"}},\"required\":[\"qty\"]},\"default\":[]"
                      ",\"maxItems\":50},"
                      " \"tags\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"t\":{"
                      "\"type\":\"string\",\"maxLength\":100000}}},"
                      "   \"minItems\":2,\"maxItems\":10000}},"
                      "\"required\":[\"customer\",\"total\",\"tags\"]}");
    /* "$schema" comes first in the serialised text. */
    char *text = json_dumps(s, JSON_COMPACT);
    ck_assert(strncmp(text, "{\"$schema\":", 11) == 0);
    free(text);
    json_decref(s);
}
END_TEST

START_TEST(empty_manifest)
{
    json_t *s = schema_of("{}", 0);
    assert_json_eq(
        s, "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",\"properties\":{}}");
    json_decref(s);
}
END_TEST

START_TEST(strict_schema)
{
    json_t *s =
        schema_of("{\"variables\":[{\"key\":\"a.b\",\"dataType\":\"text\"}],"
                  "\"loops\":[{\"key\":\"l\",\"itemFields\":[{\"key\":\"x\",\"dataType\":\"text\"}]}]}",
                  MANIFEST_STRICT);
    json_t *props = json_object_get(s, "properties");
    ck_assert(json_is_false(json_object_get(s, "additionalProperties")));
    ck_assert(json_is_false(json_object_get(json_object_get(props, "a"), "additionalProperties")));
    ck_assert(json_is_false(
        json_object_get(json_object_get(json_object_get(props, "l"), "items"), "additionalProperties")));
    json_decref(s);
    s = schema_of("{\"variables\":[{\"key\":\"a.b\",\"dataType\":\"text\"}]}", 0);
    ck_assert_ptr_null(json_object_get(s, "additionalProperties"));
    json_decref(s);
}
END_TEST

START_TEST(data_types)
{
    expect_var("\"dataType\":\"text\"", "{\"type\":\"string\",\"maxLength\":100000}");
    expect_var("\"dataType\":\"longtext\",\"minLength\":1,\"maxLength\":20",
               "{\"type\":\"string\",\"minLength\":1,\"maxLength\":20}");
    expect_var("\"dataType\":\"number\"", "{\"type\":\"number\"}");
    expect_var("\"dataType\":\"currency\",\"min\":0,\"max\":99.5",
               "{\"type\":\"number\",\"minimum\":0,\"maximum\":99.5}");
    expect_var("\"dataType\":\"number\",\"integer\":true,\"min\":-3",
               "{\"type\":\"integer\",\"minimum\":-3}");
    expect_var("\"dataType\":\"boolean\"", "{\"type\":\"boolean\"}");
    json_t *d = var_schema("\"dataType\":\"date\"");
    ck_assert_str_eq(json_string_value(json_object_get(d, "type")), "string");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(d, "anyOf"), 0), "format")), "date");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(d, "anyOf"), 1), "format")),
        "date-time");
    json_decref(d);
    json_t *v = var_schema("\"dataType\":\"datetime\"");
    ck_assert_str_eq(json_string_value(json_object_get(v, "format")), "date-time");
    ck_assert_str_eq(json_string_value(json_object_get(v, "pattern")), STRFMT_DATETIME_PATTERN);
    json_decref(v);
    v = var_schema("\"dataType\":\"email\"");
    ck_assert_str_eq(json_string_value(json_object_get(v, "format")), "email");
    ck_assert_str_eq(json_string_value(json_object_get(v, "pattern")), STRFMT_EMAIL_PATTERN);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "maxLength")), 254);
    json_decref(v);
    v = var_schema("\"dataType\":\"url\"");
    ck_assert_str_eq(json_string_value(json_object_get(v, "format")), "uri");
    ck_assert_str_eq(json_string_value(json_object_get(v, "pattern")), STRFMT_URL_PATTERN);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "maxLength")), 2048);
    json_decref(v);
    v = var_schema("\"dataType\":\"image\"");
    ck_assert_str_eq(json_string_value(json_object_get(v, "type")), "string");
    json_t *any = json_object_get(v, "anyOf");
    ck_assert_uint_eq(json_array_size(any), 2);
    json_t *url = json_array_get(any, 0), *data = json_array_get(any, 1);
    ck_assert_str_eq(json_string_value(json_object_get(url, "format")), "uri");
    ck_assert_str_eq(json_string_value(json_object_get(url, "pattern")), STRFMT_URL_PATTERN);
    ck_assert_str_eq(json_string_value(json_object_get(data, "pattern")), STRFMT_IMAGE_DATA_PATTERN);
    ck_assert_int_eq(json_integer_value(json_object_get(data, "maxLength")), 5242880);
    json_decref(v);
}
END_TEST

START_TEST(constraints)
{
    expect_var("\"dataType\":\"text\",\"label\":\"Code\",\"pattern\":\"^[A-Z]+$\",\"enum\":[\"AB\",\"CD\"],"
               "\"default\":\"AB\"",
               "{\"title\":\"Code\",\"type\":\"string\",\"maxLength\":100000,\"pattern\":\"^[A-Z]+$\","
               "\"enum\":[\"AB\",\"CD\"],\"default\":\"AB\"}");
    expect_var("\"dataType\":\"number\",\"enum\":[1,2.5],\"default\":1",
               "{\"type\":\"number\",\"enum\":[1,2.5],\"default\":1}");
    /* A user pattern on top of a format pattern goes into allOf. */
    json_t *v = var_schema("\"dataType\":\"email\",\"pattern\":\"@example\\\\.com$\"");
    ck_assert_str_eq(json_string_value(json_object_get(v, "pattern")), STRFMT_EMAIL_PATTERN);
    assert_json_eq(json_object_get(v, "allOf"), "[{\"pattern\":\"@example\\\\.com$\"}]");
    json_decref(v);
    /* Required with a default is impossible; an optional default is not "required". */
    json_t *s = schema_of("{\"variables\":[{\"key\":\"a.b\",\"dataType\":\"text\",\"default\":\"x\"}]}", 0);
    ck_assert_ptr_null(json_object_get(s, "required"));
    ck_assert_ptr_null(json_object_get(json_object_get(json_object_get(s, "properties"), "a"), "required"));
    json_decref(s);
}
END_TEST

START_TEST(invoice_schema_is_stable)
{
    json_t *j = load_test_json("manifest/invoice.json");
    manifest_status_t st;
    manifest_t *m = manifest_compile(j, &st, NULL);
    ck_assert_ptr_nonnull(m);
    json_t *a = manifest_json_schema(m), *b = manifest_json_schema(m);
    ck_assert(json_equal(a, b));
    json_t *req = json_object_get(a, "required");
    assert_json_eq(req, "[\"invoice\",\"company\",\"customer\",\"total\"]");
    json_decref(a);
    json_decref(b);
    manifest_free(m);
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("json_schema");
    TCase *tc = tcase_create("schema");
    tcase_add_test(tc, root_and_nesting);
    tcase_add_test(tc, empty_manifest);
    tcase_add_test(tc, strict_schema);
    tcase_add_test(tc, data_types);
    tcase_add_test(tc, constraints);
    tcase_add_test(tc, invoice_schema_is_stable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
