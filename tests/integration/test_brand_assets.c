/* Brand assets (issue 18): POST /v1/assets as a raw body and as multipart/form-data, sniffed
 * fonts and images, idempotent repeats, re-uploads that replace a name, paging, content,
 * isolation between projects, count/byte/size limits, DELETE with asset_in_use and ?force=true,
 * and every bad input of the issue (TTC, truncated and cmap-less fonts, a WOFF2 bomb, hostile
 * SVG, a 50,000×50,000 header, bad names, two files, no boundary, a 200 MB body), each checked
 * to leave nothing behind: storage holds exactly the objects of the project's ready rows. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cairo.h>

#include "harness.h"
#include "harness_render.h"
#include "pdffix.h"
#include "tu.h"

#define ROBOTO_DIR "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/"
#define DEJAVU "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define LIBERATION "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf"
#define NOTO_TTC "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#define MAX_COUNT 6
#define MAX_TOTAL 1000000
#define IMAGE_MAX 100000

static th_server_t *srv;

static tu_bytes_t png(int w, int h)
{
    tu_bytes_t b = {0};
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_surface_write_to_png_stream(s, tu_bytes_append, &b);
    cairo_surface_destroy(s);
    return b;
}

/* A multipart body: files (part "file", filename fname) count times, then a "name" part when given. */
static th_resp_t *post_multipart(const char *key, const char *boundary, const char *fname, const void *data,
                                 size_t len, int files, const char *name)
{
    size_t cap = (len + 512) * (size_t)(files ? files : 1) + 1024, o = 0;
    char *body = malloc(cap);
    for (int i = 0; i < files; i++) {
        o += (size_t)snprintf(
            body + o, cap - o,
            "--XBOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n",
            fname);
        memcpy(body + o, data, len);
        o += len;
        o += (size_t)snprintf(body + o, cap - o, "\r\n");
    }
    if (name)
        o += (size_t)snprintf(body + o, cap - o,
                              "--XBOUNDARY\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n%s\r\n",
                              name);
    o += (size_t)snprintf(body + o, cap - o, "--XBOUNDARY--\r\n");
    char ct[128];
    if (boundary)
        snprintf(ct, sizeof ct, "Content-Type: multipart/form-data; boundary=%s", boundary);
    else
        snprintf(ct, sizeof ct, "Content-Type: multipart/form-data");
    const char *headers[] = {ct, NULL};
    th_resp_t *r = th_req_bytes(srv, "POST", "/v1/assets", key, body, o, headers);
    free(body);
    return r;
}

static int sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sql_int(const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    char *v = th_sql(srv, q);
    int n = atoi(v);
    free(v);
    return n;
}

/* Nothing half-stored: every object has a ready row, every ready row its object, nothing pending. */
static void assert_consistent(const char *project_id)
{
    int ready =
        sql_int("SELECT count(*) FROM assets WHERE project_id = '%s' AND state = 'ready'", project_id);
    int pending =
        sql_int("SELECT count(*) FROM assets WHERE project_id = '%s' AND state = 'pending'", project_id);
    ck_assert_int_eq(pending, 0);
    ck_assert_int_eq(th_stored_assets(srv, project_id), ready);
}

static void new_project(const char *name, char id[64], char key[128])
{
    th_project(srv, name, false, id, key);
}

START_TEST(font_upload_is_described_and_idempotent)
{
    char pid[64], key[128];
    new_project("Fonts", pid, key);
    tu_bytes_t f = tu_bytes_load(ROBOTO_DIR "Roboto-BoldItalic.ttf");
    th_resp_t *r = th_upload_asset(srv, key, "font/ttf", f.data, f.len, "?name=Brand%20Bold%20Italic");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "name"), "Brand Bold Italic");
    ck_assert_str_eq(th_str(r->json, "kind"), "font");
    ck_assert_str_eq(th_str(r->json, "mediaType"), "font/ttf");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "bytes")), (json_int_t)f.len);
    ck_assert_int_eq(strlen(th_str(r->json, "sha256")), 64);
    ck_assert(th_str(r->json, "createdAt")[0]);
    json_t *font = json_object_get(r->json, "font");
    ck_assert_str_eq(th_str(font, "family"), "Roboto");
    ck_assert_str_eq(th_str(font, "style"), "Bold Italic");
    ck_assert_int_eq(json_integer_value(json_object_get(font, "weight")), 700);
    ck_assert_str_eq(th_str(font, "stretch"), "normal");
    ck_assert(json_is_true(json_object_get(font, "italic")));
    ck_assert(json_integer_value(json_object_get(font, "glyphs")) > 1000);
    ck_assert(json_object_get(r->json, "image") == NULL);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    /* the same bytes under the same name: 200, same asset; the declared type is not trusted */
    r = th_upload_asset(srv, key, "font/woff2", f.data, f.len, "?name=Brand%20Bold%20Italic");
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    ck_assert_str_eq(th_str(r->json, "mediaType"), "font/ttf");
    th_resp_free(r);
    /* GET one, and the bytes back */
    char path[256];
    snprintf(path, sizeof path, "/v1/assets/%s", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_str(json_object_get(r->json, "font"), "family"), "Roboto");
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/assets/%s/content", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(r->len, f.len);
    ck_assert(memcmp(r->body, f.data, f.len) == 0);
    ck_assert_str_eq(th_header(r, "content-type"), "font/ttf");
    th_resp_free(r);
    assert_consistent(pid);
    ck_assert_int_eq(th_stored_assets(srv, pid), 1);
    free(f.data);
}
END_TEST

START_TEST(image_upload_as_multipart)
{
    char pid[64], key[128];
    new_project("Images", pid, key);
    tu_bytes_t p = png(30, 20);
    th_resp_t *r = post_multipart(key, "XBOUNDARY", "logo.png", p.data, p.len, 1, NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "name"), "logo.png"); /* the file's own name */
    ck_assert_str_eq(th_str(r->json, "kind"), "image");
    ck_assert_str_eq(th_str(r->json, "mediaType"), "image/png");
    json_t *img = json_object_get(r->json, "image");
    ck_assert(json_number_value(json_object_get(img, "width")) == 30);
    ck_assert(json_number_value(json_object_get(img, "height")) == 20);
    th_resp_free(r);
    const char *svg =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"10\"><rect width=\"40\" "
        "height=\"10\"/></svg>";
    r = post_multipart(key, "XBOUNDARY", "mark.svg", svg, strlen(svg), 1, "Mark");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "name"), "Mark");
    ck_assert_str_eq(th_str(r->json, "mediaType"), "image/svg+xml");
    char path[256];
    snprintf(path, sizeof path, "/v1/assets/%s/content", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(th_header(r, "content-type"), "image/svg+xml");
    ck_assert(strstr(th_header(r, "content-security-policy"), "sandbox") != NULL);
    th_resp_free(r);
    assert_consistent(pid);
    free(p.data);
}
END_TEST

START_TEST(list_pages_newest_first)
{
    char pid[64], key[128];
    new_project("Paging", pid, key);
    for (int i = 1; i <= 3; i++) {
        char svg[200], q[32];
        snprintf(svg, sizeof svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"5\"/>",
                 i * 10);
        snprintf(q, sizeof q, "?name=a%d", i);
        th_resp_t *r = th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), q);
        ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
        th_resp_free(r);
    }
    th_resp_t *r = th_req(srv, "GET", "/v1/assets?limit=2", key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    json_t *list = json_object_get(r->json, "assets");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(th_str(json_array_get(list, 0), "name"), "a3");
    ck_assert(json_is_true(json_object_get(r->json, "hasMore")));
    char path[256];
    snprintf(path, sizeof path, "/v1/assets?limit=2&cursor=%s", th_str(r->json, "nextCursor"));
    th_resp_free(r);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    list = json_object_get(r->json, "assets");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(th_str(json_array_get(list, 0), "name"), "a1");
    ck_assert(json_is_false(json_object_get(r->json, "hasMore")));
    ck_assert(json_is_null(json_object_get(r->json, "nextCursor")));
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/assets?limit=0", key, NULL, 400, "invalid_request");
    th_expect_error(srv, "GET", "/v1/assets?cursor=nope", key, NULL, 400, "invalid_request");
}
END_TEST

START_TEST(projects_are_isolated)
{
    char pa[64], ka[128], pb[64], kb[128];
    new_project("Iso A", pa, ka);
    new_project("Iso B", pb, kb);
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"3\" height=\"3\"/>";
    th_resp_t *r = th_upload_asset(srv, ka, "image/svg+xml", svg, strlen(svg), "?name=secret-logo");
    ck_assert_int_eq(r->status, 201);
    char id[64], path[256];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    const char *suffixes[] = {"", "/content"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/v1/assets/%s%s", id, suffixes[i]);
        th_expect_error(srv, "GET", path, kb, NULL, 404, "asset_not_found");
    }
    snprintf(path, sizeof path, "/v1/assets/%s", id);
    th_expect_error(srv, "DELETE", path, kb, NULL, 404, "asset_not_found");
    r = th_req(srv, "GET", "/v1/assets", kb, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "assets")), 0);
    ck_assert(strstr(r->body, "secret-logo") == NULL);
    th_resp_free(r);
    /* B may use the same name for its own file */
    r = th_upload_asset(srv, kb, "image/svg+xml", svg, strlen(svg), "?name=secret-logo");
    ck_assert_int_eq(r->status, 201);
    ck_assert_str_ne(th_str(r->json, "id"), id);
    th_resp_free(r);
    th_expect_error(srv, "GET", "/v1/assets/not-a-uuid", ka, NULL, 404, "asset_not_found");
}
END_TEST

START_TEST(reupload_replaces_the_name)
{
    char pid[64], key[128];
    new_project("Replace", pid, key);
    tu_bytes_t a = png(10, 10), b = png(12, 12);
    th_resp_t *r = th_upload_asset(srv, key, "image/png", a.data, a.len, "?name=logo");
    ck_assert_int_eq(r->status, 201);
    char first[64], path[256];
    snprintf(first, sizeof first, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_upload_asset(srv, key, "image/png", b.data, b.len, "?name=logo");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_ne(th_str(r->json, "id"), first);
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/assets/%s", first);
    th_expect_error(srv, "GET", path, key, NULL, 404, "asset_not_found");
    r = th_req(srv, "GET", "/v1/assets", key, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "assets")), 1);
    th_resp_free(r);
    /* the replaced bytes stay (published versions may use them) until collected */
    ck_assert_int_eq(
        sql_int("SELECT count(*) FROM assets WHERE id = '%s' AND replaced_at IS NOT NULL", first), 1);
    assert_consistent(pid);
    free(a.data);
    free(b.data);
}
END_TEST

START_TEST(delete_refused_while_a_published_version_uses_it)
{
    char pid[64], key[128];
    th_invoice_project(srv, "Delete", "invoice", pid, key);
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>";
    th_resp_t *r = th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), "?name=used");
    ck_assert_int_eq(r->status, 201);
    char id[64], path[256], q[512];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    snprintf(q, sizeof q,
             "INSERT INTO template_version_assets (version_id, asset_id) SELECT v.id, '%s' FROM "
             "template_versions v"
             " JOIN templates t ON t.id = v.template_id WHERE t.slug = 'invoice' AND t.project_id = '%s'",
             id, pid);
    free(th_sql(srv, q));
    snprintf(path, sizeof path, "/v1/assets/%s", id);
    r = th_req(srv, "DELETE", path, key, NULL, NULL);
    th_assert_error(r, 409, "asset_in_use");
    ck_assert(strstr(r->body, "invoice") != NULL);
    th_resp_free(r);
    ck_assert_int_eq(th_stored_assets(srv, pid), 1);
    snprintf(path, sizeof path, "/v1/assets/%s?force=true", id);
    r = th_req(srv, "DELETE", path, key, NULL, NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "id"), id);
    ck_assert(th_str(r->json, "deletedAt")[0]);
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/assets/%s/content", id);
    th_expect_error(srv, "GET", path, key, NULL, 404, "asset_not_found");
    ck_assert_int_eq(th_stored_assets(srv, pid), 0);
    assert_consistent(pid);
    /* a plain delete of an unused asset */
    r = th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), "?name=unused");
    snprintf(path, sizeof path, "/v1/assets/%s", th_str(r->json, "id"));
    th_resp_free(r);
    r = th_req(srv, "DELETE", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    th_expect_error(srv, "DELETE", path, key, NULL, 404, "asset_not_found");
    ck_assert_int_eq(th_stored_assets(srv, pid), 0);
}
END_TEST

START_TEST(limits_are_enforced)
{
    char pid[64], key[128];
    new_project("Count", pid, key);
    for (int i = 1; i <= MAX_COUNT + 1; i++) {
        char svg[200], q[32];
        snprintf(svg, sizeof svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"5\"/>", i);
        snprintf(q, sizeof q, "?name=n%d", i);
        th_resp_t *r = th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), q);
        if (i <= MAX_COUNT)
            ck_assert_msg(r->status == 201, "%d: %ld %s", i, r->status, r->body);
        else
            th_assert_error(r, 409, "asset_limit_reached");
        th_resp_free(r);
    }
    /* replacing a name does not need a free slot */
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"99\" height=\"5\"/>";
    th_resp_t *r = th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), "?name=n1");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    assert_consistent(pid);

    char pid2[64], key2[128];
    new_project("Bytes", pid2, key2);
    const char *fonts[] = {"Roboto-Regular.ttf", "Roboto-Bold.ttf", "Roboto-Italic.ttf", "Roboto-Light.ttf"};
    for (int i = 0; i < 4; i++) {
        char path[256], q[64];
        snprintf(path, sizeof path, ROBOTO_DIR "%s", fonts[i]);
        snprintf(q, sizeof q, "?name=%s", fonts[i]);
        tu_bytes_t f = tu_bytes_load(path);
        r = th_upload_asset(srv, key2, "font/ttf", f.data, f.len, q);
        if (i < 3)
            ck_assert_msg(r->status == 201, "%s: %ld %s", fonts[i], r->status, r->body);
        else
            th_assert_error(r, 413, "asset_quota_exceeded");
        th_resp_free(r);
        free(f.data);
    }
    assert_consistent(pid2);

    /* one image over CRAFTKIT_ASSET_IMAGE_MAX_BYTES */
    size_t n = IMAGE_MAX + 10;
    char *big = malloc(n + 1);
    const char *head = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"5\" height=\"5\"><!--";
    memset(big, 'x', n);
    memcpy(big, head, strlen(head));
    memcpy(big + n - 9, "--></svg>", 9);
    r = th_upload_asset(srv, key2, "image/svg+xml", big, n, "?name=big");
    th_assert_error(r, 413, "asset_too_large");
    th_resp_free(r);
    free(big);
    assert_consistent(pid2);
}
END_TEST

/* A request whose headers announce a 200 MB body: refused before any of it is read. */
static char *announce_huge_body(const char *key)
{
    char req[1024];
    snprintf(req, sizeof req,
             "POST /v1/assets?name=huge HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: font/ttf\r\nContent-Length: 209715200\r\nConnection: close\r\n\r\n",
             key);
    return th_raw_request(srv, req);
}

static void expect(th_resp_t *r, long status, const char *code, const char *what)
{
    ck_assert_msg(r != NULL, "%s: no answer", what);
    ck_assert_msg(r->status == status && !strcmp(th_error_code(r), code), "%s: %ld %s", what, r->status,
                  r->body);
    th_assert_error(r, status, code);
    th_resp_free(r);
}

START_TEST(bad_input_is_refused_and_leaves_nothing)
{
    char pid[64], key[128];
    new_project("Bad input", pid, key);
    tu_bytes_t ttc = tu_bytes_load(NOTO_TTC);
    expect(th_upload_asset(srv, key, "font/ttf", ttc.data, ttc.len, "?name=cjk"), 400, "invalid_asset",
           "TTC");
    free(ttc.data);
    tu_bytes_t f = tu_bytes_load(DEJAVU);
    expect(th_upload_asset(srv, key, "font/ttf", f.data, f.len / 3, "?name=cut"), 400, "invalid_asset",
           "truncated font");
    /* no Unicode cmap: every encoding record made Apple Roman */
    unsigned n = (unsigned)(f.data[4] << 8 | f.data[5]);
    for (unsigned i = 0; i < n; i++) {
        unsigned char *rec = f.data + 12 + i * 16;
        if (memcmp(rec, "cmap", 4))
            continue;
        unsigned char *cmap =
            f.data + ((uint32_t)rec[8] << 24 | (uint32_t)rec[9] << 16 | (uint32_t)rec[10] << 8 | rec[11]);
        for (unsigned j = 0; j < (unsigned)(cmap[2] << 8 | cmap[3]); j++)
            memcpy(cmap + 4 + j * 8, "\0\1\0\0", 4);
    }
    expect(th_upload_asset(srv, key, "font/ttf", f.data, f.len, "?name=nocmap"), 400, "invalid_asset",
           "no cmap");
    free(f.data);
    unsigned char bomb[256] = {'w', 'O', 'F', '2', 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0};
    expect(th_upload_asset(srv, key, "font/woff2", bomb, sizeof bomb, "?name=bomb"), 400, "invalid_asset",
           "WOFF2 bomb");
    const char *script = "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    expect(th_upload_asset(srv, key, "image/svg+xml", script, strlen(script), "?name=s"), 400,
           "invalid_asset", "SVG script");
    const char *ext =
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><image href=\"http://169.254.169.254/x\"/></svg>";
    expect(th_upload_asset(srv, key, "image/svg+xml", ext, strlen(ext), "?name=e"), 400, "invalid_asset",
           "SVG external");
    unsigned char huge[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0,    13,
                              'I',  'H', 'D', 'R', 0,    0,    0xC3, 0x50, 0, 0, 0xC3, 0x50};
    th_resp_t *r = th_upload_asset(srv, key, "image/png", huge, sizeof huge, "?name=huge");
    ck_assert(strstr(r->body, "50000x50000") != NULL);
    expect(r, 400, "invalid_asset", "50000x50000");
    expect(th_upload_asset(srv, key, "text/plain", "hello", 5, "?name=t"), 415, "unsupported_media_type",
           "text/plain");
    expect(th_upload_asset(srv, key, "image/png", "hello", 5, "?name=t"), 400, "invalid_asset",
           "not an image");
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"3\" height=\"3\"/>";
    expect(th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), ""), 400, "invalid_request",
           "no name");
    expect(th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), "?name=a/b"), 400, "invalid_request",
           "slash");
    expect(th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), "?name=..%2Fx"), 400,
           "invalid_request", "dot dot");
    char q[600] = "?name=";
    memset(q + 6, 'n', 500);
    q[506] = '\0';
    expect(th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), q), 400, "invalid_request",
           "500 characters");
    expect(th_upload_asset(srv, key, "image/svg+xml", "", 0, "?name=empty"), 400, "invalid_asset", "empty");
    expect(post_multipart(key, "XBOUNDARY", "a.svg", svg, strlen(svg), 2, NULL), 400, "invalid_multipart",
           "two files");
    expect(post_multipart(key, NULL, "a.svg", svg, strlen(svg), 1, NULL), 400, "invalid_multipart",
           "no boundary");
    expect(post_multipart(key, "OTHER", "a.svg", svg, strlen(svg), 1, NULL), 400, "invalid_multipart",
           "wrong boundary");
    expect(post_multipart(key, "XBOUNDARY", "dir/a.svg", svg, strlen(svg), 1, NULL), 400, "invalid_request",
           "file name with a slash");
    char *raw = announce_huge_body(key);
    ck_assert_msg(strncmp(raw, "HTTP/1.1 413", 12) == 0 && strstr(raw, "payload_too_large"), "%s", raw);
    free(raw);
    /* chunked (no length): counted while read, then refused */
    size_t big = (21u << 20) + (128u << 10);
    char *body = calloc(1, big);
    const char *chunked[] = {"Content-Type: font/ttf", "Transfer-Encoding: chunked", NULL};
    expect(th_req_bytes(srv, "POST", "/v1/assets?name=chunked", key, body, big, chunked), 413,
           "payload_too_large", "chunked 21 MB");
    free(body);
    assert_consistent(pid);
    ck_assert_int_eq(th_stored_assets(srv, pid), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM assets WHERE project_id = '%s'", pid), 0);
    r = th_req(srv, "GET", "/health", NULL, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
}
END_TEST

START_TEST(interrupted_upload_is_collected)
{
    /* A pending row older than ASSETS_PENDING_MINUTES (a crash between the row and the object)
     * and its object are removed by the project's next upload. */
    char pid[64], key[128];
    new_project("Crash", pid, key);
    char dir[2048], q[1024];
    snprintf(dir, sizeof dir,
             "mkdir -p %s/data/assets/%s && echo x > %s/data/assets/%s/"
             "01900000-0000-7000-8000-000000000001",
             srv->dir, pid, srv->dir, pid);
    ck_assert_int_eq(system(dir), 0);
    snprintf(q, sizeof q,
             "INSERT INTO assets (id, project_id, name, kind, media_type, bytes, sha256, storage_key, meta, "
             "created_at)"
             " VALUES ('01900000-0000-7000-8000-000000000001', '%s', 'half', 'image', 'image/png', 2, "
             "repeat('a', 64),"
             " 'assets/%s/01900000-0000-7000-8000-000000000001', '{}', now() - interval '1 hour')",
             pid, pid);
    free(th_sql(srv, q));
    ck_assert_int_eq(th_stored_assets(srv, pid), 1);
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"3\" height=\"3\"/>";
    th_resp_t *r = th_upload_asset(srv, key, "image/svg+xml", svg, strlen(svg), "?name=next");
    ck_assert_int_eq(r->status, 201);
    th_resp_free(r);
    assert_consistent(pid);
    ck_assert_int_eq(th_stored_assets(srv, pid), 1);
}
END_TEST

/* ---- layouts: "src": "asset:NAME" ---- */

#define LOGO_MANIFEST "{\"variables\":[{\"key\":\"logo\",\"dataType\":\"text\"}]}"

/* PUT a template whose body shows src (and the image variable "logo"); returns the response. */
static th_resp_t *put_logo_template(const char *key, const char *slug, const char *src)
{
    char body[1024], path[256];
    snprintf(body, sizeof body,
             "{\"manifest\":" LOGO_MANIFEST ",\"layout\":{\"body\":[{\"type\":\"text\",\"text\":\"Logo:\"},"
             "{\"type\":\"image\",\"src\":\"%s\"},{\"type\":\"image\",\"src\":\"{{logo}}\"}]}}",
             src);
    snprintf(path, sizeof path, "/v1/templates/%s", slug);
    return th_req(srv, "PUT", path, key, body, NULL);
}

/* The stdout of the shell command "before FILE after" (pdffix_tool), cut to out_len. */
static void tool_output(const char *file, const char *before, const char *after, char *out, size_t out_len)
{
    char *text = pdffix_tool(file, before, after);
    ck_assert(text != NULL);
    snprintf(out, out_len, "%s", text);
    free(text);
}

/* Renders slug with data and returns "WxH WxH …" of the PDF's images (pdfimages). */
static void render_images(const char *key, const char *slug, const char *data, const char *options, char *out,
                          size_t out_len)
{
    char body[512];
    snprintf(body, sizeof body, "{\"data\":%s,\"options\":{\"filename\":\"x\"%s}}", data, options);
    char id[64];
    th_submit_ok(srv, NULL, key, slug, body, id);
    th_resp_t *r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    char file[700];
    th_resp_free(th_download_to(srv, key, id, "images", file, sizeof file));
    tool_output(file, "pdfimages -list", "| awk 'NR > 2 {printf \"%sx%s \", $4, $5}'", out, out_len);
}

START_TEST(layout_images_come_from_the_project)
{
    char pid[64], key[128], pid2[64], key2[128];
    new_project("Layout A", pid, key);
    new_project("Layout B", pid2, key2);
    tu_bytes_t small = png(40, 20), big = png(80, 30);
    th_resp_t *r = th_upload_asset(srv, key, "image/png", small.data, small.len, "?name=logo");
    ck_assert_int_eq(r->status, 201);
    char first_id[64], first_sha[80];
    snprintf(first_id, sizeof first_id, "%s", th_str(r->json, "id"));
    snprintf(first_sha, sizeof first_sha, "%s", th_str(r->json, "sha256"));
    th_resp_free(r);
    /* a name the project does not have is a layout issue at its exact path */
    r = put_logo_template(key, "brand-doc", "asset:nologo");
    th_assert_error(r, 400, "invalid_request");
    json_t *fe = json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    ck_assert_msg(json_object_get(fe, "layout.body.1.src") != NULL, "%s", r->body);
    ck_assert(strstr(r->body, "nologo") != NULL);
    th_resp_free(r);
    /* another project's asset does not exist for this one, even by its id */
    char src[128];
    snprintf(src, sizeof src, "asset:%s", first_id);
    r = put_logo_template(key2, "brand-doc", src);
    th_assert_error(r, 400, "invalid_request");
    th_resp_free(r);
    r = put_logo_template(key2, "brand-doc", "asset:logo");
    th_assert_error(r, 400, "invalid_request");
    th_resp_free(r);
    /* by name, and by id */
    r = put_logo_template(key, "brand-doc", "asset:logo");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = put_logo_template(key, "by-id", src);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    char dims[256];
    render_images(key, "brand-doc", "{}", "", dims, sizeof dims);
    ck_assert_msg(!strcmp(dims, "40x20 "), "%s", dims);
    render_images(key, "by-id", "{}", "", dims, sizeof dims);
    ck_assert_msg(!strcmp(dims, "40x20 "), "%s", dims);
    /* re-uploading the name: the published version keeps its bytes ... */
    r = th_upload_asset(srv, key, "image/png", big.data, big.len, "?name=logo");
    ck_assert_int_eq(r->status, 201);
    th_resp_free(r);
    render_images(key, "brand-doc", "{}", "", dims, sizeof dims);
    ck_assert_msg(!strcmp(dims, "40x20 "), "published version changed: %s", dims);
    /* ... also where its data names the asset (a name means the version's bytes throughout) ... */
    render_images(key, "brand-doc", "{\"logo\":\"asset:logo\"}", "", dims, sizeof dims);
    ck_assert_msg(!strcmp(dims, "40x20 40x20 "), "%s", dims);
    /* ... while a version saved now gets the new bytes */
    r = put_logo_template(key, "brand-doc", "asset:logo");
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    render_images(key, "brand-doc", "{}", "", dims, sizeof dims);
    ck_assert_msg(!strcmp(dims, "80x30 "), "%s", dims);
    render_images(key, "brand-doc", "{}", ",\"versionNumber\":1", dims, sizeof dims);
    ck_assert_msg(!strcmp(dims, "40x20 "), "version 1 changed: %s", dims);
    /* the version says which bytes it uses */
    r = th_req(srv, "GET", "/v1/templates/brand-doc/versions/1", key, NULL, NULL);
    json_t *pinned = json_array_get(json_object_get(r->json, "assets"), 0);
    ck_assert_msg(json_array_size(json_object_get(r->json, "assets")) == 1, "%s", r->body);
    ck_assert_str_eq(th_str(pinned, "id"), first_id);
    ck_assert_str_eq(th_str(pinned, "name"), "logo");
    ck_assert_str_eq(th_str(pinned, "sha256"), first_sha);
    th_resp_free(r);
    /* the old bytes are in use by version 1: deleting the current logo is refused too */
    r = th_req(srv, "GET", "/v1/assets", key, NULL, NULL);
    char path[256];
    snprintf(path, sizeof path, "/v1/assets/%s",
             th_str(json_array_get(json_object_get(r->json, "assets"), 0), "id"));
    th_resp_free(r);
    th_expect_error(srv, "DELETE", path, key, NULL, 409, "asset_in_use");
    /* project B's data cannot reach A's asset */
    r = th_req(srv, "PUT", "/v1/templates/plain", key2,
               "{\"manifest\":" LOGO_MANIFEST
               ",\"layout\":{\"body\":[{\"type\":\"image\",\"src\":\"{{logo}}\"}]}}",
               NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    snprintf(path, sizeof path, "{\"data\":{\"logo\":\"asset:%s\"},\"options\":{\"sync\":true}}", first_id);
    r = th_req(srv, "POST", "/v1/templates/plain/render", key2, path, NULL);
    char id[64];
    snprintf(id, sizeof id, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    /* (a failed attempt is retried later: its message is enough) */
    snprintf(path, sizeof path, "/v1/renders/%s", id);
    bool refused = false;
    for (int i = 0; i < 200 && !refused; i++) {
        r = th_req(srv, "GET", path, key2, NULL, NULL);
        refused = strstr(th_str(r->json, "errorMessage"), "no image asset") != NULL;
        ck_assert_msg(strcmp(th_status(r), "succeeded") != 0, "%s", r->body);
        th_resp_free(r);
        if (!refused)
            th_sleep_ms(100);
    }
    ck_assert(refused);
    /* a preview of an unsaved layout is checked the same way */
    th_expect_error(srv, "POST", "/v1/templates/plain/preview", key2,
                    "{\"data\":{},\"manifest\":" LOGO_MANIFEST
                    ",\"layout\":{\"body\":[{\"type\":\"image\",\"src\":\"asset:logo\"}]}}",
                    400, "invalid_request");
    r = th_req(srv, "POST", "/v1/templates/brand-doc/preview", key, "{\"data\":{}}", NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    th_resp_free(r);
    free(small.data);
    free(big.data);
}
END_TEST

/* ---- layouts: "font": "Brand" ---- */

/* Uploads the installed font at path renamed to family "Brand" as asset name; its id. */
static void upload_brand(const char *key, const char *path, const char *name, char id[64])
{
    size_t len;
    unsigned char *d = tu_font_renamed(path, "Brand", &len);
    char q[128];
    snprintf(q, sizeof q, "?name=%s", name);
    th_resp_t *r = th_upload_asset(srv, key, "font/ttf", d, len, q);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(json_object_get(r->json, "font"), "family"), "Brand");
    snprintf(id, 64, "%s", th_str(r->json, "id"));
    th_resp_free(r);
    free(d);
}

#define BRAND_LAYOUT                                                                                         \
    "{\"manifest\":{},\"layout\":{\"body\":[{\"text\":\"Hello brand\",\"font\":\"Brand\"},"                  \
    "{\"text\":\"Bold brand\",\"font\":\"Brand\",\"bold\":true}]}}"

/* The fonts of a finished render's PDF, one "name type" per line (pdffonts). */
static void render_fonts(const char *key, const char *id, char *out, size_t out_len)
{
    th_resp_t *r = th_wait_render(srv, key, id, 60000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    char file[700];
    th_resp_free(th_download_to(srv, key, id, "fonts", file, sizeof file));
    tool_output(file, "pdffonts", "| awk 'NR > 2 {print $1, $2}'", out, out_len);
}

static void submit(const char *key, const char *slug, const char *options, char id[64])
{
    char body[256];
    snprintf(body, sizeof body, "{\"data\":{},\"options\":{\"filename\":\"x\"%s}}", options);
    th_submit_ok(srv, NULL, key, slug, body, id);
}

START_TEST(uploaded_fonts_render_in_their_project_only)
{
    char pa[64], ka[128], pb[64], kb[128], pc[64], kc[128], id[64], regular[64], bold[64];
    new_project("Fonts A", pa, ka);
    new_project("Fonts B", pb, kb);
    new_project("Fonts C", pc, kc);
    /* both call their family "Brand": A with Roboto's files, B with Liberation Sans */
    upload_brand(ka, ROBOTO_DIR "Roboto-Regular.ttf", "brand-regular", regular);
    upload_brand(ka, ROBOTO_DIR "Roboto-Bold.ttf", "brand-bold", bold);
    upload_brand(kb, LIBERATION, "brand", id);
    th_resp_t *r = th_req(srv, "PUT", "/v1/templates/brand-fonts", ka, BRAND_LAYOUT, NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/brand-fonts", kb, BRAND_LAYOUT, NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    /* C has no "Brand": an issue at the exact path, which says nothing of A's or B's files */
    r = th_req(srv, "PUT", "/v1/templates/brand-fonts", kc, BRAND_LAYOUT, NULL);
    th_assert_error(r, 400, "invalid_request");
    json_t *fe = json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors");
    ck_assert_msg(json_object_get(fe, "layout.body.0.font") != NULL, "%s", r->body);
    /* (the substitute it names is the server's installed default, whatever A and B uploaded) */
    ck_assert_msg(!strstr(r->body, "brand-") && !strstr(r->body, regular) && !strstr(r->body, bold), "%s",
                  r->body);
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/brand-fonts", kc, "{\"manifest\":{}}", NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    th_expect_error(
        srv, "POST", "/v1/templates/brand-fonts/preview", kc,
        "{\"data\":{},\"manifest\":{},\"layout\":{\"body\":[{\"text\":\"x\",\"font\":\"Brand\"}]}}", 400,
        "invalid_request");
    /* A lists only its own files */
    r = th_req(srv, "GET", "/v1/assets", ka, NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "assets")), 2);
    ck_assert(strstr(r->body, "Liberation") == NULL);
    th_resp_free(r);
    /* rendered at the same time by the worker pool, each gets its own glyphs */
    char ids[8][64];
    for (int i = 0; i < 8; i++)
        submit(i % 2 ? kb : ka, "brand-fonts", "", ids[i]);
    for (int i = 0; i < 8; i++) {
        char fonts[1024];
        render_fonts(i % 2 ? kb : ka, ids[i], fonts, sizeof fonts);
        if (i % 2 == 0) {
            ck_assert_msg(strstr(fonts, "+Roboto-Regular TrueType") && strstr(fonts, "+Roboto-Bold TrueType"),
                          "%s", fonts);
            ck_assert_msg(!strstr(fonts, "Liberation") && !strstr(fonts, "DejaVu"), "%s", fonts);
        } else {
            /* one file: bold is synthesised from it (not the installed Liberation Sans Bold) */
            ck_assert_msg(strstr(fonts, "+LiberationSans TrueType"), "%s", fonts);
            ck_assert_msg(!strstr(fonts, "Roboto") && !strstr(fonts, "LiberationSans-Bold"), "%s", fonts);
        }
    }
    /* a preview of an unsaved layout uses them too */
    r = th_req(srv, "POST", "/v1/templates/brand-fonts/preview", kb,
               "{\"data\":{},\"manifest\":{},\"layout\":{\"body\":[{\"text\":\"x\",\"font\":\"Brand\"}]}}",
               NULL);
    ck_assert_msg(r->status == 200 && memmem(r->body, r->len, "+LiberationSans", 15), "%ld", r->status);
    th_resp_free(r);
    /* the version pinned both files: a re-upload of a name changes later versions only */
    upload_brand(ka, ROBOTO_DIR "Roboto-Light.ttf", "brand-regular", id);
    submit(ka, "brand-fonts", "", id);
    char fonts[1024];
    render_fonts(ka, id, fonts, sizeof fonts);
    ck_assert_msg(strstr(fonts, "+Roboto-Regular") && !strstr(fonts, "Light"), "%s", fonts);
    r = th_req(srv, "GET", "/v1/templates/brand-fonts/versions/1", ka, NULL, NULL);
    ck_assert_msg(strstr(r->body, regular) && strstr(r->body, bold) && strstr(r->body, "\"font\""), "%s",
                  r->body);
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/brand-fonts", ka, BRAND_LAYOUT, NULL);
    ck_assert_int_eq(r->status, 200);
    th_resp_free(r);
    submit(ka, "brand-fonts", "", id);
    render_fonts(ka, id, fonts, sizeof fonts);
    /* weight 400 with faces 300 and 700: the lighter one (CSS font matching) */
    ck_assert_msg(strstr(fonts, "+Roboto-Light") && !strstr(fonts, "Roboto-Regular"), "%s", fonts);
    submit(ka, "brand-fonts", ",\"versionNumber\":1", id);
    render_fonts(ka, id, fonts, sizeof fonts);
    ck_assert_msg(strstr(fonts, "+Roboto-Regular") && !strstr(fonts, "Light"), "version 1 changed: %s",
                  fonts);
    /* the file a published version uses cannot be deleted */
    char path[128];
    snprintf(path, sizeof path, "/v1/assets/%s", bold);
    th_expect_error(srv, "DELETE", path, ka, NULL, 409, "asset_in_use");
}
END_TEST

/* A pdf-overlay version's placements may name the project's uploaded fonts too: the version
 * pins their files and the render embeds them (not a substitute). */
START_TEST(uploaded_fonts_render_in_overlays)
{
    char pid[64], key[128], font[64], id[64], fonts[1024];
    new_project("Overlay fonts", pid, key);
    upload_brand(key, ROBOTO_DIR "Roboto-Regular.ttf", "brand", font);
    pdffix_t base = pdffix_cairo(1, 595.28, 841.89);
    th_resp_t *r = th_upload_asset(srv, key, "application/pdf", base.data, base.len, "?name=letter");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    pdffix_free(&base);
    r = th_req(srv, "PUT", "/v1/templates/overlay-fonts", key,
               "{\"templateType\":\"pdf-overlay\",\"manifest\":{},\"layout\":{\"base\":\"asset:letter\","
               "\"fields\":[{\"type\":\"text\",\"page\":1,\"x\":100,\"y\":200,\"text\":\"Hello brand\","
               "\"font\":\"Brand\"}]}}",
               NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    r = th_req(srv, "GET", "/v1/templates/overlay-fonts/versions/1", key, NULL, NULL);
    ck_assert_msg(strstr(r->body, font) != NULL, "the version did not pin the font: %s", r->body);
    th_resp_free(r);
    submit(key, "overlay-fonts", "", id);
    render_fonts(key, id, fonts, sizeof fonts);
    /* (the base page's own text brings DejaVu Sans) */
    ck_assert_msg(strstr(fonts, "+Roboto-Regular TrueType") != NULL, "%s", fonts);
    /* a project without the family gets an issue at the placement's path */
    char pid2[64], key2[128];
    new_project("Overlay fonts B", pid2, key2);
    base = pdffix_cairo(1, 595.28, 841.89);
    r = th_upload_asset(srv, key2, "application/pdf", base.data, base.len, "?name=letter");
    th_resp_free(r);
    pdffix_free(&base);
    r = th_req(srv, "PUT", "/v1/templates/overlay-fonts", key2,
               "{\"templateType\":\"pdf-overlay\",\"manifest\":{},\"layout\":{\"base\":\"asset:letter\","
               "\"fields\":[{\"type\":\"text\",\"page\":1,\"x\":100,\"y\":200,\"text\":\"x\","
               "\"font\":\"Brand\"}]}}",
               NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(strstr(r->body, "layout.fields.0.font") != NULL, "%s", r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(woff2_upload_renders_as_its_font)
{
    char pid[64], key[128], id[64], fonts[1024];
    new_project("Web fonts", pid, key);
    /* Roboto renamed "Brand" and packed as WOFF2 by Debian's fontTools (scripts/deps) */
    size_t len;
    unsigned char *ttf = tu_font_renamed(ROBOTO_DIR "Roboto-Regular.ttf", "Brand", &len);
    char src[600], dst[600], cmd[1600];
    snprintf(src, sizeof src, "%s/brand.ttf", srv->dir);
    snprintf(dst, sizeof dst, "%s/brand.woff2", srv->dir);
    FILE *f = fopen(src, "wb");
    ck_assert(fwrite(ttf, 1, len, f) == len);
    fclose(f);
    free(ttf);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys; from fontTools.ttLib import TTFont; f = TTFont(sys.argv[1]); "
             "f.flavor = 'woff2'; f.save(sys.argv[2])\" '%s' '%s'",
             src, dst);
    ck_assert_int_eq(system(cmd), 0);
    tu_bytes_t w = tu_bytes_load(dst);
    th_resp_t *r = th_upload_asset(srv, key, "font/woff2", w.data, w.len, "?name=brand");
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ck_assert_str_eq(th_str(r->json, "mediaType"), "font/woff2");
    ck_assert_str_eq(th_str(json_object_get(r->json, "font"), "family"), "Brand");
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/web-font", key, BRAND_LAYOUT, NULL);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    th_resp_free(r);
    submit(key, "web-font", "", id);
    render_fonts(key, id, fonts, sizeof fonts);
    ck_assert_msg(strstr(fonts, "+Roboto-Regular TrueType") && !strstr(fonts, "DejaVu"), "%s", fonts);
    free(w.data);
}
END_TEST

int main(void)
{
    char count[64], total[64], image[64];
    snprintf(count, sizeof count, "CRAFTKIT_ASSETS_MAX_COUNT=%d", MAX_COUNT);
    snprintf(total, sizeof total, "CRAFTKIT_ASSETS_MAX_TOTAL_BYTES=%d", MAX_TOTAL);
    snprintf(image, sizeof image, "CRAFTKIT_ASSET_IMAGE_MAX_BYTES=%d", IMAGE_MAX);
    const char *env[] = {count, total, image, NULL};
    srv = th_start("assets", env);
    Suite *s = suite_create("assets");
    TCase *tc = tcase_create("assets");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, font_upload_is_described_and_idempotent);
    tcase_add_test(tc, image_upload_as_multipart);
    tcase_add_test(tc, list_pages_newest_first);
    tcase_add_test(tc, projects_are_isolated);
    tcase_add_test(tc, reupload_replaces_the_name);
    tcase_add_test(tc, delete_refused_while_a_published_version_uses_it);
    tcase_add_test(tc, limits_are_enforced);
    tcase_add_test(tc, bad_input_is_refused_and_leaves_nothing);
    tcase_add_test(tc, interrupted_upload_is_collected);
    tcase_add_test(tc, layout_images_come_from_the_project);
    tcase_add_test(tc, uploaded_fonts_render_in_their_project_only);
    tcase_add_test(tc, woff2_upload_renders_as_its_font);
    tcase_add_test(tc, uploaded_fonts_render_in_overlays);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
