/* craftkit render — offline rendering with the same engine the server uses; no services. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/assetdir.h"
#include "cli/cli.h"
#include "core/errmsg.h"
#include "core/timeutil.h"
#include "craftkit/engine.h"
#include "manifest/manifest.h"
#include "pdf/pdfdoc.h"
#include "worker/overlay.h"

static const char render_usage[] =
    "usage: craftkit render [--layout L.json] [--manifest M.json] [--data D.json] -o OUT.pdf|OUT.png\n"
    "                       [--page-config P.json] [--format pdf|png] [--page N] [--dpi N]\n"
    "                       [--watermark TEXT] [--creation-time UNIX_SECONDS] [--assets DIR]\n"
    "                       [--allow-private-urls] [--image-timeout-ms N] [--compression "
    "fast|standard|none]\n"
    "                       [--pdfa 2b|3b] [--facturx INVOICE.xml] [--facturx-profile P]\n"
    "                       [--attach FILE[:MEDIA/TYPE]]... [--base BASE.pdf] [--quiet]\n"
    "\n"
    "Renders a layout (docs/templates.md) with data to PDF or PNG, offline.\n"
    "  --base         the base PDF of a pdf-overlay layout (its \"base\" names the asset; this\n"
    "                 file stands for it): the placements are stamped on it and its form filled\n"
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
    "  --assets       a directory: asset:NAME is the file NAME in it, and every font file in it\n"
    "                 (TTF, OTF, WOFF, WOFF2) is a family layouts may name, as uploaded fonts are\n"
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
    char err[ERRMSG_LEN];
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
    if (engine_facturx_check(xml, len, err, sizeof err) < 0 ||
        engine_facturx_profile_check(xml, len, (engine_fx_profile_t)p, err, sizeof err) < 0) {
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

/* Everything the command line says. */
typedef struct render_args {
    const char *layout_path, *manifest_path, *data_path, *out_path, *page_config_path, *format, *assets,
        *base_path;
    engine_render_opts_t ro;
    engine_ctx_opts_t co;
    bool quiet;
    embeds_t emb;
    assetdir_t fonts; /* --assets DIR: its fonts (and then its images too) */
} render_args_t;

static int set_compression(render_args_t *a, const char *v)
{
    if (!strcmp(v, "fast"))
        a->ro.compression = ENGINE_COMPRESS_FAST;
    else if (!strcmp(v, "standard"))
        a->ro.compression = ENGINE_COMPRESS_STANDARD;
    else if (!strcmp(v, "none"))
        a->ro.compression = ENGINE_COMPRESS_NONE;
    else
        return -1;
    return 0;
}

static int set_pdfa(render_args_t *a, const char *v)
{
    int level = engine_pdfa_parse(v);
    if (level < 0)
        return -1;
    a->ro.pdfa = (engine_pdfa_t)level;
    return 0;
}

/* More than ENGINE_ATTACHMENTS_MAX are counted but not kept; load_embeds refuses them. */
static int add_attach(render_args_t *a, const char *v)
{
    if (a->emb.nattach <= ENGINE_ATTACHMENTS_MAX)
        a->emb.attach[a->emb.nattach++] = v;
    return 0;
}

/* The options that take a value, and where it goes: a string kept as given, a whole number in
 * [min, max] stored as the field's type, or a setter that checks it (-1: bad value). */
typedef enum { OPT_STRING, OPT_INT, OPT_INT64, OPT_DOUBLE, OPT_SETTER } option_kind_t;
typedef struct value_option {
    const char *name;
    option_kind_t kind;
    size_t field;
    long min, max;
    int (*set)(render_args_t *a, const char *v);
} value_option_t;

/* Rows of value_options: {STRING(...)}, {NUMBER(...)}, {SETTER(...)}. */
#define STRING(opt, member) .name = opt, .kind = OPT_STRING, .field = offsetof(render_args_t, member)
#define NUMBER(opt, k, member, lo, hi)                                                                       \
    .name = opt, .kind = k, .field = offsetof(render_args_t, member), .min = lo, .max = hi
#define SETTER(opt, fn) .name = opt, .kind = OPT_SETTER, .set = fn
static const value_option_t value_options[] = {
    {STRING("--layout", layout_path)},
    {STRING("--manifest", manifest_path)},
    {STRING("--data", data_path)},
    {STRING("-o", out_path)},
    {STRING("--output", out_path)},
    {STRING("--page-config", page_config_path)},
    {STRING("--format", format)},
    {STRING("--watermark", ro.watermark)},
    {STRING("--assets", assets)},
    {STRING("--base", base_path)},
    {STRING("--facturx", emb.facturx)},
    {STRING("--facturx-profile", emb.profile)},
    {NUMBER("--page", OPT_INT, ro.page, 1, 100000)},
    {NUMBER("--dpi", OPT_DOUBLE, ro.dpi, 10, 600)},
    {NUMBER("--creation-time", OPT_INT64, ro.creation_time, 1, 253402300799L)},
    {NUMBER("--image-timeout-ms", OPT_INT, co.image_timeout_ms, 1, 600000)},
    {SETTER("--compression", set_compression)},
    {SETTER("--pdfa", set_pdfa)},
    {SETTER("--attach", add_attach)},
};
#undef STRING
#undef NUMBER
#undef SETTER

static const value_option_t *find_value_option(const char *name)
{
    for (size_t i = 0; i < sizeof value_options / sizeof *value_options; i++)
        if (!strcmp(name, value_options[i].name))
            return &value_options[i];
    return NULL;
}

static int set_value_option(render_args_t *a, const value_option_t *o, const char *v)
{
    void *field = (char *)a + o->field;
    long n = 0;
    if (o->kind == OPT_SETTER)
        return o->set(a, v);
    if (o->kind == OPT_STRING) {
        *(const char **)field = v;
        return 0;
    }
    if (parse_long(v, o->min, o->max, &n) < 0)
        return -1;
    if (o->kind == OPT_INT)
        *(int *)field = (int)n;
    else if (o->kind == OPT_INT64)
        *(int64_t *)field = n;
    else
        *(double *)field = (double)n;
    return 0;
}

/* What parse_args returns when the render should go ahead (every exit code is >= 0). */
enum { RENDER_GO = -1 };

/* The whole command line into a; RENDER_GO, or the exit code (usage or --help) with the message
 * already printed. */
static int parse_args(int argc, char **argv, render_args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(opt, "--allow-private-urls")) {
            a->co.allow_private_urls = true;
            continue;
        }
        if (!strcmp(opt, "--quiet") || !strcmp(opt, "-q")) {
            a->quiet = true;
            continue;
        }
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            fputs(render_usage, stdout);
            return CLI_OK;
        }
        const value_option_t *o = find_value_option(opt);
        if (!o) {
            fprintf(stderr, "craftkit render: unknown option %s\n\n%s", opt, render_usage);
            return CLI_USAGE;
        }
        if (!v) {
            fprintf(stderr, "craftkit render: %s needs a value\n\n%s", opt, render_usage);
            return CLI_USAGE;
        }
        if (set_value_option(a, o, v) < 0) {
            fprintf(stderr, "craftkit render: bad value for %s: %s\n", opt, v);
            return CLI_USAGE;
        }
        i++;
    }
    if (!a->out_path || (!a->layout_path && !a->manifest_path)) {
        fprintf(stderr, "craftkit render: need -o and --layout (or --manifest)\n\n%s", render_usage);
        return CLI_USAGE;
    }
    if (a->format && strcmp(a->format, "pdf") && strcmp(a->format, "png")) {
        fprintf(stderr, "craftkit render: --format must be pdf or png\n");
        return CLI_USAGE;
    }
    bool png = a->format ? !strcmp(a->format, "png") : ends_with(a->out_path, ".png");
    a->ro.format = png ? ENGINE_PNG : ENGINE_PDF;
    a->co.assets_dir = a->assets;
    return RENDER_GO;
}

/* The files the command line names, parsed; what load_inputs leaves is freed by free_inputs. */
typedef struct render_inputs {
    json_t *layout, *manifest, *data, *page_config;
    overlay_t *overlay;     /* a pdf-overlay layout's base and form filling, or NULL */
    engine_asset_t *assets; /* --assets' assets and the --base PDF, for an overlay */
} render_inputs_t;

static int load_inputs(render_args_t *a, render_inputs_t *in)
{
    if ((a->layout_path && !(in->layout = load_json(a->layout_path, "layout"))) ||
        (a->manifest_path && !(in->manifest = load_json(a->manifest_path, "manifest"))) ||
        (a->data_path && !(in->data = load_json(a->data_path, "data"))) ||
        (a->page_config_path && !(in->page_config = load_json(a->page_config_path, "page config"))))
        return -1;
    if (load_embeds(&a->emb, &a->ro) < 0)
        return -1;
    char err[600];
    if (a->assets && assetdir_load(a->assets, &a->fonts, err, sizeof err) < 0) {
        fprintf(stderr, "craftkit render: %s\n", err);
        return -1;
    }
    a->ro.assets = a->fonts.assets;
    a->ro.nassets = a->fonts.n;
    if (in->data && !json_is_object(in->data)) {
        fprintf(stderr, "craftkit render: data %s must be a JSON object\n", a->data_path);
        return -1;
    }
    return 0;
}

static void free_inputs(render_args_t *a, render_inputs_t *in)
{
    for (int i = 0; i <= ENGINE_ATTACHMENTS_MAX; i++)
        free(a->emb.bytes[i]);
    assetdir_free(&a->fonts);
    json_decref(in->layout);
    json_decref(in->manifest);
    json_decref(in->data);
    json_decref(in->page_config);
    overlay_free(in->overlay);
    free(in->assets);
}

/* A pdf-overlay layout: describes the --base PDF into layout.basePdf as the server does when a
 * version is saved, compiles the overlay, and adds the base to the render's assets under the
 * name the layout gives it. The template, or NULL with the problem printed. */
static engine_template_t *compile_overlay(render_args_t *a, render_inputs_t *in, json_t **issues, char *err,
                                          size_t err_len)
{
    size_t len = 0;
    json_t *base_pdf = NULL;
    engine_template_t *t = NULL;
    const char *ref = overlay_layout_base(in->layout);
    if (!a->base_path) {
        fprintf(stderr,
                "craftkit render: a pdf-overlay layout needs --base BASE.pdf (the PDF \"%s\" stands for)\n",
                ref ? ref : "base");
        return NULL;
    }
    unsigned char *bytes = overlay_read_file(a->base_path, PDFDOC_MAX_STREAM_BYTES, &len);
    if (!bytes) {
        fprintf(stderr, "craftkit render: --base %s cannot be read (or is empty or too large)\n",
                a->base_path);
        return NULL;
    }
    char e[ERRMSG_LEN];
    int rc = overlay_describe_base(bytes, len, &base_pdf, e, sizeof e);
    free(bytes);
    if (rc != 0) {
        fprintf(stderr, "craftkit render: --base %s: the base PDF %s\n", a->base_path, e);
        return NULL;
    }
    json_object_set_new(in->layout, "basePdf", base_pdf);
    engine_compile_opts_t fonts = {.families = a->fonts.families, .nfamilies = a->fonts.nfamilies};
    in->overlay = overlay_compile(in->layout, in->manifest, &fonts, &t, issues, err, err_len);
    in->assets = calloc(a->ro.nassets + 1, sizeof *in->assets);
    if (!in->overlay || !in->assets) {
        fprintf(stderr, "craftkit render: %s\n", in->overlay ? "out of memory" : err);
        engine_template_free(t);
        return NULL;
    }
    if (a->ro.nassets)
        memcpy(in->assets, a->ro.assets, a->ro.nassets * sizeof *in->assets);
    in->assets[a->ro.nassets] =
        (engine_asset_t){.name = ref ? ref : "", .id = "", .kind = "pdf", .sha256 = "", .path = a->base_path};
    a->ro.assets = in->assets;
    a->ro.nassets++;
    return t;
}

/* The layout's template: an overlay's (compile_overlay) or the engine's. NULL with the
 * problem printed (but the issues, which the caller prints). */
static engine_template_t *compile_template(render_args_t *a, render_inputs_t *in, json_t **issues)
{
    char err[1024];
    if (overlay_is(in->layout))
        return compile_overlay(a, in, issues, err, sizeof err);
    if (a->base_path) {
        fprintf(stderr, "craftkit render: --base is for pdf-overlay layouts only\n");
        return NULL;
    }
    engine_compile_opts_t fonts = {.families = a->fonts.families, .nfamilies = a->fonts.nfamilies};
    engine_template_t *t =
        engine_compile_ex(in->layout, in->page_config, in->manifest, &fonts, issues, err, sizeof err);
    if (!t)
        fprintf(stderr, "craftkit render: %s\n", err);
    return t;
}

/* Compiles the layout, checks the data as the server would and renders into out (caller frees);
 * *started is when compiling began, for the report. */
static int render_document(render_args_t *a, render_inputs_t *in, engine_output_t *out, int64_t *started)
{
    int rc = -1;
    json_t *issues = NULL;
    engine_template_t *t = NULL;
    engine_ctx_t *ctx = NULL;
    char err[1024];
    if (engine_global_init() < 0) {
        fprintf(stderr, "craftkit render: fontconfig could not be initialised\n");
        goto done;
    }
    *started = time_mono_ms();
    t = compile_template(a, in, &issues);
    if (!t) {
        if (issues)
            print_issues(issues, "");
        goto done;
    }
    if (in->manifest && validate_data(in->manifest, &in->data) < 0)
        goto done;
    if (!a->emb.facturx && engine_einvoice_build(t, in->data, NULL, NULL, NULL, &issues) < 0) {
        fprintf(stderr, "craftkit render: the data cannot make the e-invoice\n");
        print_issues(issues, "data.");
        goto done;
    }
    ctx = engine_ctx_new(&a->co);
    if (!ctx) {
        fprintf(stderr, "craftkit render: out of memory\n");
        goto done;
    }
    if ((in->overlay ? overlay_render(ctx, t, in->overlay, in->data, &a->ro, out, err, sizeof err)
                     : engine_render(ctx, t, in->data, &a->ro, out, err, sizeof err)) < 0) {
        fprintf(stderr, "craftkit render: %s\n", err);
        goto done;
    }
    rc = 0;
done:
    engine_ctx_free(ctx);
    engine_template_free(t);
    json_decref(issues);
    return rc;
}

/* Writes the document and, unless --quiet, says what was written. */
static int write_output(const render_args_t *a, const engine_output_t *out, int64_t started)
{
    if (write_file(a->out_path, out->data, out->len) < 0)
        return -1;
    if (!a->quiet)
        fprintf(stderr, "craftkit render: wrote %s (%s, %d page%s, %zu bytes) in %lld ms\n", a->out_path,
                a->ro.format == ENGINE_PNG ? "PNG" : "PDF", out->pages, out->pages == 1 ? "" : "s", out->len,
                (long long)(time_mono_ms() - started));
    return 0;
}

int cli_render(int argc, char **argv)
{
    render_args_t a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != RENDER_GO)
        return rc;
    render_inputs_t in = {0};
    engine_output_t out = {0};
    int64_t started = 0;
    rc = CLI_FAIL;
    if (load_inputs(&a, &in) == 0 && render_document(&a, &in, &out, &started) == 0 &&
        write_output(&a, &out, started) == 0)
        rc = CLI_OK;
    engine_output_free(&out);
    free_inputs(&a, &in);
    return rc;
}
