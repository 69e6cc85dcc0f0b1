/* Unit tests for manifest_compile(): every compile error (message and path), limits,
 * introspection and manifest_to_json(). */
#include "manifest_testutil.h"

#define V1(def) "{\"variables\":[" def "]}"

/* Compiles a one-variable manifest that must fail and checks one message. */
static void expect_var_error(const char *def, const char *path, const char *msg)
{
    char text[4096];
    snprintf(text, sizeof text, "{\"variables\":[%s]}", def);
    manifest_status_t st;
    json_t *issues = compile_fail(text, &st);
    ck_assert_int_eq(st, MANIFEST_INVALID);
    assert_msg(issues, path, msg);
    json_decref(issues);
}

START_TEST(invoice_manifest_compiles)
{
    json_t *j = load_test_json("manifest/invoice.json");
    manifest_status_t st;
    json_t *issues;
    manifest_t *m = manifest_compile(j, &st, &issues);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(st, MANIFEST_OK);
    ck_assert_uint_eq(manifest_variable_count(m), 12);
    ck_assert_uint_eq(manifest_loop_count(m), 1);
    const manifest_field_info_t *v = manifest_variable(m, 0);
    ck_assert_str_eq(v->key, "invoice.number");
    ck_assert_str_eq(v->label, "Invoice no.");
    ck_assert_int_eq(v->type, MANIFEST_TEXT);
    ck_assert(v->required);
    ck_assert_ptr_null(manifest_variable(m, 12));
    const manifest_field_info_t *sub = manifest_find_variable(m, "subtotal");
    ck_assert_ptr_nonnull(sub);
    ck_assert_int_eq(sub->type, MANIFEST_CURRENCY);
    ck_assert_str_eq(sub->format, "money:EUR");
    ck_assert_ptr_null(manifest_find_variable(m, "nope"));
    const manifest_loop_info_t *l = manifest_loop(m, 0);
    ck_assert_str_eq(l->key, "items");
    ck_assert_uint_eq(l->field_count, 5);
    ck_assert_uint_eq(l->max_items, 10000);
    ck_assert_uint_eq(l->min_items, 0);
    ck_assert_ptr_eq(manifest_find_loop(m, "items"), l);
    ck_assert_str_eq(manifest_loop_field(m, 0, 2)->key, "qty");
    ck_assert_ptr_null(manifest_loop_field(m, 0, 5));
    ck_assert_ptr_null(manifest_loop_field(m, 1, 0));
    ck_assert_str_eq(manifest_type_name(MANIFEST_EMAIL), "email");
    /* manifest_to_json gives back what was sent. */
    json_t *back = manifest_to_json(m);
    ck_assert(json_equal(back, j));
    json_decref(back);
    manifest_free(m);
    json_decref(j);
}
END_TEST

START_TEST(to_json_fills_absent_arrays)
{
    manifest_t *m = compile_ok("{}");
    json_t *j = manifest_to_json(m);
    assert_json_eq(j, "{\"variables\":[],\"loops\":[]}");
    json_decref(j);
    manifest_free(m);
    m = compile_ok("{\"loops\":[{\"key\":\"rows\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}]}");
    ck_assert_uint_eq(manifest_variable_count(m), 0);
    j = manifest_to_json(m);
    ck_assert(json_is_array(json_object_get(j, "variables")));
    json_decref(j);
    manifest_free(m);
}
END_TEST

START_TEST(top_level_shape)
{
    manifest_status_t st;
    json_t *is = compile_fail("[]", &st);
    assert_msg(is, "manifest", "Expected object, received array");
    json_decref(is);
    is = compile_fail("{\"variables\":{},\"loops\":3,\"extra\":1}", &st);
    assert_msg(is, "manifest.variables", "Expected array, received object");
    assert_msg(is, "manifest.loops", "Expected array, received number");
    assert_msg(is, "manifest.extra", "Unrecognized key(s) in object: 'extra'");
    json_decref(is);
    ck_assert_ptr_null(manifest_compile(NULL, &st, &is));
    assert_msg(is, "manifest", "Required");
    json_decref(is);
    is = compile_fail("{\"variables\":[1, null]}", &st);
    assert_msg(is, "manifest.variables.0", "Expected object, received number");
    assert_msg(is, "manifest.variables.1", "Expected object, received null");
    json_decref(is);
}
END_TEST

START_TEST(key_rules)
{
    expect_var_error("{\"dataType\":\"text\"}", "manifest.variables.0.key", "Required");
    expect_var_error("{\"key\":5,\"dataType\":\"text\"}", "manifest.variables.0.key",
                     "Expected string, received number");
    const char *bad[] = {"", "9x", "a..b", ".a", "a.", "a b", "a-b", "\\u00e9t\\u00e9", "a.9", "a.b-c"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char def[256];
        snprintf(def, sizeof def, "{\"key\":\"%s\",\"dataType\":\"text\"}", bad[i]);
        expect_var_error(def, "manifest.variables.0.key", "Invalid key");
    }
    /* Prototype-looking names are ordinary keys. */
    manifest_t *m = compile_ok(V1("{\"key\":\"__proto__.constructor\",\"dataType\":\"text\"}"));
    manifest_free(m);
    /* Length and depth caps. */
    char def[1024], key[512];
    memset(key, 'k', 201);
    key[201] = '\0';
    snprintf(def, sizeof def, "{\"key\":\"%s\",\"dataType\":\"text\"}", key);
    expect_var_error(def, "manifest.variables.0.key", "Key must be at most 200 characters");
    expect_var_error("{\"key\":\"a.b.c.d.e.f.g.h.i.j.k\",\"dataType\":\"text\"}", "manifest.variables.0.key",
                     "Key must have at most 10 dot-separated segments");
    m = compile_ok(V1("{\"key\":\"a.b.c.d.e.f.g.h.i.j\",\"dataType\":\"text\"}"));
    manifest_free(m);
}
END_TEST

START_TEST(data_type_and_flags)
{
    expect_var_error("{\"key\":\"a\"}", "manifest.variables.0.dataType", "Required");
    expect_var_error("{\"key\":\"a\",\"dataType\":\"string\"}", "manifest.variables.0.dataType",
                     "Invalid enum value. Expected 'text' | 'longtext' | 'number' | 'currency' | "
                     "'date' | 'datetime' | 'boolean' | 'image' | 'url' | 'email', received 'string'");
    expect_var_error("{\"key\":\"a\",\"dataType\":true}", "manifest.variables.0.dataType",
                     "Expected string, received boolean");
    expect_var_error("{\"key\":\"a\",\"dataType\":\"text\",\"required\":\"yes\"}",
                     "manifest.variables.0.required", "Expected boolean, received string");
    expect_var_error("{\"key\":\"a\",\"dataType\":\"text\",\"label\":7}", "manifest.variables.0.label",
                     "Expected string, received number");
    expect_var_error("{\"key\":\"a\",\"dataType\":\"text\",\"label\":\"x\\u0000y\"}",
                     "manifest.variables.0.label", "String must not contain NUL characters");
    expect_var_error("{\"key\":\"a\",\"dataType\":\"text\",\"colour\":\"red\"}",
                     "manifest.variables.0.colour", "Unrecognized key(s) in object: 'colour'");
    char def[1024], label[300];
    memset(label, 'l', 201);
    label[201] = '\0';
    snprintf(def, sizeof def, "{\"key\":\"a\",\"dataType\":\"text\",\"label\":\"%s\"}", label);
    expect_var_error(def, "manifest.variables.0.label", "String must contain at most 200 character(s)");
    /* Every dataType compiles. */
    const char *types[] = {"text",     "longtext", "number", "currency", "date",
                           "datetime", "boolean",  "image",  "url",      "email"};
    for (size_t i = 0; i < 10; i++) {
        snprintf(def, sizeof def, "{\"variables\":[{\"key\":\"v\",\"dataType\":\"%s\"}]}", types[i]);
        manifest_t *m = compile_ok(def);
        ck_assert_int_eq(manifest_variable(m, 0)->type, (manifest_type_t)i);
        ck_assert_str_eq(manifest_type_name((manifest_type_t)i), types[i]);
        ck_assert(!manifest_variable(m, 0)->required);
        manifest_free(m);
    }
}
END_TEST

START_TEST(formats)
{
    /* The syntax is the engine's (engine/format.h format_check_spec): a filter without braces. */
    struct {
        const char *type, *format;
    } ok[] = {
        {"currency", "money:EUR"},
        {"currency", "money:eur"},
        {"number", "currency:USD:en-US"},
        {"number", "number"},
        {"number", "number:2"},
        {"currency", "number:2:de-DE"},
        {"number", "percent"},
        {"number", "percent:1"},
        {"date", "date:DD/MM/YYYY"},
        {"datetime", "date:D MMMM YYYY [at] HH:mm"},
        {"date", "date"},
        {"text", "upper"},
        {"longtext", "truncate:40"},
        {"email", "lower"},
        {"number", "upper"},
        /* text may hold numbers or dates, so number and date filters are allowed there */
        {"text", "number:2"},
        {"longtext", "date:DD.MM.YYYY"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char text[512];
        snprintf(text, sizeof text, V1("{\"key\":\"v\",\"dataType\":\"%s\",\"format\":\"%s\"}"), ok[i].type,
                 ok[i].format);
        manifest_t *m = compile_ok(text);
        ck_assert_str_eq(manifest_variable(m, 0)->format, ok[i].format);
        manifest_free(m);
    }
    struct {
        const char *type, *format, *msg;
    } bad[] = {
        {"currency", "money", "Invalid format 'money': money: needs a currency code, e.g. money:EUR"},
        {"currency", "money:EURO",
         "Invalid format 'money:EURO': money: \"EURO\" is not a three-letter currency code"},
        {"number", "number:11",
         "Invalid format 'number:11': number: decimals must be a whole number from 0 to 10"},
        {"number", "currency:EUR:xx-YY",
         "Invalid format 'currency:EUR:xx-YY': currency: unknown locale \"xx-YY\""},
        {"text", "bogus", "Invalid format 'bogus': unknown format \"bogus\""},
        {"text", "upper:x", "Invalid format 'upper:x': upper: takes no argument"},
        {"date", "money:EUR", "Format 'money:EUR' does not apply to dataType date"},
        {"boolean", "number:2", "Format 'number:2' does not apply to dataType boolean"},
        {"email", "percent", "Format 'percent' does not apply to dataType email"},
        {"number", "date:DD", "Format 'date:DD' does not apply to dataType number"},
        {"image", "date", "Format 'date' does not apply to dataType image"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char def[512];
        snprintf(def, sizeof def, "{\"key\":\"v\",\"dataType\":\"%s\",\"format\":\"%s\"}", bad[i].type,
                 bad[i].format);
        expect_var_error(def, "manifest.variables.0.format", bad[i].msg);
    }
    char def[512], fmt[100];
    memset(fmt, 'D', 61);
    memcpy(fmt, "date:", 5);
    fmt[61] = '\0';
    snprintf(def, sizeof def, "{\"key\":\"v\",\"dataType\":\"date\",\"format\":\"%s\"}", fmt);
    expect_var_error(def, "manifest.variables.0.format", "String must contain at most 60 character(s)");
    expect_var_error("{\"key\":\"v\",\"dataType\":\"date\",\"format\":3}", "manifest.variables.0.format",
                     "Expected string, received number");
}
END_TEST

START_TEST(constraints_apply_to_types)
{
    struct {
        const char *def, *path, *msg;
    } cases[] = {
        {"{\"key\":\"v\",\"dataType\":\"text\",\"min\":1}", "manifest.variables.0.min",
         "min is not supported for dataType text"},
        {"{\"key\":\"v\",\"dataType\":\"date\",\"max\":1}", "manifest.variables.0.max",
         "max is not supported for dataType date"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"integer\":true}", "manifest.variables.0.integer",
         "integer is not supported for dataType text"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"minLength\":1}", "manifest.variables.0.minLength",
         "minLength is not supported for dataType number"},
        {"{\"key\":\"v\",\"dataType\":\"image\",\"maxLength\":1}", "manifest.variables.0.maxLength",
         "maxLength is not supported for dataType image"},
        {"{\"key\":\"v\",\"dataType\":\"date\",\"pattern\":\"x\"}", "manifest.variables.0.pattern",
         "pattern is not supported for dataType date"},
        {"{\"key\":\"v\",\"dataType\":\"boolean\",\"enum\":[true]}", "manifest.variables.0.enum",
         "enum is not supported for dataType boolean"},
        {"{\"key\":\"v\",\"dataType\":\"image\",\"enum\":[\"x\"]}", "manifest.variables.0.enum",
         "enum is not supported for dataType image"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"min\":5,\"max\":1}", "manifest.variables.0.max",
         "max must be greater than or equal to min"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"min\":\"5\"}", "manifest.variables.0.min",
         "Expected number, received string"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"integer\":1}", "manifest.variables.0.integer",
         "Expected boolean, received number"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"minLength\":5,\"maxLength\":2}",
         "manifest.variables.0.maxLength", "maxLength must be greater than or equal to minLength"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"minLength\":-1}", "manifest.variables.0.minLength",
         "Number must be greater than or equal to 0"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"minLength\":1.5}", "manifest.variables.0.minLength",
         "Expected integer, received float"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"maxLength\":100001}", "manifest.variables.0.maxLength",
         "Number must be less than or equal to 100000"},
        {"{\"key\":\"v\",\"dataType\":\"email\",\"maxLength\":255}", "manifest.variables.0.maxLength",
         "Number must be less than or equal to 254"},
        {"{\"key\":\"v\",\"dataType\":\"url\",\"maxLength\":2049}", "manifest.variables.0.maxLength",
         "Number must be less than or equal to 2048"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"pattern\":\"a{2,1}\"}", "manifest.variables.0.pattern",
         "Invalid regular expression: numbers out of order in {} quantifier at offset 1"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"pattern\":\"(?=a)\"}", "manifest.variables.0.pattern",
         "Invalid regular expression: lookaround and named groups are not supported at offset 0"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"pattern\":\"(a)\\\\1\"}", "manifest.variables.0.pattern",
         "Invalid regular expression: backreferences are not supported at offset 3"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"pattern\":\"((a{1000}){1000})\"}",
         "manifest.variables.0.pattern",
         "Invalid regular expression: pattern too complex (more than 2000 states)"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"pattern\":7}", "manifest.variables.0.pattern",
         "Expected string, received number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_var_error(cases[i].def, cases[i].path, cases[i].msg);
    char def[1024], pat[600];
    memset(pat, 'a', 501);
    pat[501] = '\0';
    snprintf(def, sizeof def, "{\"key\":\"v\",\"dataType\":\"text\",\"pattern\":\"%s\"}", pat);
    expect_var_error(def, "manifest.variables.0.pattern",
                     "Invalid regular expression: pattern longer than 500 bytes");
    manifest_t *m =
        compile_ok(V1("{\"key\":\"v\",\"dataType\":\"number\",\"integer\":false,\"min\":-1.5,\"max\":1e9}"));
    manifest_free(m);
}
END_TEST

START_TEST(enum_rules)
{
    struct {
        const char *def, *path, *msg;
    } cases[] = {
        {"{\"key\":\"v\",\"dataType\":\"text\",\"enum\":[]}", "manifest.variables.0.enum",
         "Array must contain at least 1 element(s)"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"enum\":\"a\"}", "manifest.variables.0.enum",
         "Expected array, received string"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"enum\":[\"a\",1]}", "manifest.variables.0.enum.1",
         "Expected string, received number"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"enum\":[1,\"2\"]}", "manifest.variables.0.enum.1",
         "Expected number, received string"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"enum\":[1,1.0]}", "manifest.variables.0.enum.1",
         "Duplicate enum value"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"enum\":[\"a\",\"b\",\"a\"]}", "manifest.variables.0.enum.2",
         "Duplicate enum value"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"minLength\":2,\"enum\":[\"ab\",\"c\"]}",
         "manifest.variables.0.enum.1", "String must contain at least 2 character(s)"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"integer\":true,\"enum\":[1,2.5]}",
         "manifest.variables.0.enum.1", "Expected integer, received float"},
        {"{\"key\":\"v\",\"dataType\":\"date\",\"enum\":[\"2024-02-30\"]}", "manifest.variables.0.enum.0",
         "Invalid date"},
        {"{\"key\":\"v\",\"dataType\":\"email\",\"enum\":[\"nope\"]}", "manifest.variables.0.enum.0",
         "Invalid email"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_var_error(cases[i].def, cases[i].path, cases[i].msg);
    /* Size caps. */
    char def[8192];
    size_t o = (size_t)snprintf(def, sizeof def, "{\"key\":\"v\",\"dataType\":\"number\",\"enum\":[");
    for (int i = 0; i < 101; i++)
        o += (size_t)snprintf(def + o, sizeof def - o, "%s%d", i ? "," : "", i);
    snprintf(def + o, sizeof def - o, "]}");
    expect_var_error(def, "manifest.variables.0.enum", "Array must contain at most 100 element(s)");
    char big[300];
    memset(big, 'e', 201);
    big[201] = '\0';
    snprintf(def, sizeof def, "{\"key\":\"v\",\"dataType\":\"text\",\"enum\":[\"%s\"]}", big);
    expect_var_error(def, "manifest.variables.0.enum.0", "String must contain at most 200 character(s)");
}
END_TEST

START_TEST(default_rules)
{
    struct {
        const char *def, *msg;
    } cases[] = {
        {"{\"key\":\"v\",\"dataType\":\"text\",\"default\":1}", "Expected string, received number"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"default\":null}", "Expected string, received null"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"default\":\"5\"}", "Expected number, received string"},
        {"{\"key\":\"v\",\"dataType\":\"number\",\"max\":3,\"default\":5}",
         "Number must be less than or equal to 3"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"enum\":[\"a\",\"b\"],\"default\":\"c\"}",
         "Invalid enum value. Expected 'a' | 'b', received 'c'"},
        {"{\"key\":\"v\",\"dataType\":\"text\",\"required\":true,\"default\":\"x\"}",
         "A variable with a default cannot be required"},
        {"{\"key\":\"v\",\"dataType\":\"boolean\",\"default\":\"true\"}",
         "Expected boolean, received string"},
        {"{\"key\":\"v\",\"dataType\":\"url\",\"default\":\"ftp://x\"}", "Invalid url"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_var_error(cases[i].def, "manifest.variables.0.default", cases[i].msg);
    manifest_t *m = compile_ok(V1("{\"key\":\"v\",\"dataType\":\"number\",\"default\":2.5}"));
    ck_assert_ptr_nonnull(manifest_variable(m, 0)->default_value);
    ck_assert(json_real_value(manifest_variable(m, 0)->default_value) == 2.5);
    manifest_free(m);
}
END_TEST

START_TEST(duplicates_and_conflicts)
{
    manifest_status_t st;
    json_t *is = compile_fail("{\"variables\":[{\"key\":\"a.b\",\"dataType\":\"text\"},"
                              "{\"key\":\"a.b\",\"dataType\":\"number\"}]}",
                              &st);
    assert_msg(is, "manifest.variables.1.key", "Duplicate key 'a.b'");
    json_decref(is);
    is = compile_fail("{\"variables\":[{\"key\":\"a\",\"dataType\":\"text\"},"
                      "{\"key\":\"a.b\",\"dataType\":\"text\"}]}",
                      &st);
    assert_msg(is, "manifest.variables.1.key",
               "Key 'a.b' conflicts with 'a': a key cannot be both a value and an object");
    json_decref(is);
    is = compile_fail("{\"variables\":[{\"key\":\"a.b.c\",\"dataType\":\"text\"},"
                      "{\"key\":\"a.b\",\"dataType\":\"text\"}]}",
                      &st);
    assert_msg(is, "manifest.variables.1.key",
               "Key 'a.b' conflicts with 'a.b.c': a key cannot be both a value and an object");
    json_decref(is);
    is = compile_fail("{\"variables\":[{\"key\":\"items.count\",\"dataType\":\"number\"}],"
                      "\"loops\":[{\"key\":\"items\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]},"
                      "{\"key\":\"rows\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]},"
                      "{\"key\":\"rows\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"},"
                      "{\"key\":\"a\",\"dataType\":\"number\"}]}]}",
                      &st);
    assert_msg(is, "manifest.loops.0.key", "Loop key 'items' conflicts with variable 'items.count'");
    assert_msg(is, "manifest.loops.2.itemFields.1.key", "Duplicate key 'a'");
    json_decref(is);
    is = compile_fail("{\"loops\":[{\"key\":\"rows\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]},"
                      "{\"key\":\"rows\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}]}",
                      &st);
    assert_msg(is, "manifest.loops.1.key", "Duplicate loop key 'rows'");
    json_decref(is);
    /* Similar but distinct keys are fine, including a shared prefix. */
    manifest_t *m =
        compile_ok("{\"variables\":[{\"key\":\"a.b\",\"dataType\":\"text\"},"
                   "{\"key\":\"a.bc\",\"dataType\":\"text\"},{\"key\":\"ab\",\"dataType\":\"text\"}],"
                   "\"loops\":[{\"key\":\"a_b\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}]}");
    manifest_free(m);
}
END_TEST

START_TEST(loop_rules)
{
    manifest_status_t st;
    json_t *is = compile_fail(
        "{\"loops\":[{\"key\":\"order.items\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}]}",
        &st);
    ck_assert_int_eq(st, MANIFEST_INVALID_LOOP_KEY);
    assert_msg(is, "manifest.loops.0.key",
               "Loop keys must not contain dots: a loop is sent as an array under a top-level key");
    json_decref(is);
    /* With other problems as well, the dotted loop key still decides the status. */
    is = compile_fail("{\"variables\":[{\"key\":\"x\"}],\"loops\":[{\"key\":\"a.b\",\"itemFields\":[]}]}",
                      &st);
    ck_assert_int_eq(st, MANIFEST_INVALID_LOOP_KEY);
    assert_msg(is, "manifest.variables.0.dataType", "Required");
    assert_msg(is, "manifest.loops.0.itemFields", "Array must contain at least 1 element(s)");
    json_decref(is);
    is = compile_fail("{\"loops\":[{\"key\":\"9\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}]}",
                      &st);
    ck_assert_int_eq(st, MANIFEST_INVALID);
    assert_msg(is, "manifest.loops.0.key", "Invalid key");
    json_decref(is);
    struct {
        const char *loop, *path, *msg;
    } cases[] = {
        {"{\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}", "manifest.loops.0.key", "Required"},
        {"{\"key\":\"l\"}", "manifest.loops.0.itemFields", "Required"},
        {"{\"key\":\"l\",\"itemFields\":{}}", "manifest.loops.0.itemFields",
         "Expected array, received object"},
        {"{\"key\":\"l\",\"itemFields\":[{\"key\":\"a.b\",\"dataType\":\"text\"}]}",
         "manifest.loops.0.itemFields.0.key", "Item field keys must not contain dots"},
        {"{\"key\":\"l\",\"itemFields\":[{\"key\":\"a\",\"dataType\":\"nope\"}]}",
         "manifest.loops.0.itemFields.0.dataType",
         "Invalid enum value. Expected 'text' | 'longtext' | 'number' | 'currency' | 'date' | 'datetime' | "
         "'boolean' | 'image' | 'url' | 'email', received 'nope'"},
        {"{\"key\":\"l\",\"minItems\":3,\"maxItems\":2,\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]"
         "}",
         "manifest.loops.0.maxItems", "maxItems must be greater than or equal to minItems"},
        {"{\"key\":\"l\",\"maxItems\":10001,\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}",
         "manifest.loops.0.maxItems", "Number must be less than or equal to 10000"},
        {"{\"key\":\"l\",\"minItems\":-1,\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}",
         "manifest.loops.0.minItems", "Number must be greater than or equal to 0"},
        {"{\"key\":\"l\",\"previewData\":[],\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}",
         "manifest.loops.0.previewData", "Unrecognized key(s) in object: 'previewData'"},
        {"{\"key\":\"l\",\"label\":5,\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\"}]}",
         "manifest.loops.0.label", "Expected string, received number"},
        {"\"l\"", "manifest.loops.0", "Expected object, received string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024];
        snprintf(text, sizeof text, "{\"loops\":[%s]}", cases[i].loop);
        is = compile_fail(text, &st);
        assert_msg(is, cases[i].path, cases[i].msg);
        json_decref(is);
    }
    /* 201 item fields. */
    char *text = malloc(64 * 1024);
    size_t o = (size_t)sprintf(text, "{\"loops\":[{\"key\":\"l\",\"itemFields\":[");
    for (int i = 0; i < 201; i++)
        o += (size_t)sprintf(text + o, "%s{\"key\":\"f%d\",\"dataType\":\"text\"}", i ? "," : "", i);
    sprintf(text + o, "]}]}");
    is = compile_fail(text, &st);
    assert_msg(is, "manifest.loops.0.itemFields", "Array must contain at most 200 element(s)");
    json_decref(is);
    free(text);
    manifest_t *m = compile_ok("{\"loops\":[{\"key\":\"l\",\"label\":\"Rows\",\"minItems\":1,\"maxItems\":5,"
                               "\"itemFields\":[{\"key\":\"a\",\"dataType\":\"text\",\"required\":true}]}]}");
    ck_assert_uint_eq(manifest_loop(m, 0)->min_items, 1);
    ck_assert_uint_eq(manifest_loop(m, 0)->max_items, 5);
    ck_assert_str_eq(manifest_loop(m, 0)->label, "Rows");
    manifest_free(m);
}
END_TEST

/* Builds {"variables":[n × def with key v<i>]} (def is the rest of the object). */
static json_t *many_variables(size_t n, const char *rest)
{
    json_t *vars = json_array();
    for (size_t i = 0; i < n; i++) {
        char def[256];
        snprintf(def, sizeof def, "{\"key\":\"v%zu\"%s}", i, rest);
        json_array_append_new(vars, tj(def));
    }
    json_t *m = json_object();
    json_object_set_new(m, "variables", vars);
    return m;
}

START_TEST(size_limits)
{
    /* 1,000 variables are fine. */
    json_t *j = many_variables(1000, ",\"dataType\":\"text\"");
    manifest_status_t st;
    json_t *is;
    manifest_t *m = manifest_compile(j, &st, &is);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(manifest_variable_count(m), 1000);
    manifest_free(m);
    json_decref(j);
    /* 100,000 are refused at once, without looking at each. */
    j = many_variables(100000, ",\"dataType\":\"text\"");
    double t0 = now_seconds();
    m = manifest_compile(j, &st, &is);
    ck_assert(now_seconds() - t0 < 0.5);
    ck_assert_ptr_null(m);
    assert_msg(is, "manifest.variables", "Array must contain at most 1000 element(s)");
    ck_assert_uint_eq(field_count(is), 1);
    json_decref(is);
    json_decref(j);
    /* 101 loops. */
    json_t *loops = json_array();
    for (int i = 0; i < 101; i++)
        json_array_append_new(loops, tj("{\"key\":\"l\",\"itemFields\":[]}"));
    j = json_object();
    json_object_set_new(j, "loops", loops);
    m = manifest_compile(j, &st, &is);
    ck_assert_ptr_null(m);
    assert_msg(is, "manifest.loops", "Array must contain at most 100 element(s)");
    json_decref(is);
    json_decref(j);
}
END_TEST

START_TEST(pattern_states_are_bounded_in_total)
{
    /* 30 patterns of 2,000 states each (1,999 characters and the final match) pass one by one
     * but not together: 25 fit in 50,000. */
    json_t *j = many_variables(30, ",\"dataType\":\"text\",\"pattern\":\"a{1000}b{999}\"");
    manifest_status_t st;
    json_t *is;
    ck_assert_ptr_null(manifest_compile(j, &st, &is));
    ck_assert_ptr_null(field_msgs(is, "manifest.variables.24.pattern"));
    assert_msg(is, "manifest.variables.25.pattern",
               "The manifest's regular expressions are too complex in total (more than 50000 states)");
    json_decref(is);
    json_decref(j);
    j = many_variables(25, ",\"dataType\":\"text\",\"pattern\":\"a{1000}b{999}\"");
    manifest_t *m = manifest_compile(j, &st, NULL);
    ck_assert_ptr_nonnull(m);
    manifest_free(m);
    json_decref(j);
}
END_TEST

START_TEST(issue_cap)
{
    /* 1,000 broken variables: 100 paths, then a formErrors note. */
    json_t *j = many_variables(1000, ",\"dataType\":\"nope\"");
    manifest_status_t st;
    json_t *is;
    manifest_t *m = manifest_compile(j, &st, &is);
    ck_assert_ptr_null(m);
    ck_assert_uint_eq(field_count(is), MANIFEST_ISSUES_MAX);
    assert_msg(is, NULL, "Too many errors: only the first 100 fields with errors are reported");
    ck_assert_ptr_nonnull(field_msgs(is, "manifest.variables.99.dataType"));
    ck_assert_ptr_null(field_msgs(is, "manifest.variables.100.dataType"));
    json_decref(is);
    json_decref(j);
}
END_TEST

START_TEST(issues_out_param_optional)
{
    json_t *j = tj("{\"variables\":[{\"key\":\"a\"}]}");
    manifest_status_t st = MANIFEST_OK;
    ck_assert_ptr_null(manifest_compile(j, &st, NULL));
    ck_assert_int_eq(st, MANIFEST_INVALID);
    json_decref(j);
}
END_TEST

START_TEST(unknown_key_with_nul_is_reported)
{
    /* A property name that only starts like "key" is not "key" (jansson cannot parse such a
     * name, but a caller may build one). */
    json_t *def = tj("{\"key\":\"a\",\"dataType\":\"text\"}");
    json_object_setn_new(def, "key\0x", 5, json_integer(1));
    json_t *j = json_pack("{s:[o]}", "variables", def);
    manifest_status_t st;
    json_t *is;
    ck_assert_ptr_null(manifest_compile(j, &st, &is));
    assert_msg(is, "manifest.variables.0.key...", "Unrecognized key(s) in object: 'key...'");
    json_decref(is);
    json_decref(j);
}
END_TEST

/* A format spec whose quote in the message is cut at 40 bytes, inside a 2-byte character:
 * the message still reaches the issues, as valid UTF-8 with the spec's characters intact.
 * Found by fuzz_manifest: the path was left with an empty list. */
START_TEST(message_cut_inside_a_character)
{
    char text[600], spec[200] = "money";
    for (int i = 0; i < 34; i++)
        strcat(spec, "x");
    for (int i = 0; i < 5; i++)
        strcat(spec, "\xc3\xa9"); /* é, the first at bytes 39-40 */
    snprintf(text, sizeof text,
             "{\"variables\":[{\"key\":\"c\",\"dataType\":\"currency\",\"format\":\"%s\"}]}", spec);
    json_t *is = compile_fail(text, NULL);
    json_t *list = field_msgs(is, "manifest.variables.0.format");
    ck_assert_int_eq(json_array_size(list), 1);
    const char *msg = json_string_value(json_array_get(list, 0));
    ck_assert_ptr_nonnull(msg);
    char want[400];
    snprintf(want, sizeof want, "Invalid format '%s': unknown format \"%.39s\"", spec, spec);
    ck_assert_str_eq(msg, want);
    json_decref(is);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("compile");
    tcase_add_test(tc, invoice_manifest_compiles);
    tcase_add_test(tc, to_json_fills_absent_arrays);
    tcase_add_test(tc, top_level_shape);
    tcase_add_test(tc, key_rules);
    tcase_add_test(tc, data_type_and_flags);
    tcase_add_test(tc, formats);
    tcase_add_test(tc, constraints_apply_to_types);
    tcase_add_test(tc, enum_rules);
    tcase_add_test(tc, default_rules);
    tcase_add_test(tc, duplicates_and_conflicts);
    tcase_add_test(tc, loop_rules);
    tcase_add_test(tc, size_limits);
    tcase_add_test(tc, pattern_states_are_bounded_in_total);
    tcase_add_test(tc, issue_cap);
    tcase_add_test(tc, issues_out_param_optional);
    tcase_add_test(tc, unknown_key_with_nul_is_reported);
    tcase_add_test(tc, message_cut_inside_a_character);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
