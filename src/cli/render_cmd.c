/* craftkit render — offline rendering with the same engine the server uses; no services. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/errmsg.h"
#include "core/timeutil.h"
#include "craftkit/engine.h"
#include "manifest/manifest.h"

static const char render_usage[] =
    "usage: craftkit render [--layout L.json] [--manifest M.json] [--data D.json] -o OUT.pdf|OUT.png\n"
    "                       [--page-config P.json] [--format pdf|png] [--page N] [--dpi N]\n"
    "                       [--watermark TEXT] [--creation-time UNIX_SECONDS] [--assets DIR]\n"
    "                       [--allow-private-urls] [--image-timeout-ms N] [--compression "
    "fast|standard|none]\n"
    "                       [--pdfa 2b|3b] [--facturx INVOICE.xml] [--facturx-profile P]\n"
    "                       [--attach FILE[:MEDIA/TYPE]]... [--quiet]\n"
    "\n"
    "Renders a layout (docs/templates.md) with data to PDF or PNG, offline.\n"
    "  --layout       the layout JSON; without it a layout is generated from --manifest\n"
    "  --manifest     the template manifest: the data is validated and normalised as the server\n"
    "                 does, every binding is checked and the manifest's formats are applied\n"
    "  --data         the data JSON (default: {})\n"
    "  -o             output file (\"-\" for stdout); .png selects PNG unless --format is given\n"
    "  --page, --dpi  PNG: which page (1-based, default 1) and resolution (default 96)\n"
    "  --creation-time  fixes the PDF creation date, so the same input gives identical bytes\n"
    "  --compression  PDF streams: fast (default; fonts stored), standard (smallest), none\n"
    "  --pdfa         PDF/A-2b or PDF/A-3b output (docs/einvoice.md)\n"
    "  --facturx      embeds this CII XML as a Factur-X/ZUGFeRD invoice (PDF/A-3b); profile\n"
    "                 \"EN 16931\" unless --facturx-profile says MINIMUM, BASIC WL, BASIC,\n"
    "                 EXTENDED or XRECHNUNG\n"
    "  --attach       embeds a file (its base name; media type application/octet-stream unless\n"
    "                 given after a colon); up to 16\n"
    "Problems in the layout are printed one per line as \"path: message\".\n";

/* A whole file, at most max bytes; NULL with a message. Caller frees. */
static char *read_all(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "craftkit render: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *data = malloc(max + 2);
    size_t n = data ? fread(data, 1, max + 1, f) : 0;
    bool bad = !data || ferror(f);
    fclose(f);
    if (bad || n > max) {
        fprintf(stderr, "craftkit render: %s: %s\n", path, bad ? "cannot be read" : "too large");
        free(data);
        return NULL;
    }
    data[n] = '\0';
    *len = n;
    return data;
}

typedef struct embeds {
    const char *attach[ENGINE_ATTACHMENTS_MAX + 1];
    int nattach;
    const char *facturx, *profile;
    engine_attachment_t att[ENGINE_ATTACHMENTS_MAX];
    char *bytes[ENGINE_ATTACHMENTS_MAX + 1]; /* the last one: the Factur-X XML */
} embeds_t;

/* Reads --attach and --facturx files into ro (checked like the API checks them). */
static int load_embeds(embeds_t *e, engine_render_opts_t *ro)
{
    char err[400];
    size_t total = 0;
    if (e->nattach > ENGINE_ATTACHMENTS_MAX) {
        fprintf(stderr, "craftkit render: at most %d --attach files\n", ENGINE_ATTACHMENTS_MAX);
        return -1;
    }
    for (int i = 0; i < e->nattach; i++) {
        char *spec = (char *)e->attach[i], *colon = strrchr(spec, ':');
        const char *mt = "application/octet-stream";
        if (colon && strchr(colon, '/')) {
            *colon = '\0';
            mt = colon + 1;
        }
        const char *slash = strrchr(spec, '/'), *name = slash ? slash + 1 : spec;
        if (engine_attachment_name_check(name, err, sizeof err) < 0) {
            fprintf(stderr, "craftkit render: --attach %s: %s\n", spec, err);
            return -1;
        }
        size_t len;
        if (!(e->bytes[i] = read_all(spec, ENGINE_ATTACHMENTS_BYTES_MAX - total, &len)))
            return -1;
        total += len;
        e->att[i] = (engine_attachment_t){
            .name = name, .media_type = mt, .data = (unsigned char *)e->bytes[i], .len = len};
    }
    ro->attachments = e->att;
    ro->nattachments = (size_t)e->nattach;
    if (!e->facturx)
        return 0;
    int p = engine_fx_profile_parse(e->profile ? e->profile : "EN 16931");
    if (p < 0) {
        fprintf(stderr,
                "craftkit render: --facturx-profile must be one of MINIMUM, BASIC WL, BASIC, EN 16931, "
                "EXTENDED, XRECHNUNG\n");
        return -1;
    }
    size_t len;
    char *xml = e->bytes[ENGINE_ATTACHMENTS_MAX] = read_all(e->facturx, ENGINE_FACTURX_XML_MAX, &len);
    if (!xml)
        return -1;
    if (engine_facturx_check(xml, len, err, sizeof err) < 0) {
        fprintf(stderr, "craftkit render: --facturx %s: %s\n", e->facturx, err);
        return -1;
    }
    ro->facturx = (engine_facturx_t){.profile = (engine_fx_profile_t)p, .xml = xml, .len = len};
    return 0;
}

static json_t *load_json(const char *path, const char *what)
{
    json_error_t e;
    json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v)
        fprintf(stderr, "craftkit render: %s %s:%d:%d: %s\n", what, path, e.line, e.column, errmsg_json(&e));
    return v;
}

static void print_issues(const json_t *issues, const char *prefix)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(issues, "formErrors"), i, m)
        fprintf(stderr, "  %s\n", json_string_value(m));
    const char *path;
    json_t *list;
    json_object_foreach((json_t *)json_object_get(issues, "fieldErrors"), path, list)
        json_array_foreach(list, i, m) fprintf(stderr, "  %s%s: %s\n", prefix, path, json_string_value(m));
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e || e == s || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int write_file(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
    if (!f) {
        fprintf(stderr, "craftkit render: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fwrite(data, 1, len, f);
    int rc = (n == len && fflush(f) == 0) ? 0 : -1;
    if (f != stdout && fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "craftkit render: cannot write %s: %s\n", path, strerror(errno));
    return rc;
}

/* With a manifest, the data goes through the server's own validation: coerced, stripped of
 * unknown keys, defaults applied; problems are printed as data.<path>: message. */
static int validate_data(const json_t *manifest, json_t **data)
{
    manifest_status_t st;
    json_t *issues = NULL, *normalised = NULL;
    manifest_t *m = manifest_compile(manifest, &st, &issues);
    if (!m) {
        fprintf(stderr, "craftkit render: the manifest is invalid\n");
        print_issues(issues, "");
        json_decref(issues);
        return -1;
    }
    if (!*data) /* owned by the caller from here on, like data read from a file */
        *data = json_object();
    int rc = manifest_validate(m, *data, 0, &normalised, &issues);
    manifest_free(m);
    if (rc < 0) {
        fprintf(stderr, "craftkit render: the data does not match the manifest\n");
        print_issues(issues, "data.");
        json_decref(issues);
        return -1;
    }
    json_decref(*data);
    *data = normalised;
    return 0;
}

int cli_render(int argc, char **argv)
{
    const char *layout_path = NULL, *manifest_path = NULL, *data_path = NULL, *out_path = NULL;
    const char *page_config_path = NULL, *format = NULL, *assets = NULL;
    engine_render_opts_t ro = {0};
    engine_ctx_opts_t co = {0};
    bool quiet = false;
    embeds_t emb = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
#define NEED_VALUE()                                                                                         \
    do {                                                                                                     \
        if (!v) {                                                                                            \
            fprintf(stderr, "craftkit render: %s needs a value\n\n%s", a, render_usage);                     \
            return CLI_USAGE;                                                                                \
        }                                                                                                    \
        i++;                                                                                                 \
    } while (0)
        if (!strcmp(a, "--layout")) {
            NEED_VALUE();
            layout_path = v;
        } else if (!strcmp(a, "--manifest")) {
            NEED_VALUE();
            manifest_path = v;
        } else if (!strcmp(a, "--data")) {
            NEED_VALUE();
            data_path = v;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            NEED_VALUE();
            out_path = v;
        } else if (!strcmp(a, "--page-config")) {
            NEED_VALUE();
            page_config_path = v;
        } else if (!strcmp(a, "--format")) {
            NEED_VALUE();
            format = v;
        } else if (!strcmp(a, "--page")) {
            NEED_VALUE();
            if (parse_long(v, 1, 100000, &n) < 0)
                goto bad_value;
            ro.page = (int)n;
        } else if (!strcmp(a, "--dpi")) {
            NEED_VALUE();
            if (parse_long(v, 10, 600, &n) < 0)
                goto bad_value;
            ro.dpi = (double)n;
        } else if (!strcmp(a, "--watermark")) {
            NEED_VALUE();
            ro.watermark = v;
        } else if (!strcmp(a, "--creation-time")) {
            NEED_VALUE();
            if (parse_long(v, 1, 253402300799L, &n) < 0)
                goto bad_value;
            ro.creation_time = n;
        } else if (!strcmp(a, "--assets")) {
            NEED_VALUE();
            assets = v;
        } else if (!strcmp(a, "--image-timeout-ms")) {
            NEED_VALUE();
            if (parse_long(v, 1, 600000, &n) < 0)
                goto bad_value;
            co.image_timeout_ms = (int)n;
        } else if (!strcmp(a, "--compression")) {
            NEED_VALUE();
            if (!strcmp(v, "fast"))
                ro.compression = ENGINE_COMPRESS_FAST;
            else if (!strcmp(v, "standard"))
                ro.compression = ENGINE_COMPRESS_STANDARD;
            else if (!strcmp(v, "none"))
                ro.compression = ENGINE_COMPRESS_NONE;
            else
                goto bad_value;
        } else if (!strcmp(a, "--pdfa")) {
            NEED_VALUE();
            int level = engine_pdfa_parse(v);
            if (level < 0)
                goto bad_value;
            ro.pdfa = (engine_pdfa_t)level;
        } else if (!strcmp(a, "--facturx")) {
            NEED_VALUE();
            emb.facturx = v;
        } else if (!strcmp(a, "--facturx-profile")) {
            NEED_VALUE();
            emb.profile = v;
        } else if (!strcmp(a, "--attach")) {
            NEED_VALUE();
            if (emb.nattach <= ENGINE_ATTACHMENTS_MAX)
                emb.attach[emb.nattach++] = v;
        } else if (!strcmp(a, "--allow-private-urls")) {
            co.allow_private_urls = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(render_usage, stdout);
            return CLI_OK;
        } else {
            fprintf(stderr, "craftkit render: unknown option %s\n\n%s", a, render_usage);
            return CLI_USAGE;
        }
        continue;
    bad_value:
        fprintf(stderr, "craftkit render: bad value for %s: %s\n", a, v);
        return CLI_USAGE;
#undef NEED_VALUE
    }
    if (!out_path || (!layout_path && !manifest_path)) {
        fprintf(stderr, "craftkit render: need -o and --layout (or --manifest)\n\n%s", render_usage);
        return CLI_USAGE;
    }
    if (format && strcmp(format, "pdf") && strcmp(format, "png")) {
        fprintf(stderr, "craftkit render: --format must be pdf or png\n");
        return CLI_USAGE;
    }
    ro.format = (format ? !strcmp(format, "png") : ends_with(out_path, ".png")) ? ENGINE_PNG : ENGINE_PDF;
    co.assets_dir = assets;

    int rc = CLI_FAIL;
    json_t *layout = NULL, *manifest = NULL, *data = NULL, *page_config = NULL, *issues = NULL;
    engine_template_t *t = NULL;
    engine_ctx_t *ctx = NULL;
    engine_output_t out = {0};
    if ((layout_path && !(layout = load_json(layout_path, "layout"))) ||
        (manifest_path && !(manifest = load_json(manifest_path, "manifest"))) ||
        (data_path && !(data = load_json(data_path, "data"))) ||
        (page_config_path && !(page_config = load_json(page_config_path, "page config"))))
        goto done;
    if (load_embeds(&emb, &ro) < 0)
        goto done;
    if (data && !json_is_object(data)) {
        fprintf(stderr, "craftkit render: data %s must be a JSON object\n", data_path);
        goto done;
    }
    if (engine_global_init() < 0) {
        fprintf(stderr, "craftkit render: fontconfig could not be initialised\n");
        goto done;
    }
    int64_t t0 = time_mono_ms();
    char err[1024];
    t = engine_compile(layout, page_config, manifest, &issues, err, sizeof err);
    if (!t) {
        fprintf(stderr, "craftkit render: %s\n", err);
        if (issues)
            print_issues(issues, "");
        goto done;
    }
    if (manifest && validate_data(manifest, &data) < 0)
        goto done;
    if (!emb.facturx && engine_einvoice_build(t, data, NULL, NULL, NULL, &issues) < 0) {
        fprintf(stderr, "craftkit render: the data cannot make the e-invoice\n");
        print_issues(issues, "data.");
        goto done;
    }
    ctx = engine_ctx_new(&co);
    if (!ctx) {
        fprintf(stderr, "craftkit render: out of memory\n");
        goto done;
    }
    if (engine_render(ctx, t, data, &ro, &out, err, sizeof err) < 0) {
        fprintf(stderr, "craftkit render: %s\n", err);
        goto done;
    }
    if (write_file(out_path, out.data, out.len) < 0)
        goto done;
    if (!quiet)
        fprintf(stderr, "craftkit render: wrote %s (%s, %d page%s, %zu bytes) in %lld ms\n", out_path,
                ro.format == ENGINE_PNG ? "PNG" : "PDF", out.pages, out.pages == 1 ? "" : "s", out.len,
                (long long)(time_mono_ms() - t0));
    rc = CLI_OK;
done:
    engine_output_free(&out);
    for (int i = 0; i <= ENGINE_ATTACHMENTS_MAX; i++)
        free(emb.bytes[i]);
    engine_ctx_free(ctx);
    engine_template_free(t);
    json_decref(issues);
    json_decref(layout);
    json_decref(manifest);
    json_decref(data);
    json_decref(page_config);
    return rc;
}
