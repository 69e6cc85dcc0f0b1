/* Unit tests for src/storage/sigv4: AWS's published SigV4 examples for S3 (the pre-signed GET
 * example and the header-signing examples of the S3 API reference), the signing-key example of
 * the IAM guide, and the encoding / canonicalisation rules. No server involved. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "storage/sigv4.h"
#include "tu.h"

/* The example credentials and scope used throughout AWS's S3 SigV4 documentation. */
static const sigv4_creds_t aws_example = {
    .access_key_id = "AKIAIOSFODNN7EXAMPLE",
    .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    .region = "us-east-1",
    .service = "s3",
};
#define EXAMPLE_DATE "20130524T000000Z"
#define EXAMPLE_HOST "examplebucket.s3.amazonaws.com"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *encode(const char *s, bool keep_slash)
{
    buf_t b;
    buf_init(&b, 4096);
    ck_assert_int_eq(sigv4_uri_encode(&b, s, keep_slash), BUF_OK);
    return buf_detach(&b, NULL);
}

START_TEST(uri_encode_rules)
{
    char *s = encode("AZaz09-_.~", false);
    ck_assert_str_eq(s, "AZaz09-_.~");
    free(s);
    s = encode("a b+c/d=e&f*(g)!'", false);
    ck_assert_str_eq(s, "a%20b%2Bc%2Fd%3De%26f%2A%28g%29%21%27");
    free(s);
    s = encode("/renders/p/r/a b.pdf", true);
    ck_assert_str_eq(s, "/renders/p/r/a%20b.pdf");
    free(s);
    s = encode("\xc3\xa9", false); /* UTF-8 bytes, uppercase hex */
    ck_assert_str_eq(s, "%C3%A9");
    free(s);
}
END_TEST

START_TEST(date_format)
{
    char d[SIGV4_DATE_LEN + 1];
    sigv4_format_date(1369353600, d); /* 2013-05-24 00:00:00 UTC */
    ck_assert_str_eq(d, EXAMPLE_DATE);
}
END_TEST

/* IAM guide, "Deriving the signing key": the published kSigning for this input. */
START_TEST(signing_key_iam_example)
{
    uint8_t key[32];
    char hex[65];
    sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam", key);
    crypto_hex(key, sizeof key, hex);
    ck_assert_str_eq(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}
END_TEST

/* S3 API reference, header-based auth, example "GET Object" (first 10 bytes of test.txt). */
START_TEST(header_example_get_object)
{
    sigv4_param_t h[] = {{"Host", EXAMPLE_HOST},
                         {"Range", "bytes=0-9"},
                         {"x-amz-content-sha256", EMPTY_SHA256},
                         {"x-amz-date", EXAMPLE_DATE}};
    sigv4_request_t req = {
        .method = "GET", .path = "/test.txt", .headers = h, .n_headers = 4, .payload_hash = EMPTY_SHA256};
    buf_t creq, sh;
    buf_init(&creq, 65536);
    buf_init(&sh, 1024);
    ck_assert_int_eq(sigv4_canonical_request(&req, &creq, &sh), 0);
    ck_assert_str_eq(buf_cstr(&creq), "GET\n/test.txt\n\n"
                                      "host:examplebucket.s3.amazonaws.com\n"
                                      "range:bytes=0-9\n"
                                      "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                                      "x-amz-date:20130524T000000Z\n\n"
                                      "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256);
    ck_assert_str_eq(buf_cstr(&sh), "host;range;x-amz-content-sha256;x-amz-date");

    buf_t sts;
    buf_init(&sts, 65536);
    ck_assert_int_eq(sigv4_string_to_sign(buf_cstr(&creq), &aws_example, EXAMPLE_DATE, &sts), 0);
    ck_assert_str_eq(buf_cstr(&sts),
                     "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                     "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");

    buf_t auth;
    buf_init(&auth, 4096);
    ck_assert_int_eq(sigv4_authorization(&req, &aws_example, EXAMPLE_DATE, &auth), 0);
    ck_assert_str_eq(buf_cstr(&auth),
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                     "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    buf_free(&creq);
    buf_free(&sh);
    buf_free(&sts);
    buf_free(&auth);
}
END_TEST

/* Example "PUT Object": key with a '$' (encoded once), a Date header and a storage class. */
START_TEST(header_example_put_object)
{
    const char *body = "Welcome to Amazon S3.";
    char sha[65];
    crypto_sha256_hex(body, strlen(body), sha);
    ck_assert_str_eq(sha, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    sigv4_param_t h[] = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                         {"Host", EXAMPLE_HOST},
                         {"x-amz-date", EXAMPLE_DATE},
                         {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                         {"x-amz-content-sha256", sha}};
    sigv4_request_t req = {
        .method = "PUT", .path = "/test$file.text", .headers = h, .n_headers = 5, .payload_hash = sha};
    char sig[65];
    buf_t sh;
    buf_init(&sh, 1024);
    ck_assert_int_eq(sigv4_signature(&req, &aws_example, EXAMPLE_DATE, sig, &sh), 0);
    ck_assert_str_eq(buf_cstr(&sh), "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
    ck_assert_str_eq(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    buf_free(&sh);
}
END_TEST

/* Example "GET Bucket Lifecycle": a sub-resource without value is canonicalised "lifecycle=". */
START_TEST(header_example_get_lifecycle)
{
    sigv4_param_t q[] = {{"lifecycle", NULL}};
    sigv4_param_t h[] = {
        {"Host", EXAMPLE_HOST}, {"x-amz-content-sha256", EMPTY_SHA256}, {"x-amz-date", EXAMPLE_DATE}};
    sigv4_request_t req = {.method = "GET",
                           .path = "/",
                           .query = q,
                           .n_query = 1,
                           .headers = h,
                           .n_headers = 3,
                           .payload_hash = EMPTY_SHA256};
    char sig[65];
    ck_assert_int_eq(sigv4_signature(&req, &aws_example, EXAMPLE_DATE, sig, NULL), 0);
    ck_assert_str_eq(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}
END_TEST

/* Example "Get Bucket (List Objects)": query parameters given unsorted are sorted by name. */
START_TEST(header_example_list_objects)
{
    sigv4_param_t q[] = {{"prefix", "J"}, {"max-keys", "2"}};
    sigv4_param_t h[] = {
        {"x-amz-date", EXAMPLE_DATE}, {"x-amz-content-sha256", EMPTY_SHA256}, {"Host", EXAMPLE_HOST}};
    sigv4_request_t req = {.method = "GET",
                           .path = "/",
                           .query = q,
                           .n_query = 2,
                           .headers = h,
                           .n_headers = 3,
                           .payload_hash = EMPTY_SHA256};
    buf_t creq;
    buf_init(&creq, 65536);
    ck_assert_int_eq(sigv4_canonical_request(&req, &creq, NULL), 0);
    ck_assert(strstr(buf_cstr(&creq), "\nmax-keys=2&prefix=J\n") != NULL);
    buf_free(&creq);
    char sig[65];
    ck_assert_int_eq(sigv4_signature(&req, &aws_example, EXAMPLE_DATE, sig, NULL), 0);
    ck_assert_str_eq(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}
END_TEST

/* S3 API reference, query-string auth: the pre-signed GET example with its known signature. */
START_TEST(presign_example)
{
    buf_t url;
    buf_init(&url, 8192);
    ck_assert_int_eq(sigv4_presign_get("https://" EXAMPLE_HOST, EXAMPLE_HOST, "/test.txt", NULL, 0,
                                       &aws_example, EXAMPLE_DATE, 86400, &url),
                     0);
    ck_assert_str_eq(buf_cstr(&url),
                     "https://examplebucket.s3.amazonaws.com/test.txt"
                     "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                     "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                     "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    buf_free(&url);
}
END_TEST

/* Extra signed parameters are encoded and sorted among the X-Amz-* ones (lowercase after
 * uppercase in byte order); a different extra changes the signature. */
START_TEST(presign_with_disposition)
{
    sigv4_param_t extra[] = {{"response-content-disposition", "attachment; filename=\"a.pdf\""}};
    buf_t url, plain;
    buf_init(&url, 8192);
    buf_init(&plain, 8192);
    ck_assert_int_eq(sigv4_presign_get("http://127.0.0.1:9000", "127.0.0.1:9000", "/b/k 1.pdf", extra, 1,
                                       &aws_example, EXAMPLE_DATE, 60, &url),
                     0);
    ck_assert_int_eq(sigv4_presign_get("http://127.0.0.1:9000", "127.0.0.1:9000", "/b/k 1.pdf", NULL, 0,
                                       &aws_example, EXAMPLE_DATE, 60, &plain),
                     0);
    const char *u = buf_cstr(&url);
    ck_assert(!strncmp(u, "http://127.0.0.1:9000/b/k%201.pdf?X-Amz-Algorithm=", 50));
    ck_assert(strstr(u, "&X-Amz-SignedHeaders=host&response-content-disposition="
                        "attachment%3B%20filename%3D%22a.pdf%22&X-Amz-Signature=") != NULL);
    const char *s1 = strstr(u, "X-Amz-Signature="), *s2 = strstr(buf_cstr(&plain), "X-Amz-Signature=");
    ck_assert(s1 && s2 && strcmp(s1, s2) != 0);
    buf_free(&url);
    buf_free(&plain);
}
END_TEST

START_TEST(presign_rejects_bad_expiry)
{
    buf_t url;
    buf_init(&url, 8192);
    ck_assert_int_eq(sigv4_presign_get("https://h", "h", "/k", NULL, 0, &aws_example, EXAMPLE_DATE, 0, &url),
                     -1);
    ck_assert_int_eq(sigv4_presign_get("https://h", "h", "/k", NULL, 0, &aws_example, EXAMPLE_DATE,
                                       SIGV4_MAX_EXPIRES + 1, &url),
                     -1);
    ck_assert_int_eq(sigv4_presign_get("https://h", "h", "/k", NULL, 0, &aws_example, EXAMPLE_DATE,
                                       SIGV4_MAX_EXPIRES, &url),
                     0);
    buf_free(&url);
}
END_TEST

/* Header values are trimmed and inner runs of spaces collapsed; names lowercased and sorted. */
START_TEST(header_canonicalisation)
{
    sigv4_param_t h[] = {
        {"My-Header2", "  \"a   b   c\"  "}, {"HOST", "example.amazonaws.com"}, {"my-header1", " value1"}};
    sigv4_request_t req = {
        .method = "GET", .path = "", .headers = h, .n_headers = 3, .payload_hash = EMPTY_SHA256};
    buf_t creq;
    buf_init(&creq, 65536);
    ck_assert_int_eq(sigv4_canonical_request(&req, &creq, NULL), 0);
    ck_assert_str_eq(buf_cstr(&creq), "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
                                      "my-header2:\"a b c\"\n\nhost;my-header1;my-header2\n" EMPTY_SHA256);
    buf_free(&creq);
}
END_TEST

START_TEST(too_many_params_is_an_error)
{
    sigv4_param_t q[SIGV4_MAX_PARAMS + 1];
    for (size_t i = 0; i < SIGV4_MAX_PARAMS + 1; i++)
        q[i] = (sigv4_param_t){"a", "b"};
    sigv4_param_t h = {"host", "h"};
    sigv4_request_t req = {.method = "GET",
                           .path = "/",
                           .query = q,
                           .n_query = SIGV4_MAX_PARAMS + 1,
                           .headers = &h,
                           .n_headers = 1,
                           .payload_hash = EMPTY_SHA256};
    char sig[65];
    ck_assert_int_eq(sigv4_signature(&req, &aws_example, EXAMPLE_DATE, sig, NULL), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("aws_examples");
    tcase_add_test(tc, uri_encode_rules);
    tcase_add_test(tc, date_format);
    tcase_add_test(tc, signing_key_iam_example);
    tcase_add_test(tc, header_example_get_object);
    tcase_add_test(tc, header_example_put_object);
    tcase_add_test(tc, header_example_get_lifecycle);
    tcase_add_test(tc, header_example_list_objects);
    tcase_add_test(tc, presign_example);
    tcase_add_test(tc, presign_with_disposition);
    tcase_add_test(tc, presign_rejects_bad_expiry);
    tcase_add_test(tc, header_canonicalisation);
    tcase_add_test(tc, too_many_params_is_an_error);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
