/* compile_style — lengths, colours, sides and the text-style properties of the layout language. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/errmsg.h"
#include "engine/compile.h"
#include "engine/text.h"

#define LENGTH_MAX_PT 14400.0 /* 200 in: nothing on a PDF page is larger */

int compile_length(compiler_t *c, const json_t *v, const char *path, bool allow_rel, len_t *out)
{
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!(d >= 0 && d <= LENGTH_MAX_PT)) {
            compile_issue(c, path, "Expected a length between 0 and %g pt", LENGTH_MAX_PT);
            return -1;
        }
        out->kind = LEN_PT;
        out->v = d;
        return 0;
    }
    if (!json_is_string(v)) {
        compile_issue(c, path, "Expected a length (a number of points or a string such as \"12mm\"), got %s",
                      errmsg_json_type(v));
        return -1;
    }
    const char *s = json_string_value(v);
    if (allow_rel && !strcmp(s, "auto")) {
        out->kind = LEN_AUTO;
        out->v = 0;
        return 0;
    }
    if (allow_rel && !strcmp(s, "*")) {
        out->kind = LEN_FLEX;
        out->v = 1;
        return 0;
    }
    char *e;
    errno = 0;
    double d = strtod(s, &e);
    if (e == s || errno || !isfinite(d) || d < 0)
        goto bad;
    while (*e == ' ')
        e++;
    double scale = 1;
    if (!*e || !strcasecmp(e, "pt")) {
        scale = 1;
    } else if (!strcasecmp(e, "mm")) {
        scale = 72.0 / 25.4;
    } else if (!strcasecmp(e, "cm")) {
        scale = 72.0 / 2.54;
    } else if (!strcasecmp(e, "in")) {
        scale = 72.0;
    } else if (!strcasecmp(e, "px")) {
        scale = 0.75;
    } else if (allow_rel && !strcmp(e, "%")) {
        if (d > 100)
            goto bad;
        out->kind = LEN_PCT;
        out->v = d;
        return 0;
    } else if (allow_rel && !strcmp(e, "*")) {
        if (d <= 0 || d > 1000)
            goto bad;
        out->kind = LEN_FLEX;
        out->v = d;
        return 0;
    } else {
        goto bad;
    }
    d *= scale;
    if (d > LENGTH_MAX_PT)
        goto bad;
    out->kind = LEN_PT;
    out->v = d;
    return 0;
bad:
    compile_issue(c, path,
                  allow_rel
                      ? "Invalid length \"%s\" (use points, \"12mm\", \"1in\", \"50%%\", \"*\" or \"2*\")"
                      : "Invalid length \"%s\" (use points or a unit: pt, mm, cm, in, px)",
                  s);
    return -1;
}

int compile_pt(compiler_t *c, const json_t *v, const char *path, double *out)
{
    len_t l;
    if (compile_length(c, v, path, false, &l) < 0)
        return -1;
    *out = l.v;
    return 0;
}

static const struct {
    const char *name;
    uint32_t rgba;
} named_colors[] = {
    {"black", 0x000000ff},     {"white", 0xffffffff},     {"red", 0xff0000ff},
    {"green", 0x008000ff},     {"blue", 0x0000ffff},      {"gray", 0x808080ff},
    {"grey", 0x808080ff},      {"silver", 0xc0c0c0ff},    {"maroon", 0x800000ff},
    {"navy", 0x000080ff},      {"teal", 0x008080ff},      {"olive", 0x808000ff},
    {"purple", 0x800080ff},    {"orange", 0xffa500ff},    {"yellow", 0xffff00ff},
    {"lightgray", 0xd3d3d3ff}, {"lightgrey", 0xd3d3d3ff}, {"darkgray", 0xa9a9a9ff},
    {"darkgrey", 0xa9a9a9ff},  {"transparent", 0},        {"none", 0},
};

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int compile_color(compiler_t *c, const json_t *v, const char *path, uint32_t *out)
{
    if (!json_is_string(v)) {
        compile_issue(c, path, "Expected a colour such as \"#1f2937\", got %s", errmsg_json_type(v));
        return -1;
    }
    const char *s = json_string_value(v);
    for (size_t i = 0; i < sizeof named_colors / sizeof named_colors[0]; i++)
        if (!strcasecmp(s, named_colors[i].name)) {
            *out = named_colors[i].rgba;
            return 0;
        }
    size_t n = strlen(s);
    if (s[0] == '#' && (n == 4 || n == 5 || n == 7 || n == 9)) {
        uint32_t rgba = 0;
        bool ok = true;
        if (n <= 5) {
            for (size_t i = 1; i < n; i++) {
                int h = hexval(s[i]);
                ok &= h >= 0;
                rgba = (rgba << 8) | (uint32_t)(h * 17);
            }
            if (n == 4)
                rgba = (rgba << 8) | 0xff;
        } else {
            for (size_t i = 1; i < n; i += 2) {
                int h1 = hexval(s[i]), h2 = hexval(s[i + 1]);
                ok &= h1 >= 0 && h2 >= 0;
                rgba = (rgba << 8) | (uint32_t)(h1 * 16 + h2);
            }
            if (n == 7)
                rgba = (rgba << 8) | 0xff;
        }
        if (ok) {
            *out = rgba;
            return 0;
        }
    }
    compile_issue(
        c, path,
        "Invalid colour \"%s\" (use \"#rgb\", \"#rrggbb\", \"#rrggbbaa\" or a name such as \"black\")", s);
    return -1;
}

int compile_sides(compiler_t *c, const json_t *v, const char *path, double out[4])
{
    double t[4];
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        if (n != 2 && n != 4) {
            compile_issue(c, path,
                          "Expected 1, 2 ([vertical, horizontal]) or 4 ([top, right, bottom, left]) lengths");
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (compile_pt(c, json_array_get(v, i), compile_path_index(c, path, i), &t[i]) < 0)
                return -1;
        if (n == 2) {
            t[2] = t[0];
            t[3] = t[1];
        }
    } else if (json_is_object(v)) {
        static const char *const names[] = {"top", "right", "bottom", "left"};
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            bool ok = false;
            for (int i = 0; i < 4; i++)
                ok |= !strcmp(key, names[i]);
            if (!ok)
                compile_issue(c, compile_path(c, path, key),
                              "Unknown side \"%s\" (use top, right, bottom, left)", key);
        }
        for (int i = 0; i < 4; i++) {
            json_t *s = json_object_get(v, names[i]);
            t[i] = out[i];
            if (s && compile_pt(c, s, compile_path(c, path, names[i]), &t[i]) < 0)
                return -1;
        }
    } else {
        if (compile_pt(c, v, path, &t[0]) < 0)
            return -1;
        t[1] = t[2] = t[3] = t[0];
    }
    memcpy(out, t, sizeof t);
    return 0;
}

int compile_bool(compiler_t *c, const json_t *v, const char *path, bool *out)
{
    if (!json_is_boolean(v)) {
        compile_issue(c, path, "Expected true or false, got %s", errmsg_json_type(v));
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int compile_number(compiler_t *c, const json_t *v, const char *path, double min, double max, double *out)
{
    if (!json_is_number(v) || !(json_number_value(v) >= min && json_number_value(v) <= max)) {
        compile_issue(c, path, "Expected a number between %g and %g", min, max);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

int compile_int(compiler_t *c, const json_t *v, const char *path, int min, int max, int *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        compile_issue(c, path, "Expected a whole number between %d and %d", min, max);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

const char *compile_string(compiler_t *c, const json_t *v, const char *path)
{
    if (!json_is_string(v)) {
        compile_issue(c, path, "Expected a string, got %s", errmsg_json_type(v));
        return NULL;
    }
    return arena_strdup(c->a, json_string_value(v));
}

int compile_enum(compiler_t *c, const json_t *v, const char *path, const char *const *names)
{
    if (json_is_string(v))
        for (int i = 0; names[i]; i++)
            if (!strcmp(json_string_value(v), names[i]))
                return i;
    char list[300];
    size_t n = 0;
    for (int i = 0; names[i] && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"", i ? ", " : "", names[i]);
    if (json_is_string(v))
        compile_issue(c, path, "Unknown value \"%s\" (expected one of %s)", json_string_value(v), list);
    else
        compile_issue(c, path, "Expected one of %s, got %s", list, errmsg_json_type(v));
    return -1;
}

/* ------------------------------------------------------------ text styles */

static const char *const style_keys[] = {
    "font",          "fontSize",  "bold",       "weight",        "italic",
    "color",         "align",     "lineHeight", "letterSpacing", "underline",
    "strike",        "maxLines",  "lang",       "indent",        "firstLineIndent",
    "hangingIndent", "hyphenate", NULL,
};

bool compile_is_style_key(const char *key)
{
    for (int i = 0; style_keys[i]; i++)
        if (!strcmp(key, style_keys[i]))
            return true;
    return false;
}

static const char *const align_names[] = {"start", "left", "center", "right", "end", "justify", NULL};

int compile_lang(compiler_t *c, const json_t *v, const char *path, const char **lang, const expr_str_t **expr)
{
    if (!json_is_string(v)) {
        compile_issue(c, path, "Expected a language tag (a string such as \"en\", \"de-CH\" or \"zh-Hans\")");
        return -1;
    }
    const char *s = json_string_value(v);
    if (strstr(s, "{{")) {
        expr_str_t *e = compile_text(c, v, path);
        if (!e)
            return -1;
        *lang = NULL;
        *expr = e;
        return 0;
    }
    if (*s && !text_lang_valid(s)) {
        compile_issue(
            c, path,
            "\"%.60s\" is not a language tag (BCP 47, such as \"en\", \"de-CH\", \"zh-Hans\" or \"ja\")", s);
        return -1;
    }
    *lang = *s ? arena_strdup(c->a, s) : NULL;
    *expr = NULL;
    return 0;
}

void compile_default_style(tstyle_t *st)
{
    memset(st, 0, sizeof *st);
    st->family = "DejaVu Sans";
    st->size = 10;
    st->weight = 400;
    st->color = COLOR_BLACK;
    st->align = ALIGN_START;
    st->line_height = 1.0;
}

static int weight_from(compiler_t *c, const json_t *v, const char *path)
{
    static const struct {
        const char *name;
        int w;
    } names[] = {
        {"thin", 100},   {"extralight", 200}, {"light", 300}, {"normal", 400},    {"regular", 400},
        {"medium", 500}, {"semibold", 600},   {"bold", 700},  {"extrabold", 800}, {"black", 900},
    };
    if (json_is_string(v)) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (!strcasecmp(json_string_value(v), names[i].name))
                return names[i].w;
        compile_issue(
            c, path,
            "Unknown weight \"%s\" (use 100-900 or thin, light, normal, medium, semibold, bold, black)",
            json_string_value(v));
        return -1;
    }
    int w;
    if (compile_int(c, v, path, 100, 1000, &w) < 0)
        return -1;
    return w;
}

#define INDENT_MAX_PT 2000.0

/* indent, firstLineIndent (negative allowed: "-12pt", -12) and hangingIndent: a length of at
 * most INDENT_MAX_PT. */
static void indent_from(compiler_t *c, const json_t *v, const char *path, bool allow_negative, double *out)
{
    json_t *neg = NULL;
    if (allow_negative && json_is_number(v) && json_number_value(v) < 0)
        neg = json_real(-json_number_value(v));
    else if (allow_negative && json_is_string(v) && json_string_value(v)[0] == '-')
        neg = json_string(json_string_value(v) + 1);
    double d;
    int rc = compile_pt(c, neg ? neg : v, path, &d);
    if (rc == 0 && d > INDENT_MAX_PT)
        compile_issue(c, path, "An indent must be at most %g pt", INDENT_MAX_PT);
    else if (rc == 0)
        *out = neg ? -d : d;
    json_decref(neg);
}

void compile_apply_style_props(compiler_t *c, const json_t *obj, const char *path, tstyle_t *st)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!compile_is_style_key(key))
            continue;
        const char *p = compile_path(c, path, key);
        if (!strcmp(key, "font")) {
            const char *f = compile_string(c, v, p);
            if (f && !*f)
                compile_issue(c, p, "Font family must not be empty");
            else if (f && strlen(f) > 200)
                compile_issue(c, p, "Font family too long");
            else if (f) {
                st->family = f;
                if (c->families && !json_object_get(c->families, f))
                    json_object_set_new(c->families, f, json_string(p));
            }
        } else if (!strcmp(key, "fontSize")) {
            double s;
            if (compile_pt(c, v, p, &s) == 0) {
                if (s < 1 || s > 1000)
                    compile_issue(c, p, "Font size must be between 1 and 1000 pt");
                else
                    st->size = s;
            }
        } else if (!strcmp(key, "bold")) {
            bool b;
            if (compile_bool(c, v, p, &b) == 0)
                st->weight = b ? 700 : 400;
        } else if (!strcmp(key, "weight")) {
            int w = weight_from(c, v, p);
            if (w > 0)
                st->weight = w;
        } else if (!strcmp(key, "italic")) {
            compile_bool(c, v, p, &st->italic);
        } else if (!strcmp(key, "underline")) {
            compile_bool(c, v, p, &st->underline);
        } else if (!strcmp(key, "strike")) {
            compile_bool(c, v, p, &st->strike);
        } else if (!strcmp(key, "color")) {
            compile_color(c, v, p, &st->color);
        } else if (!strcmp(key, "align")) {
            int a = compile_enum(c, v, p, align_names);
            if (a >= 0)
                st->align = (align_t)a;
        } else if (!strcmp(key, "lineHeight")) {
            compile_number(c, v, p, 0.5, 5, &st->line_height);
        } else if (!strcmp(key, "letterSpacing")) {
            compile_number(c, v, p, -5, 100, &st->letter_spacing);
        } else if (!strcmp(key, "maxLines")) {
            compile_int(c, v, p, 0, 10000, &st->max_lines);
        } else if (!strcmp(key, "lang")) {
            compile_lang(c, v, p, &st->lang, &st->lang_expr);
        } else if (!strcmp(key, "indent")) {
            indent_from(c, v, p, false, &st->indent);
        } else if (!strcmp(key, "firstLineIndent")) {
            indent_from(c, v, p, true, &st->first_indent);
        } else if (!strcmp(key, "hangingIndent")) {
            indent_from(c, v, p, false, &st->hanging_indent);
        } else if (!strcmp(key, "hyphenate")) {
            compile_bool(c, v, p, &st->hyphenate);
        }
    }
}

static const char *const spacing_keys[] = {
    "margin", "marginTop", "marginRight", "marginBottom", "marginLeft", "keepWithNext", NULL,
};

bool compile_is_spacing_key(const char *key)
{
    for (int i = 0; spacing_keys[i]; i++)
        if (!strcmp(key, spacing_keys[i]))
            return true;
    return false;
}

void compile_apply_spacing(compiler_t *c, const json_t *obj, const char *path, node_t *n)
{
    json_t *v = json_object_get(obj, "margin");
    if (v)
        compile_sides(c, v, compile_path(c, path, "margin"), n->margin);
    static const char *const side_keys[] = {"marginTop", "marginRight", "marginBottom", "marginLeft"};
    for (int i = 0; i < 4; i++)
        if ((v = json_object_get(obj, side_keys[i])))
            compile_pt(c, v, compile_path(c, path, side_keys[i]), &n->margin[i]);
    if ((v = json_object_get(obj, "keepWithNext")))
        compile_bool(c, v, compile_path(c, path, "keepWithNext"), &n->keep_with_next);
}

/* Built-in named styles; a layout's own "styles" entry of the same name is applied on top. */
static const char *const builtin_styles[][2] = {
    {"h1", "{\"fontSize\":20,\"bold\":true,\"marginBottom\":8,\"keepWithNext\":true}"},
    {"h2", "{\"fontSize\":15,\"bold\":true,\"marginTop\":4,\"marginBottom\":6,\"keepWithNext\":true}"},
    {"h3", "{\"fontSize\":12,\"bold\":true,\"marginTop\":2,\"marginBottom\":4,\"keepWithNext\":true}"},
    {"small", "{\"fontSize\":8}"},
    {"muted", "{\"color\":\"#6b7280\"}"},
    {"footnote", "{\"fontSize\":8}"}, /* footnotes' text (compile_notes.c) */
};

static void apply_named_style(compiler_t *c, const char *name, const char *path, tstyle_t *st, node_t *n)
{
    bool found = false;
    for (size_t i = 0; i < sizeof builtin_styles / sizeof builtin_styles[0]; i++) {
        if (strcmp(name, builtin_styles[i][0]))
            continue;
        json_t *def = json_loads(builtin_styles[i][1], 0, NULL);
        if (def) {
            compile_apply_style_props(c, def, path, st);
            if (n)
                compile_apply_spacing(c, def, path, n);
            json_decref(def);
        }
        found = true;
    }
    json_t *def = c->styles ? json_object_get(c->styles, name) : NULL;
    if (def) {
        /* The style's own problems were reported once under layout.styles.<name>. */
        compiler_t quiet = *c;
        quiet.field_errors = json_object();
        quiet.form_errors = json_array();
        compile_apply_style_props(&quiet, def, path, st);
        if (n)
            compile_apply_spacing(&quiet, def, path, n);
        json_decref(quiet.field_errors);
        json_decref(quiet.form_errors);
        found = true;
    }
    if (!found)
        compile_issue(c, path, "Unknown style \"%s\"", name);
}

void compile_apply_style_ref(compiler_t *c, const json_t *ref, const char *path, tstyle_t *st, node_t *n)
{
    if (json_is_string(ref)) {
        apply_named_style(c, json_string_value(ref), path, st, n);
    } else if (json_is_array(ref)) {
        size_t i;
        json_t *v;
        json_array_foreach(ref, i, v)
        {
            const char *p = compile_path_index(c, path, i);
            if (json_is_string(v))
                apply_named_style(c, json_string_value(v), p, st, n);
            else
                compile_issue(c, p, "Expected a style name");
        }
    } else if (json_is_object(ref)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)ref, key,
                            v) if (!compile_is_style_key(key) && !compile_is_spacing_key(key))
            compile_issue(c, compile_path(c, path, key), "Unknown style property \"%s\"", key);
        compile_apply_style_props(c, ref, path, st);
        if (n)
            compile_apply_spacing(c, ref, path, n);
    } else {
        compile_issue(c, path, "Expected a style name, a list of names or an object of style properties");
    }
}
