/* PDF/A output over real HTTP (docs/einvoice.md): options.pdfa on previews and renders, the
 * template version's default (pageConfig.pdfa), and the 400s of bad values. The structure of
 * the files themselves is checked with qpdf, xmllint and poppler by tests/pdfa/check_pdfa.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "harness.h"
#include "harness_render.h"

static th_server_t *srv;
static char key[128];

#define DATA                                                                                                 \
    "{\"customer\":{\"name\":\"PDF/A Customer\"},\"total\":12.5,\"items\":[{\"name\":\"W\",\"qty\":2}]}"

static bool has(const th_resp_t *r, const char *needle)
{
    return r->body && memmem(r->body, r->len, needle, strlen(needle)) != NULL;
}

START_TEST(preview_pdfa_levels)
{
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/preview", key,
                          "{\"data\":" DATA ",\"options\":{\"pdfa\":\"3b\"}}", NULL);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert(has(r, "/GTS_PDFA1") && has(r, "<pdfaid:part>3</pdfaid:part>") && has(r, "/ID ["));
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/preview", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\"}}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "<pdfaid:part>2</pdfaid:part>") && has(r, "<pdfaid:conformance>B</pdfaid:conformance>"));
    th_resp_free(r);
    /* without the option: a plain PDF, as before */
    r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, "{\"data\":" DATA "}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(!has(r, "/GTS_PDFA1") && !has(r, "pdfaid"));
    th_resp_free(r);
    const char *bad[] = {"\"1a\"", "\"3B\"", "3", "true", "\"\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"data\":" DATA ",\"options\":{\"pdfa\":%s}}", bad[i]);
        r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, body, NULL);
        th_assert_error(r, 400, "invalid_request");
        ck_assert_msg(has(r, "\"options.pdfa\":[\"Invalid enum value. Expected '2b' | '3b'\"]"), "%s",
                      r->body);
        th_resp_free(r);
    }
}
END_TEST

START_TEST(render_pdfa_and_replay)
{
    char id[64];
    th_submit_ok(srv, NULL, key, "invoice",
                 "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\",\"filename\":\"a.pdf\"}}", id);
    th_resp_t *r = th_wait_render(srv, key, id, 30000);
    ck_assert_str_eq(th_status(r), "succeeded");
    th_resp_free(r);
    char path[128];
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "/GTS_PDFA1") && has(r, "<pdfaid:part>2</pdfaid:part>"));
    th_resp_free(r);
    /* the level is part of the request: the same key with another level is a different request */
    const char *hdr[] = {"Idempotency-Key: pdfa-1", NULL};
    r = th_req(srv, "POST", "/v1/templates/invoice/render", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\"}}", hdr);
    ck_assert_int_eq(r->status, 202);
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/render", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"3b\"}}", hdr);
    th_assert_error(r, 409, "idempotency_key_reused");
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/invoice/render", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"4u\"}}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(has(r, "options.pdfa"), "%s", r->body);
    th_resp_free(r);
}
END_TEST

START_TEST(template_default)
{
    const char *body = "{\"name\":\"Archive\",\"slug\":\"archive\",\"manifest\":" TH_INVOICE_MANIFEST
                       ",\"pageConfig\":{\"format\":\"A4\",\"pdfa\":\"3b\"}}";
    th_resp_t *r = th_req(srv, "POST", "/v1/templates", key, body, NULL);
    ck_assert_msg(r->status == 201, "%s", r->body);
    th_resp_free(r);
    r = th_req(srv, "POST", "/v1/templates/archive/preview", key, "{\"data\":" DATA "}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "<pdfaid:part>3</pdfaid:part>"));
    th_resp_free(r);
    /* the render's own level wins over the version's */
    r = th_req(srv, "POST", "/v1/templates/archive/preview", key,
               "{\"data\":" DATA ",\"options\":{\"pdfa\":\"2b\"}}", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "<pdfaid:part>2</pdfaid:part>"));
    th_resp_free(r);
    r = th_req(srv, "PUT", "/v1/templates/archive", key,
               "{\"manifest\":" TH_INVOICE_MANIFEST ",\"pageConfig\":{\"pdfa\":\"1b\"}}", NULL);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(has(r, "\"pageConfig.pdfa\""), "%s", r->body);
    th_resp_free(r);
}
END_TEST

/* A preview/render body with these options (a JSON object text); caller frees. */
static char *body_with(const char *options_json)
{
    json_error_t e;
    json_t *o = json_loads(options_json, 0, &e);
    ck_assert_msg(o != NULL, "%s", e.text);
    json_t *b = json_pack("{s:o,s:o}", "data", json_loads(DATA, 0, NULL), "options", o);
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return text;
}

static char *facturx_xml(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/einvoice/factur-x.xml", getenv("CRAFTKIT_TEST_DATA"));
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    char *x = calloc(1, 1 << 16);
    size_t n = fread(x, 1, (1 << 16) - 1, f);
    fclose(f);
    x[n] = '\0';
    return x;
}

/* xml with the guideline id (BT-24) "urn:cen.eu:en16931:2017" replaced by id; caller frees. */
static char *with_guideline(const char *xml, const char *id)
{
    const char *at = strstr(xml, "urn:cen.eu:en16931:2017</");
    ck_assert(at != NULL);
    size_t head = (size_t)(at - xml), old = strlen("urn:cen.eu:en16931:2017");
    char *x = malloc(strlen(xml) + strlen(id) + 1);
    memcpy(x, xml, head);
    strcpy(x + head, id);
    strcat(x, at + old);
    return x;
}

/* options with a Factur-X {xml, profile}; caller frees. */
static char *fx_options(const char *xml, const char *profile, const char *extra)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "facturx", "xml", xml, "profile", profile);
    if (extra) {
        json_t *more = json_loads(extra, 0, NULL);
        json_object_update(o, more);
        json_decref(more);
    }
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

static th_resp_t *preview_with(const char *options_json)
{
    char *body = body_with(options_json);
    th_resp_t *r = th_req(srv, "POST", "/v1/templates/invoice/preview", key, body, NULL);
    free(body);
    return r;
}

static void assert_refused(const char *options_json, const char *path, const char *msg)
{
    th_resp_t *r = preview_with(options_json);
    th_assert_error(r, 400, "invalid_request");
    json_t *list = json_object_get(
        json_object_get(json_object_get(json_object_get(r->json, "error"), "issues"), "fieldErrors"), path);
    char *text = list ? json_dumps(list, 0) : NULL;
    bool found = text && strstr(text, msg);
    free(text);
    ck_assert_msg(found, "%s: %s", path, r->body);
    th_resp_free(r);
    /* and the render endpoint refuses it the same way */
    char *body = body_with(options_json);
    r = th_req(srv, "POST", "/v1/templates/invoice/render", key, body, NULL);
    free(body);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(has(r, path), "%s", r->body);
    th_resp_free(r);
}

START_TEST(attachments)
{
    th_resp_t *r =
        preview_with("{\"pdfa\":\"3b\",\"attachments\":[{\"name\":\"Lieferschein ä.txt\","
                     "\"mediaType\":\"text/plain\",\"content\":\"aGVsbG8=\",\"relationship\":\"Supplement\","
                     "\"description\":\"delivery note\"}]}");
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert(has(r, "/EmbeddedFiles") && has(r, "/AFRelationship /Supplement") && has(r, "/AF [") &&
              has(r, "/Subtype /text#2Fplain"));
    th_resp_free(r);
    /* no level asked for: a plain PDF with an embedded file, no /AF */
    r = preview_with("{\"attachments\":[{\"name\":\"a.bin\",\"mediaType\":\"application/octet-stream\","
                     "\"content\":\"AAEC\"}]}");
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "/EmbeddedFiles") && !has(r, "/AF [") && !has(r, "GTS_PDFA1"));
    th_resp_free(r);
    const char *ok = "\"mediaType\":\"text/plain\",\"content\":\"aGk=\"";
    char opts[4096];
    snprintf(opts, sizeof opts, "{\"attachments\":[{\"name\":\"../../etc/passwd\",%s}]}", ok);
    assert_refused(opts, "options.attachments.0.name", "must not start with a dot");
    snprintf(opts, sizeof opts, "{\"attachments\":[{\"name\":\"x/../../etc/passwd\",%s}]}", ok);
    assert_refused(opts, "options.attachments.0.name", "path separators");
    snprintf(opts, sizeof opts, "{\"attachments\":[{\"name\":\".env\",%s}]}", ok);
    assert_refused(opts, "options.attachments.0.name", "dot");
    snprintf(opts, sizeof opts, "{\"attachments\":[{\"name\":\"a\\u202etxt.exe\",%s}]}", ok);
    assert_refused(opts, "options.attachments.0.name", "bidirectional");
    snprintf(opts, sizeof opts, "{\"attachments\":[{\"name\":\"a\",%s},{\"name\":\"a\",%s}]}", ok, ok);
    assert_refused(opts, "options.attachments.1.name", "Another attachment");
    assert_refused("{\"attachments\":[{\"name\":\"a\",\"mediaType\":\"text\",\"content\":\"aGk=\"}]}",
                   "options.attachments.0.mediaType", "media type");
    assert_refused("{\"attachments\":[{\"name\":\"a\",\"mediaType\":\"text/plain\",\"content\":\"aGk\"}]}",
                   "options.attachments.0.content", "base64");
    assert_refused("{\"attachments\":[{\"name\":\"a\",\"mediaType\":\"text/plain\",\"content\":\"aGk=\","
                   "\"relationship\":\"Other\"}]}",
                   "options.attachments.0.relationship", "Invalid enum value");
    assert_refused(
        "{\"attachments\":[{\"name\":\"a\",\"mediaType\":\"text/plain\",\"content\":\"aGk=\",\"x\":1}]}",
        "options.attachments.0", "Unrecognized key");
    assert_refused("{\"attachments\":{}}", "options.attachments", "Expected array");
    snprintf(opts, sizeof opts, "{\"pdfa\":\"2b\",\"attachments\":[{\"name\":\"a\",%s}]}", ok);
    assert_refused(opts, "options.pdfa", "PDF/A-2b allows no embedded files");
    /* the cap on their number */
    size_t n = (size_t)snprintf(opts, sizeof opts, "{\"attachments\":[");
    for (int i = 0; i <= ENGINE_ATTACHMENTS_MAX; i++)
        n += (size_t)snprintf(opts + n, sizeof opts - n, "%s{\"name\":\"f%d\",%s}", i ? "," : "", i, ok);
    snprintf(opts + n, sizeof opts - n, "]}");
    assert_refused(opts, "options.attachments", "At most 16 attachments");
}
END_TEST

START_TEST(facturx)
{
    char *xml = facturx_xml();
    char *o = fx_options(xml, "EN 16931", NULL);
    th_resp_t *r = preview_with(o);
    free(o);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert(has(r, "<pdfaid:part>3</pdfaid:part>") && has(r, "/AFRelationship /Alternative") &&
              has(r, "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>") && has(r, "(factur-x.xml)"));
    th_resp_free(r);
    /* through the queue and the worker, with an attachment next to it */
    char *basicwl = with_guideline(xml, "urn:factur-x.eu:1p0:basicwl");
    o = fx_options(
        basicwl, "BASIC WL",
        "{\"attachments\":[{\"name\":\"note.txt\",\"mediaType\":\"text/plain\",\"content\":\"aGk=\"}]}");
    char *body = body_with(o);
    free(o);
    char id[64], path[128];
    th_submit_ok(srv, NULL, key, "invoice", body, id);
    free(body);
    r = th_wait_render(srv, key, id, 30000);
    ck_assert_msg(!strcmp(th_status(r), "succeeded"), "%s", r->body);
    th_resp_free(r);
    snprintf(path, sizeof path, "/v1/renders/%s/download", id);
    r = th_req(srv, "GET", path, key, NULL, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert(has(r, "/AFRelationship /Data") &&
              has(r, "<fx:ConformanceLevel>BASIC WL</fx:ConformanceLevel>") && has(r, "(note.txt)"));
    th_resp_free(r);
    /* bad input */
    const struct {
        const char *xml, *profile, *extra, *path, *msg;
    } bad[] = {
        {"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
         "EN 16931", NULL, "options.facturx.xml", "DOCTYPE"},
        {"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>", "EN 16931", NULL,
         "options.facturx.xml", "Cross Industry Invoice"},
        {"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", "EN 16931", NULL, "options.facturx.xml",
         "UTF-8"},
        {"<rsm:CrossIndustryInvoice", "EN 16931", NULL, "options.facturx.xml", "well-formed"},
        {xml, "COMFORT", NULL, "options.facturx.profile", "Invalid enum value"},
        {xml, "BASIC", NULL, "options.facturx.profile", "BT-24, EN 16931"},
        {basicwl, "EN 16931", NULL, "options.facturx.profile", "(BT-24, BASIC WL), not the profile given"},
        {xml, "EN 16931", "{\"pdfa\":\"2b\"}", "options.pdfa", "PDF/A-2b allows no embedded files"},
        {xml, "EN 16931",
         "{\"attachments\":[{\"name\":\"factur-x.xml\",\"mediaType\":\"text/xml\",\"content\":\"aGk=\"}]}",
         "options.attachments", "taken by the Factur-X invoice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = fx_options(bad[i].xml, bad[i].profile, bad[i].extra);
        assert_refused(o, bad[i].path, bad[i].msg);
        free(o);
    }
    assert_refused("{\"facturx\":{\"profile\":\"BASIC\"}}", "options.facturx.xml", "Required");
    assert_refused("{\"facturx\":\"<x/>\"}", "options.facturx", "Expected object");
    /* over 5 MB */
    size_t big = ENGINE_FACTURX_XML_MAX + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    memcpy(huge, "<a>", 3);
    o = fx_options(huge, "EN 16931", NULL);
    free(huge);
    assert_refused(o, "options.facturx.xml", "larger than 5 MB");
    free(o);
    free(xml);
    free(basicwl);
}
END_TEST

static json_t *load(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", getenv("CRAFTKIT_SOURCE_DIR"), rel);
    json_error_t e;
    json_t *v = json_load_file(path, 0, &e);
    ck_assert_msg(v != NULL, "%s: %s", path, e.text);
    return v;
}

START_TEST(generated_einvoice)
{
    json_t *layout = load("tests/golden/invoice/layout.json");
    json_object_set_new(layout, "einvoice", load("tests/data/einvoice/mapping.json"));
    json_t *t = json_pack("{s:s,s:s,s:o,s:o}", "name", "E-invoice", "slug", "einvoice", "manifest",
                          load("tests/golden/invoice/manifest.json"), "layout", layout);
    char *body = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    th_resp_t *r = th_req(srv, "POST", "/v1/templates", key, body, NULL);
    ck_assert_msg(r->status == 201, "%s", r->body);
    th_resp_free(r);
    free(body);
    json_t *data = load("tests/golden/invoice/data.json");
    json_t *req = json_pack("{s:o}", "data", data);
    body = json_dumps(req, JSON_COMPACT);
    r = th_req(srv, "POST", "/v1/templates/einvoice/preview", key, body, NULL);
    free(body);
    ck_assert_msg(r->status == 200, "%s", r->body);
    ck_assert(has(r, "(factur-x.xml)") && has(r, "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>") &&
              has(r, "<pdfaid:part>3</pdfaid:part>"));
    th_resp_free(r);
    /* data that do not add up: 400 at the data's paths, nothing queued */
    json_t *items = json_object_get(data, "items");
    json_t *line = json_array_get(items, 2);
    json_object_set_new(line, "total", json_real(json_number_value(json_object_get(line, "total")) + 1));
    json_object_set_new(data, "vat", json_real(1));
    body = json_dumps(req, JSON_COMPACT);
    r = th_req(srv, "POST", "/v1/templates/einvoice/render", key, body, NULL);
    th_assert_error(r, 400, "invalid_input_data");
    ck_assert_msg(has(r, "\"items.2.total\":[\"The line total") && has(r, "\"vat\":[\"vat is 1.00") &&
                      has(r, "BR-CO-14"),
                  "%s", r->body);
    th_resp_free(r);
    th_expect_error(srv, "POST", "/v1/templates/einvoice/preview", key, body, 400, "invalid_input_data");
    free(body);
    json_decref(req);
    /* a bad mapping is refused when the version is published */
    layout = load("tests/golden/invoice/layout.json");
    json_object_set_new(layout, "einvoice",
                        json_pack("{s:{s:s,s:i}}", "mapping", "colour", "x", "number", 3));
    t = json_pack("{s:o,s:o}", "manifest", load("tests/golden/invoice/manifest.json"), "layout", layout);
    body = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    r = th_req(srv, "PUT", "/v1/templates/einvoice", key, body, NULL);
    free(body);
    th_assert_error(r, 400, "invalid_request");
    ck_assert_msg(has(r, "layout.einvoice.mapping.colour") && has(r, "layout.einvoice.mapping.number"), "%s",
                  r->body);
    th_resp_free(r);
}
END_TEST

int main(void)
{
    srv = th_start("pdfa", NULL);
    char id[64];
    th_invoice_project(srv, "PDF/A", "invoice", id, key);
    Suite *s = suite_create("pdfa");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, preview_pdfa_levels);
    tcase_add_test(tc, render_pdfa_and_replay);
    tcase_add_test(tc, template_default);
    tcase_add_test(tc, attachments);
    tcase_add_test(tc, facturx);
    tcase_add_test(tc, generated_einvoice);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
