/* pdfopts — options.pdfa, options.attachments, options.facturx (see pdfopts.h). */
#include "worker/pdfopts.h"
#include "core/errmsg.h"
#include "manifest/issues.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    json_t *issues;
    char *err;
    size_t err_len;
    int problems;
} reader_t;

__attribute__((format(printf, 3, 4))) static void problem(reader_t *r, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->problems++ == 0)
        errmsg_fail(r->err, r->err_len, "%s: %s", path, msg);
    if (!r->issues)
        return;
    issues_json_field(r->issues, path, msg);
}

static int b64_value(unsigned char c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+'             ? 62
           : c == '/'             ? 63
                                  : -1;
}

/* Canonical base64 (RFC 4648 §4, padded, no white space). Returns the decoded length, or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out)
{
    if (n % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            bool last = i + 4 == n;
            if (last && s[i + k] == '=' && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            if ((v[k] = b64_value((unsigned char)s[i + k])) < 0)
                return -1;
        }
        unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(w >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)w;
        if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
            return -1; /* non-zero bits after the data: not canonical */
    }
    return (long)o;
}

static bool media_type_ok(const char *s)
{
    static const char token[] = "!#$&-^_.+";
    size_t n = strlen(s), slash = 0, left = 0, right = 0;
    if (n > PDFOPTS_MEDIA_TYPE_MAX)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '/') {
            slash++;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(token, *p)))
            return false;
        if (slash)
            right++;
        else
            left++;
    }
    return slash == 1 && left && right;
}

static const char *opt_string(reader_t *r, const json_t *o, const char *key, const char *path, bool required,
                              size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            problem(r, path, "Required");
        return NULL;
    }
    if (!json_is_string(v)) {
        problem(r, path, "Expected string");
        return NULL;
    }
    if (max && json_string_length(v) > max) {
        problem(r, path, "String must contain at most %zu characters", max);
        return NULL;
    }
    return json_string_value(v);
}

static void check_keys(reader_t *r, const json_t *o, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        bool known = false;
        for (size_t i = 0; allowed[i]; i++)
            known |= !strcmp(key, allowed[i]);
        if (!known)
            problem(r, path, "Unrecognized key(s) in object: '%.100s'", key);
    }
}

static void read_attachment(reader_t *r, const json_t *a, size_t i, pdfopts_t *out, size_t *total)
{
    static const char *const keys[] = {"name", "mediaType", "content", "relationship", "description", NULL};
    char path[96], field[128];
    snprintf(path, sizeof path, "options.attachments.%zu", i);
    if (!json_is_object(a)) {
        problem(r, path, "Expected object");
        return;
    }
    check_keys(r, a, path, keys);
    char why[300];
    snprintf(field, sizeof field, "%s.name", path);
    const char *name = opt_string(r, a, "name", field, true, 0);
    if (name && engine_attachment_name_check(name, why, sizeof why) < 0)
        problem(r, field, "%s", why), name = NULL;
    for (size_t k = 0; name && k < out->natt; k++)
        if (!strcmp(out->att[k].name, name))
            problem(r, field, "Another attachment has this name"), name = NULL;
    snprintf(field, sizeof field, "%s.mediaType", path);
    const char *mt = opt_string(r, a, "mediaType", field, true, 0);
    if (mt && !media_type_ok(mt))
        problem(r, field, "Expected a media type such as \"application/pdf\""), mt = NULL;
    snprintf(field, sizeof field, "%s.relationship", path);
    const char *rel = opt_string(r, a, "relationship", field, false, 0);
    int af = rel ? engine_af_parse(rel) : ENGINE_AF_UNSPECIFIED;
    if (af < 0)
        problem(
            r, field,
            "Invalid enum value. Expected 'Alternative' | 'Data' | 'Source' | 'Supplement' | 'Unspecified'");
    snprintf(field, sizeof field, "%s.description", path);
    const char *desc = opt_string(r, a, "description", field, false, PDFOPTS_DESCRIPTION_MAX);
    snprintf(field, sizeof field, "%s.content", path);
    const char *content = opt_string(r, a, "content", field, true, 0);
    if (!content)
        return;
    size_t n = strlen(content);
    if (n / 4 * 3 > ENGINE_ATTACHMENTS_BYTES_MAX - *total) {
        problem(r, field, "The attachments together must not exceed %u MB",
                ENGINE_ATTACHMENTS_BYTES_MAX >> 20);
        return;
    }
    unsigned char *bytes = malloc(n / 4 * 3 + 1);
    long got = bytes ? b64_decode(content, n, bytes) : -1;
    if (got < 0) {
        free(bytes);
        problem(r, field, "Expected base64 (RFC 4648, padded, no line breaks)");
        return;
    }
    if (!name || !mt || af < 0) {
        free(bytes);
        return;
    }
    *total += (size_t)got;
    out->bytes[out->natt] = bytes;
    out->att[out->natt++] = (engine_attachment_t){.name = name,
                                                  .media_type = mt,
                                                  .description = desc,
                                                  .data = bytes,
                                                  .len = (size_t)got,
                                                  .relationship = (engine_af_t)af};
}

static void read_facturx(reader_t *r, const json_t *fx, pdfopts_t *out)
{
    static const char *const keys[] = {"xml", "profile", NULL};
    if (!json_is_object(fx)) {
        problem(r, "options.facturx",
                "Expected object: {\"xml\": \"<rsm:CrossIndustryInvoice …\", \"profile\": \"EN 16931\"}");
        return;
    }
    check_keys(r, fx, "options.facturx", keys);
    const char *profile = opt_string(r, fx, "profile", "options.facturx.profile", true, 0);
    int p = profile ? engine_fx_profile_parse(profile) : -1;
    if (profile && p < 0)
        problem(r, "options.facturx.profile",
                "Invalid enum value. Expected 'MINIMUM' | 'BASIC WL' | 'BASIC' | 'EN 16931' | 'EXTENDED' | "
                "'XRECHNUNG'");
    json_t *xml = json_object_get(fx, "xml");
    const char *x = opt_string(r, fx, "xml", "options.facturx.xml", true, 0);
    char why[400];
    if (x && engine_facturx_check(x, json_string_length(xml), why, sizeof why) < 0)
        problem(r, "options.facturx.xml", "%s", why), x = NULL;
    if (x && p > 0 &&
        engine_facturx_profile_check(x, json_string_length(xml), (engine_fx_profile_t)p, why, sizeof why) < 0)
        problem(r, "options.facturx.profile", "%s", why), x = NULL;
    if (x && p > 0)
        out->facturx =
            (engine_facturx_t){.profile = (engine_fx_profile_t)p, .xml = x, .len = json_string_length(xml)};
}

int pdfopts_read(const json_t *options, pdfopts_t *out, json_t *issues, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    reader_t r = {.issues = issues, .err = err, .err_len = err_len};
    if (!json_is_object(options))
        return 0;
    json_t *pdfa = json_object_get(options, "pdfa");
    if (pdfa && !json_is_null(pdfa)) {
        int level = json_is_string(pdfa) ? engine_pdfa_parse(json_string_value(pdfa)) : -1;
        if (level < 0)
            problem(&r, "options.pdfa", "Invalid enum value. Expected '2b' | '3b'");
        else
            out->pdfa = (engine_pdfa_t)level;
    }
    json_t *fx = json_object_get(options, "facturx");
    if (fx && !json_is_null(fx))
        read_facturx(&r, fx, out);
    json_t *atts = json_object_get(options, "attachments");
    if (atts && !json_is_null(atts)) {
        size_t total = 0, i;
        json_t *a;
        if (!json_is_array(atts))
            problem(&r, "options.attachments", "Expected array");
        else if (json_array_size(atts) > ENGINE_ATTACHMENTS_MAX)
            problem(&r, "options.attachments", "At most %d attachments", ENGINE_ATTACHMENTS_MAX);
        else
            json_array_foreach(atts, i, a) read_attachment(&r, a, i, out, &total);
    }
    const char *fx_name = out->facturx.profile == ENGINE_FX_XRECHNUNG ? "xrechnung.xml" : "factur-x.xml";
    for (size_t i = 0; fx && !json_is_null(fx) && i < out->natt; i++)
        if (!strcmp(out->att[i].name, fx_name))
            problem(&r, "options.attachments", "The name %s is taken by the Factur-X invoice", fx_name);
    bool embeds = (fx && !json_is_null(fx)) || (atts && json_array_size(atts) > 0);
    if (out->pdfa == ENGINE_PDFA_2B && embeds)
        problem(&r, "options.pdfa",
                "PDF/A-2b allows no embedded files; use \"3b\" with attachments or Factur-X");
    return r.problems ? -1 : 0;
}

void pdfopts_apply(const pdfopts_t *p, engine_render_opts_t *ro)
{
    ro->pdfa = p->pdfa;
    ro->attachments = p->natt ? p->att : NULL;
    ro->nattachments = p->natt;
    ro->facturx = p->facturx;
}

void pdfopts_free(pdfopts_t *p)
{
    for (size_t i = 0; i < p->natt; i++)
        free(p->bytes[i]);
    p->natt = 0;
}

void pdfopts_copy(const json_t *from, json_t *to)
{
    static const char *const keys[] = {"pdfa", "attachments", "facturx"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(from, keys[i]);
        if (v && !json_is_null(v))
            json_object_set(to, keys[i], v);
    }
}
