/* Unit tests for manifest_validate(): every dataType, coercion, strip vs strict, defaults,
 * every constraint, all errors at once, loop paths, caps and hostile inputs; and the string
 * format checks against their published JSON Schema patterns. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "manifest/pattern.h"
#include "manifest/strfmt.h"
#include "manifest_testutil.h"

/* A manifest with one variable "v" of the given definition rest. */
static manifest_t *one(const char *rest)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"variables\":[{\"key\":\"v\",%s}]}", rest);
    return compile_ok(text);
}

/* v=<value> must be rejected with msg at "v". */
static void rejects(const manifest_t *m, const char *value, const char *msg)
{
    char data[8192];
    snprintf(data, sizeof data, "{\"v\":%s}", value);
    json_t *is = validate_fail(m, data, 0);
    assert_msg(is, "v", msg);
    json_decref(is);
}

/* v=<value> must be accepted and normalise to <expect> (same text when NULL). */
static void accepts(const manifest_t *m, const char *value, const char *expect)
{
    char data[8192], want[8192];
    snprintf(data, sizeof data, "{\"v\":%s}", value);
    snprintf(want, sizeof want, "{\"v\":%s}", expect ? expect : value);
    json_t *n = validate_ok(m, data, 0);
    assert_json_eq(n, want);
    json_decref(n);
}

START_TEST(text_types)
{
    manifest_t *m = one("\"dataType\":\"text\"");
    accepts(m, "\"hello\"", NULL);
    accepts(m, "\"\"", NULL);
    rejects(m, "5", "Expected string, received number");
    rejects(m, "true", "Expected string, received boolean");
    rejects(m, "null", "Expected string, received null");
    rejects(m, "[]", "Expected string, received array");
    rejects(m, "{}", "Expected string, received object");
    rejects(m, "\"a\\u0000b\"", "String must not contain NUL characters");
    manifest_free(m);
    m = one("\"dataType\":\"longtext\"");
    accepts(m, "\"line 1\\nline 2\"", NULL);
    manifest_free(m);
}
END_TEST

START_TEST(number_types_and_coercion)
{
    const char *types[] = {"number", "currency"};
    for (int t = 0; t < 2; t++) {
        char rest[64];
        snprintf(rest, sizeof rest, "\"dataType\":\"%s\"", types[t]);
        manifest_t *m = one(rest);
        accepts(m, "5", NULL);
        accepts(m, "-2.5", NULL);
        accepts(m, "1e300", NULL);
        accepts(m, "\"12\"", "12");
        accepts(m, "\"-12.50\"", "-12.5");
        accepts(m, "\"+3\"", "3");
        accepts(m, "\".5\"", "0.5");
        accepts(m, "\"5.\"", "5.0");
        accepts(m, "\"1e3\"", "1000.0");
        accepts(m, "\"123456789012345678901234567890\"", "1.2345678901234568e29");
        rejects(m, "\"abc\"", "Expected number, received string");
        rejects(m, "\"\"", "Expected number, received string");
        rejects(m, "\" 1\"", "Expected number, received string");
        rejects(m, "\"1,5\"", "Expected number, received string");
        rejects(m, "\"0x10\"", "Expected number, received string");
        rejects(m, "\"Infinity\"", "Expected number, received string");
        rejects(m, "\"NaN\"", "Expected number, received string");
        rejects(m, "\"1e\"", "Expected number, received string");
        rejects(m, "\"1e400\"", "Number must be finite");
        rejects(m, "true", "Expected number, received boolean");
        rejects(m, "null", "Expected number, received null");
        rejects(m, "[1]", "Expected number, received array");
        manifest_free(m);
    }
    /* Coerced integers stay integers (5, not 5.0). */
    manifest_t *m = one("\"dataType\":\"number\"");
    json_t *n = validate_ok(m, "{\"v\":\"42\"}", 0);
    ck_assert(json_is_integer(json_object_get(n, "v")));
    json_decref(n);
    manifest_free(m);
}
END_TEST

START_TEST(number_constraints)
{
    manifest_t *m = one("\"dataType\":\"number\",\"integer\":true,\"min\":5,\"max\":10");
    accepts(m, "5", NULL);
    accepts(m, "10", NULL);
    accepts(m, "7.0", NULL); /* integral */
    accepts(m, "\"8\"", "8");
    rejects(m, "4", "Number must be greater than or equal to 5");
    rejects(m, "11", "Number must be less than or equal to 10");
    rejects(m, "7.5", "Expected integer, received float");
    /* Every failing check is reported. */
    json_t *is = validate_fail(m, "{\"v\":4.5}", 0);
    assert_msg(is, "v", "Expected integer, received float");
    assert_msg(is, "v", "Number must be greater than or equal to 5");
    ck_assert_uint_eq(json_array_size(field_msgs(is, "v")), 2);
    json_decref(is);
    manifest_free(m);
    m = one("\"dataType\":\"currency\",\"min\":0.01,\"max\":1e21");
    rejects(m, "0", "Number must be greater than or equal to 0.01");
    rejects(m, "2e21", "Number must be less than or equal to 1e+21");
    manifest_free(m);
    m = one("\"dataType\":\"number\",\"min\":-1.5");
    rejects(m, "-2", "Number must be greater than or equal to -1.5");
    manifest_free(m);
}
END_TEST

START_TEST(boolean_type)
{
    manifest_t *m = one("\"dataType\":\"boolean\"");
    accepts(m, "true", NULL);
    accepts(m, "false", NULL);
    accepts(m, "\"true\"", "true");
    accepts(m, "\"false\"", "false");
    rejects(m, "\"TRUE\"", "Expected boolean, received string");
    rejects(m, "\"yes\"", "Expected boolean, received string");
    rejects(m, "1", "Expected boolean, received number");
    rejects(m, "null", "Expected boolean, received null");
    manifest_free(m);
}
END_TEST

START_TEST(dates)
{
    manifest_t *m = one("\"dataType\":\"date\"");
    const char *good[] = {"2026-06-04",
                          "2024-02-29",
                          "2000-02-29",
                          "1999-12-31",
                          "0001-01-01",
                          "2026-06-04T10:00:00Z",
                          "2026-06-04T10:00:00.123+02:00"};
    const char *bad[] = {"2023-02-29",  "1900-02-29",          "2026-13-01", "2026-00-10", "2026-04-31",
                         "2026-6-4",    "2026-06-04T10:00:00", "04/06/2026", "20260604",   "",
                         " 2026-06-04", "2026-06-04 ",         "2026-06-0a"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char v[64];
        snprintf(v, sizeof v, "\"%s\"", good[i]);
        accepts(m, v, NULL);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char v[64];
        snprintf(v, sizeof v, "\"%s\"", bad[i]);
        rejects(m, v, "Invalid date");
    }
    rejects(m, "20260604", "Expected string, received number");
    manifest_free(m);

    m = one("\"dataType\":\"datetime\"");
    const char *dgood[] = {
        "2026-06-04T10:00:00Z",   "2026-06-04T10:00:00+02:00",           "2026-06-04T23:59:59-11:30",
        "2026-06-04T10:00:00.5Z", "2026-06-04T10:00:00.123456789+00:00", "2024-02-29T00:00:00Z"};
    const char *dbad[] = {"2026-06-04T10:00:00",    "2026-06-04",
                          "2026-06-04 10:00:00Z",   "2026-06-04t10:00:00Z",
                          "2026-06-04T10:00:00z",   "2026-06-04T24:00:00Z",
                          "2026-06-04T10:60:00Z",   "2026-06-04T10:00:60Z",
                          "2026-06-04T10:00Z",      "2026-06-04T10:00:00+0200",
                          "2026-06-04T10:00:00+02", "2026-06-04T10:00:00+24:00",
                          "2026-06-04T10:00:00.Z",  "2026-06-04T10:00:00.1234567891Z",
                          "2023-02-29T10:00:00Z",   "2026-06-04T10:00:00Z ",
                          "2026-06-04T1:00:00Z"};
    for (size_t i = 0; i < sizeof dgood / sizeof *dgood; i++) {
        char v[80];
        snprintf(v, sizeof v, "\"%s\"", dgood[i]);
        accepts(m, v, NULL);
    }
    for (size_t i = 0; i < sizeof dbad / sizeof *dbad; i++) {
        char v[80];
        snprintf(v, sizeof v, "\"%s\"", dbad[i]);
        rejects(m, v, "Invalid datetime");
    }
    manifest_free(m);
}
END_TEST

static const char *const GOOD_EMAILS[] = {"a@b.co",
                                          "first.last@example.com",
                                          "o'brien+tag@mail.example.org",
                                          "x_y-z@sub-domain.example.io",
                                          "A@EXAMPLE.COM",
                                          "1@2.de",
                                          "a@b-c.d-e.museum"};
static const char *const BAD_EMAILS[] = {
    "",        "a",         "a@",        "@b.co",    "a@b",       "a@b.c",   "a@@b.co", ".a@b.co",
    "a.@b.co", "a..b@c.co", "a b@c.co",  "a@b_c.co", "a@-b.co",   "a@b-.co", "a@b..co", "a@b.co.",
    "a@.b.co", "a@b.c0",    "a\"b@c.co", "a@b.co ",  "a(b)@c.co", "ä@b.co",  "a@bü.co", "a!b@c.co"};

static const char *const GOOD_URLS[] = {"http://example.com",
                                        "https://example.com/",
                                        "https://a.b.c/d/e.png?x=1&y=%20#frag",
                                        "http://localhost:8080/path",
                                        "http://127.0.0.1:65535",
                                        "https://x.io/a:b@c/~d!$&'()*+,;=",
                                        "https://ex-ample.com/?q=/?",
                                        "http://a:0",
                                        "http://a:0123",
                                        "http://a:12345"};
static const char *const BAD_URLS[] = {"",
                                       "example.com",
                                       "ftp://example.com",
                                       "HTTP://example.com",
                                       "http://",
                                       "http:///path",
                                       "http://exa mple.com",
                                       "http://-a.com",
                                       "http://a-.com",
                                       "http://a..b",
                                       "http://a.",
                                       "http://user@example.com",
                                       "http://[::1]/",
                                       "http://a:65536",
                                       "http://a:99999",
                                       "http://a:",
                                       "http://a:08080",
                                       "http://a:01234",
                                       "http://a:123456",
                                       "http://a/%zz",
                                       "http://a/%2",
                                       "http://a/b c",
                                       "http://a/é",
                                       "http://a#b#c",
                                       "http://a/<x>",
                                       "http://a?x=\"y\"",
                                       "javascript:alert(1)",
                                       "http://a_b.com"};

START_TEST(emails_and_urls)
{
    manifest_t *m = one("\"dataType\":\"email\"");
    for (size_t i = 0; i < sizeof GOOD_EMAILS / sizeof *GOOD_EMAILS; i++) {
        json_t *d = json_pack("{s:s}", "v", GOOD_EMAILS[i]);
        ck_assert_msg(manifest_validate(m, d, 0, NULL, NULL) == 0, "rejected %s", GOOD_EMAILS[i]);
        json_decref(d);
    }
    for (size_t i = 0; i < sizeof BAD_EMAILS / sizeof *BAD_EMAILS; i++) {
        json_t *d = json_pack("{s:s}", "v", BAD_EMAILS[i]), *is;
        ck_assert_msg(manifest_validate(m, d, 0, NULL, &is) == -1, "accepted %s", BAD_EMAILS[i]);
        assert_msg(is, "v", "Invalid email");
        json_decref(is);
        json_decref(d);
    }
    manifest_free(m);
    m = one("\"dataType\":\"url\"");
    for (size_t i = 0; i < sizeof GOOD_URLS / sizeof *GOOD_URLS; i++) {
        json_t *d = json_pack("{s:s}", "v", GOOD_URLS[i]);
        ck_assert_msg(manifest_validate(m, d, 0, NULL, NULL) == 0, "rejected %s", GOOD_URLS[i]);
        json_decref(d);
    }
    for (size_t i = 0; i < sizeof BAD_URLS / sizeof *BAD_URLS; i++) {
        json_t *d = json_pack("{s:s}", "v", BAD_URLS[i]), *is;
        ck_assert_msg(manifest_validate(m, d, 0, NULL, &is) == -1, "accepted %s", BAD_URLS[i]);
        assert_msg(is, "v", "Invalid url");
        json_decref(is);
        json_decref(d);
    }
    /* Length caps come first and skip the format check. */
    char *long_url = malloc(3000);
    strcpy(long_url, "https://example.com/");
    memset(long_url + 20, 'a', 2029);
    long_url[2049] = '\0';
    json_t *d = json_pack("{s:s}", "v", long_url), *is;
    ck_assert_int_eq(manifest_validate(m, d, 0, NULL, &is), -1);
    assert_msg(is, "v", "String must contain at most 2048 character(s)");
    ck_assert_uint_eq(json_array_size(field_msgs(is, "v")), 1);
    json_decref(is);
    json_decref(d);
    free(long_url);
    manifest_free(m);
}
END_TEST

/* A base64 data URI of the given bytes. */
static char *data_uri(const char *mime, const unsigned char *bytes, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t prefix = strlen(mime) + 13;
    char *out = malloc(prefix + (n + 2) / 3 * 4 + 1);
    size_t o = (size_t)sprintf(out, "data:%s;base64,", mime);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)bytes[i] << 16 | (i + 1 < n ? (unsigned)bytes[i + 1] << 8 : 0) |
                     (i + 2 < n ? bytes[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static void image_case(const manifest_t *m, const char *value, const char *msg)
{
    json_t *d = json_pack("{s:s}", "v", value), *is = NULL, *n = NULL;
    int rc = manifest_validate(m, d, 0, &n, &is);
    if (!msg) {
        ck_assert_msg(rc == 0, "rejected image %.60s", value);
        ck_assert_str_eq(json_string_value(json_object_get(n, "v")), value);
    } else {
        ck_assert_msg(rc == -1, "accepted image %.60s", value);
        assert_msg(is, "v", msg);
    }
    json_decref(n);
    json_decref(is);
    json_decref(d);
}

START_TEST(images)
{
    manifest_t *m = one("\"dataType\":\"image\"");
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H'};
    static const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F'};
    static const unsigned char gif[] = {'G', 'I', 'F', '8', '9', 'a'};
    char *p = data_uri("image/png", png, sizeof png), *j = data_uri("image/jpeg", jpeg, sizeof jpeg);
    char *j2 = data_uri("image/jpeg", jpeg, 9), *j3 = data_uri("image/jpeg", jpeg, 8);
    char *g = data_uri("image/gif", gif, sizeof gif), *fake = data_uri("image/png", jpeg, sizeof jpeg);
    char *png8 = data_uri("image/png", png, 8);
    image_case(m, p, NULL);
    image_case(m, j, NULL);
    image_case(m, j2, NULL);
    image_case(m, j3, NULL);
    image_case(m, "https://example.com/logo.png", NULL);
    image_case(m, "http://localhost:9000/a.jpg?sig=abc", NULL);
    image_case(
        m, g,
        "Invalid image: expected an http(s) URL or a data:image/png;base64, or data:image/jpeg;base64, URI");
    image_case(
        m, "data:image/png,rawbytes",
        "Invalid image: expected an http(s) URL or a data:image/png;base64, or data:image/jpeg;base64, URI");
    image_case(
        m, "data:image/PNG;base64,iVBORw0KGgoA",
        "Invalid image: expected an http(s) URL or a data:image/png;base64, or data:image/jpeg;base64, URI");
    image_case(m, "data:image/png;base64,iVBORw0KGgo", "Invalid image: the data URI is not valid base64");
    image_case(m, "data:image/png;base64,iVBORw0KGgoA=A=", "Invalid image: the data URI is not valid base64");
    image_case(m, "data:image/png;base64,iVBORw0KGgoA AAA",
               "Invalid image: the data URI is not valid base64");
    image_case(m, "data:image/png;base64,", "Invalid image: the data is not the declared PNG or JPEG");
    image_case(m, fake, "Invalid image: the data is not the declared PNG or JPEG");
    image_case(m, png8, "Invalid image: the data is not the declared PNG or JPEG");
    image_case(m, "ftp://example.com/a.png", "Invalid url");
    image_case(m, "logo.png", "Invalid url");
    /* The 5 MiB cap (the characters of the whole URI). */
    size_t big = STRFMT_IMAGE_DATA_MAX + 4;
    char *huge = malloc(big + 1);
    size_t o = (size_t)sprintf(huge, "data:image/jpeg;base64,/9j/");
    memset(huge + o, 'A', big - o);
    huge[big] = '\0';
    image_case(m, huge, "Image data URI must be at most 5242880 characters (5 MiB)");
    huge[STRFMT_IMAGE_DATA_MAX - (STRFMT_IMAGE_DATA_MAX - o) % 4] = '\0';
    image_case(m, huge, NULL);
    free(huge);
    free(p), free(j), free(j2), free(j3), free(g), free(fake), free(png8);
    rejects(m, "3", "Expected string, received number");
    manifest_free(m);
}
END_TEST

START_TEST(string_constraints)
{
    manifest_t *m = one("\"dataType\":\"text\",\"minLength\":3,\"maxLength\":5,\"pattern\":\"^[a-zé]+$\"");
    accepts(m, "\"abc\"", NULL);
    accepts(m, "\"été\"", NULL); /* 3 characters, 5 bytes */
    rejects(m, "\"ab\"", "String must contain at least 3 character(s)");
    rejects(m, "\"abcdef\"", "String must contain at most 5 character(s)");
    rejects(m, "\"ABC\"", "Invalid");
    json_t *is = validate_fail(m, "{\"v\":\"A\"}", 0);
    assert_msg(is, "v", "String must contain at least 3 character(s)");
    assert_msg(is, "v", "Invalid");
    json_decref(is);
    manifest_free(m);
    /* Emoji are one character each (code points, as JSON Schema counts). */
    m = one("\"dataType\":\"text\",\"maxLength\":2");
    accepts(m, "\"\\ud83d\\ude00\\ud83d\\ude00\"", NULL);
    rejects(m, "\"\\ud83d\\ude00\\ud83d\\ude00x\"", "String must contain at most 2 character(s)");
    manifest_free(m);
    /* The default text cap. */
    m = one("\"dataType\":\"longtext\"");
    char *big = malloc(MANIFEST_TEXT_MAX + 2);
    memset(big, 'x', MANIFEST_TEXT_MAX + 1);
    big[MANIFEST_TEXT_MAX + 1] = '\0';
    json_t *d = json_pack("{s:s}", "v", big);
    ck_assert_int_eq(manifest_validate(m, d, 0, NULL, &is), -1);
    assert_msg(is, "v", "String must contain at most 100000 character(s)");
    json_decref(is);
    json_decref(d);
    big[MANIFEST_TEXT_MAX] = '\0';
    d = json_pack("{s:s}", "v", big);
    ck_assert_int_eq(manifest_validate(m, d, 0, NULL, NULL), 0);
    json_decref(d);
    free(big);
    manifest_free(m);
    /* email/url with length and pattern. */
    m = one("\"dataType\":\"email\",\"pattern\":\"@example\\\\.com$\"");
    accepts(m, "\"a@example.com\"", NULL);
    rejects(m, "\"a@example.org\"", "Invalid");
    json_t *is2 = validate_fail(m, "{\"v\":\"nope\"}", 0);
    assert_msg(is2, "v", "Invalid email");
    assert_msg(is2, "v", "Invalid");
    json_decref(is2);
    manifest_free(m);
}
END_TEST

START_TEST(enums)
{
    manifest_t *m = one("\"dataType\":\"text\",\"enum\":[\"a\",\"b\"]");
    accepts(m, "\"a\"", NULL);
    rejects(m, "\"c\"", "Invalid enum value. Expected 'a' | 'b', received 'c'");
    rejects(m, "\"A\"", "Invalid enum value. Expected 'a' | 'b', received 'A'");
    manifest_free(m);
    m = one("\"dataType\":\"number\",\"enum\":[1,2.5,-3]");
    accepts(m, "2.5", NULL);
    accepts(m, "1.0", NULL);
    accepts(m, "\"-3\"", "-3");
    rejects(m, "4", "Invalid enum value. Expected 1 | 2.5 | -3, received 4");
    manifest_free(m);
    /* A long received value is cut in the message. */
    m = one("\"dataType\":\"text\",\"enum\":[\"x\"]");
    char big[400];
    memset(big, 'y', 300);
    big[300] = '\0';
    json_t *d = json_pack("{s:s}", "v", big), *is;
    ck_assert_int_eq(manifest_validate(m, d, 0, NULL, &is), -1);
    const char *msg = json_string_value(json_array_get(field_msgs(is, "v"), 0));
    ck_assert_uint_lt(strlen(msg), 200);
    ck_assert_ptr_nonnull(strstr(msg, "...'"));
    json_decref(is);
    json_decref(d);
    manifest_free(m);
}
END_TEST

static const char *NESTED =
    "{\"variables\":["
    "{\"key\":\"customer.name\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"customer.email\",\"dataType\":\"email\"},"
    "{\"key\":\"customer.address.city\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"customer.address.country\",\"dataType\":\"text\",\"default\":\"DE\"},"
    "{\"key\":\"meta.source\",\"dataType\":\"text\",\"default\":\"api\"},"
    "{\"key\":\"meta.note\",\"dataType\":\"text\"},"
    "{\"key\":\"opt.a\",\"dataType\":\"text\"},"
    "{\"key\":\"paid\",\"dataType\":\"boolean\",\"default\":false}],"
    "\"loops\":[{\"key\":\"items\",\"maxItems\":3,\"itemFields\":["
    "{\"key\":\"name\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"qty\",\"dataType\":\"number\",\"integer\":true,\"min\":1,\"default\":1}]},"
    "{\"key\":\"tags\",\"minItems\":1,\"itemFields\":[{\"key\":\"t\",\"dataType\":\"text\"}]}]}";

START_TEST(nesting_defaults_and_stripping)
{
    manifest_t *m = compile_ok(NESTED);
    json_t *n = validate_ok(
        m,
        "{\"customer\":{\"name\":\"Ada\",\"address\":{\"city\":\"Berlin\",\"zip\":\"10115\"},\"x\":1},"
        "\"items\":[{\"name\":\"a\",\"qty\":\"2\",\"extra\":true},{\"name\":\"b\"}],"
        "\"tags\":[{}],\"unknown\":{\"deep\":[1,2,3]},\"opt\":{}}",
        0);
    assert_json_eq(n, "{\"customer\":{\"name\":\"Ada\",\"address\":{\"city\":\"Berlin\",\"country\":\"DE\"}},"
                      "\"meta\":{\"source\":\"api\"},\"opt\":{},\"paid\":false,"
                      "\"items\":[{\"name\":\"a\",\"qty\":2},{\"name\":\"b\",\"qty\":1}],\"tags\":[{}]}");
    /* Validating the normalised output again changes nothing. */
    json_t *n2 = NULL;
    ck_assert_int_eq(manifest_validate(m, n, MANIFEST_STRICT, &n2, NULL), 0);
    ck_assert(json_equal(n, n2));
    json_decref(n2);
    json_decref(n);
    manifest_free(m);
}
END_TEST

START_TEST(unchanged_input_is_shared_not_copied)
{
    manifest_t *m = compile_ok(NESTED);
    json_t *
        d = tj(
           "{\"customer\":{\"name\":\"Ada\",\"address\":{\"city\":\"B\",\"country\":\"FR\"}},"
           "\"meta\":{\"source\":\"x\"},\"paid\":true,"
           "\"items\":[{\"name\":\"a\",\"qty\":1},{\"name\":\"b\",\"qty\":\"2\"},{\"name\":\"c\",\"qty\":3}],"
           "\"tags\":[{\"t\":\"x\"}]}"),
       *n;
    ck_assert_int_eq(manifest_validate(m, d, MANIFEST_STRICT, &n, NULL), 0);
    /* items.1.qty was coerced: the root and the items array are new, the rest is shared. */
    ck_assert_ptr_ne(n, d);
    ck_assert_ptr_eq(json_object_get(n, "customer"), json_object_get(d, "customer"));
    ck_assert_ptr_eq(json_object_get(n, "tags"), json_object_get(d, "tags"));
    json_t *in_items = json_object_get(d, "items"), *out_items = json_object_get(n, "items");
    ck_assert_ptr_ne(out_items, in_items);
    ck_assert_ptr_eq(json_array_get(out_items, 0), json_array_get(in_items, 0));
    ck_assert_ptr_ne(json_array_get(out_items, 1), json_array_get(in_items, 1));
    ck_assert_ptr_eq(json_array_get(out_items, 2), json_array_get(in_items, 2));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(out_items, 1), "qty")), 2);
    json_decref(n);
    /* Fully clean data comes back as itself. */
    json_object_set_new(json_array_get(in_items, 1), "qty", json_integer(2));
    ck_assert_int_eq(manifest_validate(m, d, 0, &n, NULL), 0);
    ck_assert_ptr_eq(n, d);
    json_decref(n);
    /* An unknown key anywhere means a stripped copy of that object (and its parents). */
    json_object_set_new(json_object_get(json_object_get(d, "customer"), "address"), "zip", json_integer(1));
    ck_assert_int_eq(manifest_validate(m, d, 0, &n, NULL), 0);
    ck_assert_ptr_ne(n, d);
    ck_assert_ptr_null(json_object_get(json_object_get(json_object_get(n, "customer"), "address"), "zip"));
    ck_assert_ptr_eq(json_object_get(n, "items"), in_items);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(d, "customer"), "address"), "zip"));
    json_decref(n);
    json_decref(d);
    manifest_free(m);
}
END_TEST

START_TEST(all_errors_at_once)
{
    manifest_t *m = compile_ok(NESTED);
    json_t *is = validate_fail(
        m,
        "{\"customer\":{\"email\":\"nope\",\"address\":\"Berlin\"},\"meta\":[],\"paid\":\"yes\","
        "\"items\":[{\"qty\":0.5},7,{\"name\":3,\"qty\":\"x\"}],\"tags\":[]}",
        0);
    assert_msg(is, "customer.name", "Required");
    assert_msg(is, "customer.email", "Invalid email");
    assert_msg(is, "customer.address", "Expected object, received string");
    assert_msg(is, "meta", "Expected object, received array");
    assert_msg(is, "paid", "Expected boolean, received string");
    assert_msg(is, "items.0.name", "Required");
    assert_msg(is, "items.0.qty", "Expected integer, received float");
    assert_msg(is, "items.0.qty", "Number must be greater than or equal to 1");
    assert_msg(is, "items.1", "Expected object, received number");
    assert_msg(is, "items.2.name", "Expected string, received number");
    assert_msg(is, "items.2.qty", "Expected number, received string");
    assert_msg(is, "tags", "Array must contain at least 1 element(s)");
    ck_assert_uint_eq(field_count(is), 11);
    ck_assert_uint_eq(json_array_size(json_object_get(is, "formErrors")), 0);
    json_decref(is);
    /* A missing parent object: its required members are reported one by one. */
    is = validate_fail(m, "{\"tags\":[{}]}", 0);
    assert_msg(is, "customer.name", "Required");
    assert_msg(is, "customer.address.city", "Required");
    ck_assert_uint_eq(field_count(is), 2);
    json_decref(is);
    /* Loops: missing with minItems, wrong type, too many. */
    is = validate_fail(m,
                       "{\"customer\":{\"name\":\"a\",\"address\":{\"city\":\"b\"}},"
                       "\"items\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"}]}",
                       0);
    assert_msg(is, "tags", "Required");
    assert_msg(is, "items", "Array must contain at most 3 element(s)");
    json_decref(is);
    is = validate_fail(
        m, "{\"customer\":{\"name\":\"a\",\"address\":{\"city\":\"b\"}},\"items\":{},\"tags\":\"x\"}", 0);
    assert_msg(is, "items", "Expected array, received object");
    assert_msg(is, "tags", "Expected array, received string");
    json_decref(is);
    manifest_free(m);
}
END_TEST

START_TEST(root_must_be_object)
{
    manifest_t *m = compile_ok(NESTED);
    const char *roots[] = {"[]", "null", "3", "\"x\"", "true"};
    const char *names[] = {"array", "null", "number", "string", "boolean"};
    for (int i = 0; i < 5; i++) {
        json_t *is = validate_fail(m, roots[i], 0);
        char msg[64];
        snprintf(msg, sizeof msg, "Expected object, received %s", names[i]);
        assert_msg(is, NULL, msg);
        ck_assert_uint_eq(field_count(is), 0);
        json_decref(is);
    }
    /* A missing data value (json_object_get of an absent "data") is "Required". */
    json_t *is;
    ck_assert_int_eq(manifest_validate(m, NULL, 0, NULL, &is), -1);
    assert_msg(is, NULL, "Required");
    json_decref(is);
    manifest_free(m);
}
END_TEST

START_TEST(strict_mode)
{
    manifest_t *m = compile_ok(NESTED);
    const char *data = "{\"customer\":{\"name\":\"Ada\",\"address\":{\"city\":\"B\",\"zip\":1},\"x\":1},"
                       "\"tags\":[{\"t\":\"a\",\"u\":2}],\"unknown\":{\"deep\":1},\"items\":[]}";
    /* Stripped silently by default... */
    json_t *n = validate_ok(m, data, 0);
    ck_assert_ptr_null(json_object_get(n, "unknown"));
    json_decref(n);
    /* ...reported one by one, each under its own path, with MANIFEST_STRICT. */
    json_t *is = validate_fail(m, data, MANIFEST_STRICT);
    assert_msg(is, "unknown", "Unrecognized key(s) in object: 'unknown'");
    assert_msg(is, "customer.x", "Unrecognized key(s) in object: 'x'");
    assert_msg(is, "customer.address.zip", "Unrecognized key(s) in object: 'zip'");
    assert_msg(is, "tags.0.u", "Unrecognized key(s) in object: 'u'");
    ck_assert_uint_eq(field_count(is), 4);
    ck_assert_uint_eq(json_array_size(json_object_get(is, "formErrors")), 0);
    json_decref(is);
    /* Prototype-looking and odd keys are just keys. */
    is = validate_fail(m,
                       "{\"customer\":{\"name\":\"a\",\"address\":{\"city\":\"b\"}},\"tags\":[{}],"
                       "\"__proto__\":{},\"constructor\":1,\"a..b\":1,\"\":2}",
                       MANIFEST_STRICT);
    assert_msg(is, "__proto__", "Unrecognized key(s) in object: '__proto__'");
    assert_msg(is, "constructor", "Unrecognized key(s) in object: 'constructor'");
    assert_msg(is, "a..b", "Unrecognized key(s) in object: 'a..b'");
    assert_msg(is, NULL, "Unrecognized key(s) in object: ''");
    json_decref(is);
    /* A huge unknown key is shown cut short. */
    json_t *d = tj("{\"customer\":{\"name\":\"a\",\"address\":{\"city\":\"b\"}},\"tags\":[{}]}");
    char *key = malloc(100001);
    memset(key, 'k', 100000);
    key[100000] = '\0';
    json_object_set_new(d, key, json_true());
    ck_assert_int_eq(manifest_validate(m, d, MANIFEST_STRICT, NULL, &is), -1);
    char shown[128];
    memset(shown, 'k', 100);
    strcpy(shown + 100, "...");
    json_t *msgs = field_msgs(is, shown);
    ck_assert_ptr_nonnull(msgs);
    json_decref(is);
    json_decref(d);
    free(key);
    manifest_free(m);
}
END_TEST

START_TEST(prototype_keys_in_manifest)
{
    manifest_t *m =
        compile_ok("{\"variables\":[{\"key\":\"__proto__.x\",\"dataType\":\"text\",\"required\":true},"
                   "{\"key\":\"constructor\",\"dataType\":\"number\"}]}");
    json_t *n = validate_ok(m, "{\"__proto__\":{\"x\":\"a\"},\"constructor\":\"5\"}", MANIFEST_STRICT);
    assert_json_eq(n, "{\"__proto__\":{\"x\":\"a\"},\"constructor\":5}");
    json_decref(n);
    json_t *is = validate_fail(m, "{}", 0);
    assert_msg(is, "__proto__.x", "Required");
    json_decref(is);
    manifest_free(m);
}
END_TEST

START_TEST(loop_cap_is_cheap)
{
    /* 10,001 rows with the default cap: one error, rows not examined, fast. */
    manifest_t *m = compile_ok("{\"loops\":[{\"key\":\"items\",\"itemFields\":[{\"key\":\"q\",\"dataType\":"
                               "\"number\",\"required\":true}]}]}");
    json_t *rows = json_array();
    for (int i = 0; i < 10001; i++)
        json_array_append_new(rows, json_pack("{s:s}", "q", "bad"));
    json_t *d = json_pack("{s:o}", "items", rows), *is;
    double t0 = now_seconds();
    ck_assert_int_eq(manifest_validate(m, d, 0, NULL, &is), -1);
    ck_assert(now_seconds() - t0 < 0.05);
    assert_msg(is, "items", "Array must contain at most 10000 element(s)");
    ck_assert_uint_eq(field_count(is), 1);
    json_decref(is);
    /* 10,000 bad rows: bounded report (100 paths and a note) and bounded time. */
    json_array_remove(rows, 0);
    t0 = now_seconds();
    ck_assert_int_eq(manifest_validate(m, d, 0, NULL, &is), -1);
    ck_assert(now_seconds() - t0 < 0.5);
    ck_assert_uint_eq(field_count(is), MANIFEST_ISSUES_MAX);
    assert_msg(is, "items.99.q", "Expected number, received string");
    ck_assert_ptr_null(field_msgs(is, "items.100.q"));
    assert_msg(is, NULL, "Too many errors: only the first 100 fields with errors are reported");
    char *dump = json_dumps(is, JSON_COMPACT);
    ck_assert_uint_lt(strlen(dump), 10000);
    free(dump);
    json_decref(is);
    /* 10,000 good rows pass. */
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_object_set_new(row, "q", json_integer((json_int_t)i));
    json_t *n;
    ck_assert_int_eq(manifest_validate(m, d, 0, &n, NULL), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(n, "items")), 10000);
    json_decref(n);
    json_decref(d);
    manifest_free(m);
}
END_TEST

START_TEST(deep_data_is_never_walked)
{
    manifest_t *m = compile_ok("{\"variables\":[{\"key\":\"a.b\",\"dataType\":\"text\"}]}");
    /* As deep as a JSON parser allows (jansson: 2048), under a known and an unknown key. */
    json_t *deep = json_array();
    for (int i = 0; i < 2000; i++)
        deep = json_pack("[o]", deep);
    json_t *d = json_pack("{s:{s:O},s:O}", "a", "b", deep, "zzz", deep), *is;
    ck_assert_int_eq(manifest_validate(m, d, MANIFEST_STRICT, NULL, &is), -1);
    assert_msg(is, "a.b", "Expected string, received array");
    assert_msg(is, "zzz", "Unrecognized key(s) in object: 'zzz'");
    json_decref(is);
    json_decref(d);
    json_decref(deep);
    manifest_free(m);
}
END_TEST

START_TEST(pattern_budget)
{
    /* An expensive pattern over a long value: the per-validation budget stops it. */
    manifest_t *m = one("\"dataType\":\"longtext\",\"pattern\":\"(a?){900}b\"");
    char *big = malloc(100001);
    memset(big, 'a', 100000);
    big[100000] = '\0';
    json_t *d = json_pack("{s:s}", "v", big), *is;
    double t0 = now_seconds();
    ck_assert_int_eq(manifest_validate(m, d, 0, NULL, &is), -1);
#if !defined(__SANITIZE_ADDRESS__)
    /* The budget is small in absolute terms: ~0.2 s of CPU in an optimised build. The
     * sanitizer build runs the matcher 5-10 times slower and its CPU time varies by 2x on a
     * shared VM, so there only the step count below is checked (it is what the budget counts). */
    ck_assert(now_seconds() - t0 < 2.0);
#else
    (void)t0;
#endif
    /* The matcher itself gives up after exactly the budget's steps on this value. */
    char err[PATTERN_ERR_MAX];
    pattern_t *p = pattern_compile("(a?){900}b", 10, err);
    uint64_t steps = MANIFEST_PATTERN_BUDGET;
    ck_assert_int_eq(pattern_match_budget(p, big, 100000, &steps), PATTERN_BUDGET_EXCEEDED);
    ck_assert_uint_eq(steps, 0);
    pattern_free(p);
    assert_msg(is, "v", "Pattern check exceeded the validation time budget");
    json_decref(is);
    json_decref(d);
    free(big);
    /* The same pattern on a short value works. */
    accepts(m, "\"aaab\"", NULL);
    rejects(m, "\"aaa\"", "Invalid");
    manifest_free(m);
}
END_TEST

START_TEST(check_only_and_optional_outputs)
{
    manifest_t *m = compile_ok(NESTED);
    json_t *good = tj("{\"customer\":{\"name\":\"a\",\"address\":{\"city\":\"b\"}},\"tags\":[{}]}");
    json_t *bad = tj("{}");
    ck_assert_int_eq(manifest_validate(m, good, 0, NULL, NULL), 0);
    ck_assert_int_eq(manifest_validate(m, bad, 0, NULL, NULL), -1);
    json_decref(good);
    json_decref(bad);
    manifest_free(m);
}
END_TEST

static void *validate_many(void *arg)
{
    const manifest_t *m = arg;
    json_t *d = json_loads("{\"customer\":{\"name\":\"a\",\"address\":{\"city\":\"b\"}},"
                           "\"tags\":[{\"t\":\"x\"}],\"items\":[{\"name\":\"n\",\"qty\":\"3\"}]}",
                           0, NULL);
    intptr_t bad = 0;
    for (int i = 0; i < 2000; i++) {
        json_t *n = NULL;
        if (manifest_validate(m, d, MANIFEST_STRICT, &n, NULL) != 0)
            bad++;
        json_decref(n);
    }
    json_decref(d);
    return (void *)bad;
}

START_TEST(threads_share_a_manifest)
{
    manifest_t *m = compile_ok(NESTED);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, validate_many, m);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        ck_assert_ptr_null(bad);
    }
    manifest_free(m);
}
END_TEST

/* ---- strfmt checks vs their published patterns ---- */

static void compare_with_pattern(const char *pattern_src, bool (*check)(const char *, size_t), const char *s,
                                 size_t len)
{
    char err[PATTERN_ERR_MAX];
    pattern_t *p = pattern_compile(pattern_src, strlen(pattern_src), err);
    ck_assert_msg(p != NULL, "pattern does not compile: %s", err);
    bool by_pattern = pattern_match(p, s, len);
    ck_assert_msg(by_pattern == check(s, len), "check and pattern disagree on \"%.*s\" (pattern %d)",
                  (int)len, s, by_pattern);
    pattern_free(p);
}

/* The pattern leaves the calendar to `format: date-time`: compare shapes with the date part
 * replaced by a valid one whenever it has the digit layout. */
static bool datetime_shape(const char *s, size_t len)
{
    char buf[128];
    if (len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    bool layout = len >= 10 && buf[4] == '-' && buf[7] == '-';
    for (int i = 0; i < 10 && layout; i++)
        layout = i == 4 || i == 7 || (buf[i] >= '0' && buf[i] <= '9');
    if (layout)
        memcpy(buf, "2000-01-01", 10);
    return strfmt_is_datetime(buf, len);
}

static bool image_ok(const char *s, size_t len)
{
    return strfmt_check_image_data(s, len) == STRFMT_IMAGE_OK;
}

/* Random strings over an alphabet that exercises the grammar's edges. */
static void fuzz_pattern(const char *pattern_src, bool (*check)(const char *, size_t), const char *alphabet,
                         const char *const *seeds, size_t nseeds)
{
    char err[PATTERN_ERR_MAX];
    pattern_t *p = pattern_compile(pattern_src, strlen(pattern_src), err);
    ck_assert_msg(p != NULL, "%s", err);
    unsigned seed = 12345;
    size_t alen = strlen(alphabet);
    for (int iter = 0; iter < 60000; iter++) {
        char s[80];
        size_t len;
        seed = seed * 1103515245u + 12345u;
        const char *base = seeds[(seed >> 16) % nseeds];
        len = strlen(base);
        memcpy(s, base, len + 1);
        /* Mutate a seed: replace, insert or delete a few characters. */
        int edits = 1 + (int)((seed >> 8) % 3);
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = len ? (seed >> 16) % (len + 1) : 0;
            char ch = alphabet[(seed >> 4) % alen];
            int op = (int)((seed >> 24) % 3);
            if (op == 0 && at < len) {
                s[at] = ch;
            } else if (op == 1 && len + 1 < sizeof s) {
                memmove(s + at + 1, s + at, len - at + 1);
                s[at] = ch;
                len++;
            } else if (at < len) {
                memmove(s + at, s + at + 1, len - at);
                len--;
            }
        }
        bool a = pattern_match(p, s, len), b = check(s, len);
        ck_assert_msg(a == b, "pattern %d vs check %d on \"%.*s\"", a, b, (int)len, s);
    }
    pattern_free(p);
}

START_TEST(formats_match_their_patterns)
{
    for (size_t i = 0; i < sizeof GOOD_EMAILS / sizeof *GOOD_EMAILS; i++)
        compare_with_pattern(STRFMT_EMAIL_PATTERN, strfmt_is_email, GOOD_EMAILS[i], strlen(GOOD_EMAILS[i]));
    for (size_t i = 0; i < sizeof BAD_EMAILS / sizeof *BAD_EMAILS; i++)
        compare_with_pattern(STRFMT_EMAIL_PATTERN, strfmt_is_email, BAD_EMAILS[i], strlen(BAD_EMAILS[i]));
    for (size_t i = 0; i < sizeof GOOD_URLS / sizeof *GOOD_URLS; i++)
        compare_with_pattern(STRFMT_URL_PATTERN, strfmt_is_url, GOOD_URLS[i], strlen(GOOD_URLS[i]));
    for (size_t i = 0; i < sizeof BAD_URLS / sizeof *BAD_URLS; i++)
        compare_with_pattern(STRFMT_URL_PATTERN, strfmt_is_url, BAD_URLS[i], strlen(BAD_URLS[i]));
    static const char *const email_seeds[] = {"a@b.co", "first.last@ex-ample.com", "x'y+z@a.b.cd", "a@b"};
    fuzz_pattern(STRFMT_EMAIL_PATTERN, strfmt_is_email, "ab9.@-_'+ A!Z", email_seeds, 4);
    static const char *const url_seeds[] = {"http://a.b/c?d#e", "https://ex.com:8080/p/q", "http://a:65535",
                                            "http://x/%2F?a=b", "https://a-b.c"};
    fuzz_pattern(STRFMT_URL_PATTERN, strfmt_is_url, "ab9.:/?#%-_@F6 ~", url_seeds, 5);
    static const char *const dt_seeds[] = {"2026-06-04T10:00:00Z", "2026-06-04T10:00:00.123+02:00",
                                           "2024-02-29T23:59:59-23:59"};
    fuzz_pattern(STRFMT_DATETIME_PATTERN, datetime_shape, "0123569:-+.TZz", dt_seeds, 3);
    static const char *const img_seeds[] = {
        "data:image/png;base64,iVBORw0KGgoAAAA", "data:image/jpeg;base64,/9j/4AAQ",
        "data:image/jpeg;base64,/9j/AA==", "data:image/png;base64,iVBORw0KGgoA"};
    fuzz_pattern(STRFMT_IMAGE_DATA_PATTERN, image_ok, "A/+=9j:g", img_seeds, 4);
}
END_TEST

/* The n-th ```json block of docs/manifest.md (malloc'd). */
static char *doc_json_block(int n)
{
    FILE *f = fopen(CRAFTKIT_SOURCE_DIR "/docs/manifest.md", "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 18];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    const char *p = text;
    for (int i = 0; i <= n; i++) {
        p = strstr(p, "```json\n");
        ck_assert_ptr_nonnull(p);
        p += 8;
    }
    const char *end = strstr(p, "```");
    ck_assert_ptr_nonnull(end);
    return strndup(p, (size_t)(end - p));
}

START_TEST(docs_example_holds)
{
    char *manifest = doc_json_block(0), *data = doc_json_block(1);
    manifest_t *m = compile_ok(manifest);
    json_t *n = validate_ok(m, data, MANIFEST_STRICT);
    /* Defaults fill the second row's qty and the absent "paid". */
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(json_object_get(n, "items"), 1), "qty")), 1);
    ck_assert(json_is_false(json_object_get(n, "paid")));
    json_decref(n);
    manifest_free(m);
    free(manifest);
    free(data);
}
END_TEST

START_TEST(js_number_printing)
{
    struct {
        double v;
        const char *s;
    } cases[] = {{0, "0"},
                 {5, "5"},
                 {-5, "-5"},
                 {2.5, "2.5"},
                 {0.1, "0.1"},
                 {100, "100"},
                 {1e21, "1e+21"},
                 {1e20, "100000000000000000000"},
                 {1.5e-7, "1.5e-7"},
                 {0.000001, "0.000001"},
                 {123.456, "123.456"},
                 {-0.01, "-0.01"},
                 {1.7976931348623157e308, "1.7976931348623157e+308"},
                 {5e-324, "5e-324"},
                 {0.1 + 0.2, "0.30000000000000004"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[STRFMT_NUMBER_LEN];
        strfmt_js_number(cases[i].v, out);
        ck_assert_str_eq(out, cases[i].s);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("validate");
    TCase *tc = tcase_create("validate");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, text_types);
    tcase_add_test(tc, number_types_and_coercion);
    tcase_add_test(tc, number_constraints);
    tcase_add_test(tc, boolean_type);
    tcase_add_test(tc, dates);
    tcase_add_test(tc, emails_and_urls);
    tcase_add_test(tc, images);
    tcase_add_test(tc, string_constraints);
    tcase_add_test(tc, enums);
    tcase_add_test(tc, nesting_defaults_and_stripping);
    tcase_add_test(tc, unchanged_input_is_shared_not_copied);
    tcase_add_test(tc, all_errors_at_once);
    tcase_add_test(tc, root_must_be_object);
    tcase_add_test(tc, strict_mode);
    tcase_add_test(tc, prototype_keys_in_manifest);
    tcase_add_test(tc, loop_cap_is_cheap);
    tcase_add_test(tc, deep_data_is_never_walked);
    tcase_add_test(tc, pattern_budget);
    tcase_add_test(tc, check_only_and_optional_outputs);
    tcase_add_test(tc, threads_share_a_manifest);
    tcase_add_test(tc, formats_match_their_patterns);
    tcase_add_test(tc, js_number_printing);
    tcase_add_test(tc, docs_example_holds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
