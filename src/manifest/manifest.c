/*
 * manifest — the compiler: checks a manifest JSON value property by property (collecting every
 * problem as a flatten-shaped issue under "manifest.…"), then builds the tree of
 * manifest_internal.h. See docs/manifest.md for the rules enforced here.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "engine/format.h"
#include "manifest/manifest_internal.h"
#include "manifest/strfmt.h"

#define ISSUE_PATH_MAX 256 /* "manifest.loops.99.itemFields.199.maxLength" and the like */

static const char *const TYPE_NAMES[] = {"text",     "longtext", "number", "currency", "date",
                                         "datetime", "boolean",  "image",  "url",      "email"};
#define TYPE_COUNT (sizeof TYPE_NAMES / sizeof *TYPE_NAMES)

static const char *const FIELD_PROPS[] = {"key",     "label", "dataType", "required",  "format",
                                          "integer", "min",   "max",      "minLength", "maxLength",
                                          "pattern", "enum",  "default",  NULL};
static const char *const LOOP_PROPS[] = {"key", "label", "itemFields", "minItems", "maxItems", NULL};
static const char *const MANIFEST_PROPS[] = {"variables", "loops", NULL};

typedef struct compiler {
    issues_t is;
    size_t errors;         /* issues added so far (also counts those the cap dropped) */
    size_t pattern_states; /* NFA instructions of all patterns so far */
    bool dotted_loop_key;
} compiler_t;

const char *manifest_type_name(manifest_type_t type)
{
    return (size_t)type < TYPE_COUNT ? TYPE_NAMES[type] : "unknown";
}

/* ---------------------------------------------------------------------------------------- */
/* Issues */

/* Formats an issue path. The manifest limits keep paths far below ISSUE_PATH_MAX. */
static void fmt_path(char out[ISSUE_PATH_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fmt_path(char out[ISSUE_PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, ISSUE_PATH_MAX, fmt, ap);
    va_end(ap);
}

static void join_path(char out[ISSUE_PATH_MAX], const char *base, const char *prop)
{
    if (prop)
        fmt_path(out, "%s.%s", base, prop);
    else
        fmt_path(out, "%s", base);
}

static void issue(compiler_t *c, const char *base, const char *prop, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void issue(compiler_t *c, const char *base, const char *prop, const char *fmt, ...)
{
    char path[ISSUE_PATH_MAX], msg[ISSUES_MESSAGE_MAX];
    join_path(path, base, prop);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->errors++;
    issues_add(&c->is, path, msg);
}

/* Reports every property of obj that is not in allowed. */
static void check_unknown(compiler_t *c, const json_t *obj, const char *base, const char *const *allowed)
{
    const char *key;
    size_t len;
    json_t *v;
    json_object_keylen_foreach((json_t *)obj, key, len, v)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strlen(allowed[i]) == len && memcmp(allowed[i], key, len) == 0;
        if (known)
            continue;
        char shown[MANIFEST_SHOWN_KEY_MAX + 4];
        size_t n = strnlen(key, len);
        n = strfmt_utf8_prefix(key, n, MANIFEST_SHOWN_KEY_MAX);
        snprintf(shown, sizeof shown, "%.*s%s", (int)n, key, n < len ? "..." : "");
        issue(c, base, shown, "Unrecognized key(s) in object: '%s'", shown);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Typed property readers: 1 = present and valid, 0 = absent, -1 = invalid (issue added). */

/* The property when present with the expected JSON type ("string", "boolean", "number"). */
static int get_typed(compiler_t *c, const json_t *def, const char *base, const char *prop,
                     const char *expected, json_t **out)
{
    json_t *v = json_object_get(def, prop);
    if (!v)
        return 0;
    if (strcmp(errmsg_json_type(v), expected) != 0) {
        issue(c, base, prop, "Expected %s, received %s", expected, errmsg_json_type(v));
        return -1;
    }
    *out = v;
    return 1;
}

static int get_string(compiler_t *c, const json_t *def, const char *base, const char *prop, bool required,
                      size_t max_chars, const char **s, size_t *len)
{
    json_t *v;
    int r = get_typed(c, def, base, prop, "string", &v);
    if (r == 0 && required)
        issue(c, base, prop, "Required");
    if (r <= 0)
        return r;
    *s = json_string_value(v);
    *len = json_string_length(v);
    if (memchr(*s, '\0', *len)) {
        issue(c, base, prop, "String must not contain NUL characters");
        return -1;
    }
    if (max_chars && strfmt_utf8_length(*s, *len) > max_chars) {
        issue(c, base, prop, "String must contain at most %zu character(s)", max_chars);
        return -1;
    }
    return 1;
}

static int get_bool(compiler_t *c, const json_t *def, const char *base, const char *prop, bool *out)
{
    json_t *v;
    int r = get_typed(c, def, base, prop, "boolean", &v);
    if (r == 1)
        *out = json_is_true(v);
    return r;
}

static int get_number(compiler_t *c, const json_t *def, const char *base, const char *prop, double *out)
{
    json_t *v;
    int r = get_typed(c, def, base, prop, "number", &v);
    if (r == 1)
        *out = json_number_value(v);
    return r;
}

/* A non-negative integer up to max. */
static int get_count(compiler_t *c, const json_t *def, const char *base, const char *prop, size_t max,
                     size_t *out)
{
    double d = 0;
    int r = get_number(c, def, base, prop, &d);
    if (r <= 0)
        return r;
    if (d != floor(d)) {
        issue(c, base, prop, "Expected integer, received float");
        return -1;
    }
    if (d < 0) {
        issue(c, base, prop, "Number must be greater than or equal to 0");
        return -1;
    }
    if (d > (double)max) {
        issue(c, base, prop, "Number must be less than or equal to %zu", max);
        return -1;
    }
    *out = (size_t)d;
    return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Keys and formats */

static bool ident_start(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}
static bool ident_char(char ch)
{
    return ident_start(ch) || (ch >= '0' && ch <= '9');
}

/* ^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$; returns the segment count or 0. */
static size_t key_segments(const char *k, size_t len)
{
    size_t segs = 0, i = 0;
    while (i < len) {
        if (!ident_start(k[i]))
            return 0;
        while (i < len && ident_char(k[i]))
            i++;
        segs++;
        if (i < len) {
            if (k[i] != '.' || i + 1 == len)
                return 0;
            i++;
        }
    }
    return segs;
}

/* Checks a variable, item field or loop key; returns true when usable. */
static bool check_key(compiler_t *c, const char *base, const char *k, size_t len, bool dot_free, bool is_loop)
{
    if (len > MANIFEST_KEY_MAX) {
        issue(c, base, "key", "Key must be at most %d characters", MANIFEST_KEY_MAX);
        return false;
    }
    size_t segs = key_segments(k, len);
    if (segs == 0) {
        issue(c, base, "key", "Invalid key");
        return false;
    }
    if (segs > 1 && is_loop) {
        c->dotted_loop_key = true;
        issue(c, base, "key",
              "Loop keys must not contain dots: a loop is sent as an array under a top-level key");
        return false;
    }
    if (segs > 1 && dot_free) {
        issue(c, base, "key", "Item field keys must not contain dots");
        return false;
    }
    if (segs > MANIFEST_KEY_DEPTH_MAX) {
        issue(c, base, "key", "Key must have at most %d dot-separated segments", MANIFEST_KEY_DEPTH_MAX);
        return false;
    }
    return true;
}

static bool is_numeric_type(manifest_type_t t)
{
    return t == MANIFEST_NUMBER || t == MANIFEST_CURRENCY;
}
static bool is_date_type(manifest_type_t t)
{
    return t == MANIFEST_DATE || t == MANIFEST_DATETIME;
}
static bool has_length(manifest_type_t t)
{
    return t == MANIFEST_TEXT || t == MANIFEST_LONGTEXT || t == MANIFEST_EMAIL || t == MANIFEST_URL;
}

/* The type's own cap on string length (0: not a length-checked string type). */
static size_t type_max_len(manifest_type_t t)
{
    switch (t) {
    case MANIFEST_TEXT:
    case MANIFEST_LONGTEXT: return MANIFEST_TEXT_MAX;
    case MANIFEST_EMAIL: return STRFMT_EMAIL_MAX;
    case MANIFEST_URL: return STRFMT_URL_MAX;
    default: return 0;
    }
}

/* Checks a format spec: its syntax is the engine's (a template filter without braces, see
 * docs/templates-values.md), so the engine's own checker decides. On top of that, a filter
 * that can never work for the dataType is refused here rather than failing every render:
 * number filters on values that are never numbers, date on values that are never dates. */
static void check_format(compiler_t *c, const char *base, const char *spec, manifest_type_t t)
{
    char err[ERRMSG_LEN];
    if (format_check_spec(spec, err, sizeof err) != 0) {
        issue(c, base, "format", "Invalid format '%s': %s", spec, err);
        return;
    }
    size_t head = strcspn(spec, ":");
    bool numeric =
        (head == 5 && strncmp(spec, "money", 5) == 0) || (head == 8 && strncmp(spec, "currency", 8) == 0) ||
        (head == 6 && strncmp(spec, "number", 6) == 0) || (head == 7 && strncmp(spec, "percent", 7) == 0);
    bool date = head == 4 && strncmp(spec, "date", 4) == 0;
    bool text = t == MANIFEST_TEXT || t == MANIFEST_LONGTEXT; /* may hold anything */
    if ((numeric && !text && !is_numeric_type(t)) || (date && !text && !is_date_type(t)))
        issue(c, base, "format", "Format '%s' does not apply to dataType %s", spec, TYPE_NAMES[t]);
}

/* ---------------------------------------------------------------------------------------- */
/* Fields */

static void enum_free(mf_enum_t *e)
{
    if (!e)
        return;
    json_decref(e->values);
    free(e->strs);
    free(e->nums);
    free(e->expected);
    free(e);
}

static void field_free(mf_field_t *f)
{
    if (!f)
        return;
    free((char *)f->info.key);
    free((char *)f->info.label);
    free((char *)f->info.format);
    pattern_free(f->pattern);
    free(f->pattern_src);
    enum_free(f->enumv);
    json_decref(f->default_value);
    free(f);
}

static bool enum_values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

int mf_cmp_sref(const void *a, const void *b)
{
    const mf_sref_t *x = a, *y = b;
    return mf_name_cmp(x->s, x->len, y->s, y->len);
}

int mf_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Builds the lookup tables and the message text of a checked enum. */
static mf_enum_t *enum_build(const json_t *values)
{
    mf_enum_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->count = json_array_size(values);
    e->values = json_deep_copy(values);
    size_t n = e->count, need = 1;
    for (size_t i = 0; i < n; i++) /* quotes and " | ", or a printed number */
        need += 5 + (json_is_string(json_array_get(values, i)) ? json_string_length(json_array_get(values, i))
                                                               : STRFMT_NUMBER_LEN);
    char *expected = malloc(need);
    if (!e->values || !expected)
        goto fail;
    size_t o = 0;
    bool strings = json_is_string(json_array_get(values, 0));
    if (strings) {
        if (!(e->strs = calloc(n, sizeof *e->strs)))
            goto fail;
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(e->values, i);
            e->strs[i] = (mf_sref_t){json_string_value(v), json_string_length(v)};
            o += (size_t)sprintf(expected + o, "%s'%s'", i ? " | " : "", e->strs[i].s);
        }
        qsort(e->strs, n, sizeof *e->strs, mf_cmp_sref);
    } else {
        e->nums = calloc(n, sizeof *e->nums);
        if (!e->nums)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            char num[STRFMT_NUMBER_LEN];
            e->nums[i] = json_number_value(json_array_get(values, i));
            strfmt_js_number(e->nums[i], num);
            o += (size_t)sprintf(expected + o, "%s%s", i ? " | " : "", num);
        }
        qsort(e->nums, n, sizeof *e->nums, mf_cmp_double);
    }
    e->expected = expected;
    return e;
fail:
    free(expected);
    enum_free(e);
    return NULL;
}

/* Checks a value written in the manifest (an enum entry, a default) as data would be checked,
 * without coercion: such values must have the variable's own type. */
static bool check_declared_value(compiler_t *c, const mf_field_t *f, const json_t *v, bool check_enum,
                                 const char *path)
{
    issues_t local;
    issues_init(&local, 1);
    bool ok = mf_check_value(f, v, false, check_enum, &local, path, NULL, NULL);
    if (!ok) {
        json_t *got = issues_take(&local);
        json_t *msgs = json_object_get(json_object_get(got, "fieldErrors"), path);
        size_t k;
        json_t *m;
        json_array_foreach(msgs, k, m) issue(c, path, NULL, "%s", json_string_value(m));
        json_decref(got);
    }
    issues_free(&local);
    return ok;
}

static bool enum_type_allowed(manifest_type_t t)
{
    return t != MANIFEST_BOOLEAN && t != MANIFEST_IMAGE;
}

static void compile_enum(compiler_t *c, mf_field_t *f, const json_t *def, const char *base)
{
    json_t *e = json_object_get(def, "enum");
    if (!e)
        return;
    manifest_type_t t = f->info.type;
    if (!enum_type_allowed(t)) {
        issue(c, base, "enum", "enum is not supported for dataType %s", TYPE_NAMES[t]);
        return;
    }
    if (!json_is_array(e)) {
        issue(c, base, "enum", "Expected array, received %s", errmsg_json_type(e));
        return;
    }
    size_t n = json_array_size(e);
    if (n == 0 || n > MANIFEST_ENUM_MAX) {
        issue(c, base, "enum", "Array must contain at %s %d element(s)", n ? "most" : "least",
              n ? MANIFEST_ENUM_MAX : 1);
        return;
    }
    size_t errors = c->errors;
    for (size_t i = 0; i < n; i++) {
        char path[ISSUE_PATH_MAX];
        fmt_path(path, "%s.enum.%zu", base, i);
        json_t *v = json_array_get(e, i);
        size_t before = c->errors;
        if (json_is_string(v) &&
            strfmt_utf8_length(json_string_value(v), json_string_length(v)) > MANIFEST_ENUM_VALUE_MAX) {
            issue(c, path, NULL, "String must contain at most %d character(s)", MANIFEST_ENUM_VALUE_MAX);
            continue;
        }
        check_declared_value(c, f, v, false, path);
        for (size_t j = 0; j < i && c->errors == before; j++) {
            if (enum_values_equal(v, json_array_get(e, j)))
                issue(c, path, NULL, "Duplicate enum value");
        }
    }
    if (c->errors != errors)
        return;
    f->enumv = enum_build(e);
    if (!f->enumv)
        issue(c, base, "enum", "Out of memory");
}

static void compile_default(compiler_t *c, mf_field_t *f, const json_t *def, const char *base)
{
    json_t *d = json_object_get(def, "default");
    if (!d)
        return;
    if (f->info.required) {
        issue(c, base, "default", "A variable with a default cannot be required");
        return;
    }
    char path[ISSUE_PATH_MAX];
    join_path(path, base, "default");
    if (check_declared_value(c, f, d, true, path)) {
        f->default_value = json_deep_copy(d);
        f->info.default_value = f->default_value;
    }
}

/* Reports a constraint property that does not apply to the type. */
static bool constraint_applies(compiler_t *c, const json_t *def, const char *base, const char *prop,
                               bool applies, manifest_type_t t)
{
    if (!json_object_get(def, prop) || applies)
        return true;
    issue(c, base, prop, "%s is not supported for dataType %s", prop, TYPE_NAMES[t]);
    return false;
}

static void compile_constraints(compiler_t *c, mf_field_t *f, const json_t *def, const char *base)
{
    manifest_type_t t = f->info.type;
    bool num = is_numeric_type(t), len = has_length(t);
    if (constraint_applies(c, def, base, "integer", num, t))
        get_bool(c, def, base, "integer", &f->integer);
    if (constraint_applies(c, def, base, "min", num, t))
        f->has_min = get_number(c, def, base, "min", &f->min) == 1;
    if (constraint_applies(c, def, base, "max", num, t))
        f->has_max = get_number(c, def, base, "max", &f->max) == 1;
    if (f->has_min && f->has_max && f->min > f->max)
        issue(c, base, "max", "max must be greater than or equal to min");
    f->max_len = type_max_len(t);
    if (constraint_applies(c, def, base, "minLength", len, t))
        f->has_min_len = get_count(c, def, base, "minLength", f->max_len, &f->min_len) == 1;
    if (constraint_applies(c, def, base, "maxLength", len, t))
        f->has_max_len = get_count(c, def, base, "maxLength", f->max_len, &f->max_len) == 1;
    if (f->has_min_len && f->min_len > f->max_len)
        issue(c, base, "maxLength", "maxLength must be greater than or equal to minLength");
    const char *src;
    size_t slen;
    if (constraint_applies(c, def, base, "pattern", len, t) &&
        get_string(c, def, base, "pattern", false, 0, &src, &slen) == 1) {
        char err[PATTERN_ERR_MAX];
        f->pattern = pattern_compile(src, slen, err);
        if (!f->pattern) {
            issue(c, base, "pattern", "Invalid regular expression: %s", err);
        } else if ((c->pattern_states += pattern_program_size(f->pattern)) > MANIFEST_PATTERN_STATES_MAX) {
            /* A short pattern can expand to thousands of states: bound the manifest's total. */
            issue(c, base, "pattern",
                  "The manifest's regular expressions are too complex in total (more than %d "
                  "states)",
                  MANIFEST_PATTERN_STATES_MAX);
        } else if (!(f->pattern_src = strdup(src))) {
            issue(c, base, "pattern", "Out of memory");
        }
    }
}

/* Compiles a VariableDefinition (item: a loop's item field, whose key is dot-free). Returns
 * NULL when it has any problem (all reported). */
static mf_field_t *compile_field(compiler_t *c, const json_t *def, const char *base, bool item)
{
    if (!json_is_object(def)) {
        issue(c, base, NULL, "Expected object, received %s", errmsg_json_type(def));
        return NULL;
    }
    size_t errors = c->errors;
    check_unknown(c, def, base, FIELD_PROPS);
    mf_field_t *f = calloc(1, sizeof *f);
    if (!f) {
        issue(c, base, NULL, "Out of memory");
        return NULL;
    }
    const char *s;
    size_t len;
    if (get_string(c, def, base, "key", true, 0, &s, &len) == 1 && check_key(c, base, s, len, item, false)) {
        f->info.key = strdup(s);
        if (f->info.key) {
            const char *dot = strrchr(f->info.key, '.');
            f->name = dot ? dot + 1 : f->info.key;
            f->name_len = strlen(f->name);
        }
    }
    if (get_string(c, def, base, "label", false, MANIFEST_LABEL_MAX, &s, &len) == 1)
        f->info.label = strdup(s);
    bool type_ok = false;
    if (get_string(c, def, base, "dataType", true, 0, &s, &len) == 1) {
        for (size_t i = 0; i < TYPE_COUNT && !type_ok; i++) {
            if (strcmp(s, TYPE_NAMES[i]) == 0) {
                f->info.type = (manifest_type_t)i;
                type_ok = true;
            }
        }
        if (!type_ok) {
            issue(c, base, "dataType",
                  "Invalid enum value. Expected 'text' | 'longtext' | 'number' | 'currency' | "
                  "'date' | 'datetime' | 'boolean' | 'image' | 'url' | 'email', received '%.*s'",
                  (int)strfmt_utf8_prefix(s, len, MANIFEST_SHOWN_KEY_MAX), s);
        }
    }
    get_bool(c, def, base, "required", &f->info.required);
    if (type_ok) {
        if (get_string(c, def, base, "format", false, MANIFEST_FORMAT_MAX, &s, &len) == 1) {
            f->info.format = strdup(s);
            check_format(c, base, s, f->info.type);
        }
        compile_constraints(c, f, def, base);
        compile_enum(c, f, def, base);
        compile_default(c, f, def, base);
    }
    if (c->errors != errors || !f->info.key || !type_ok) {
        if (c->errors == errors)
            issue(c, base, NULL, "Out of memory");
        field_free(f);
        return NULL;
    }
    return f;
}

/* ---------------------------------------------------------------------------------------- */
/* The tree */

static void node_free(mf_node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nchildren; i++) {
        if (n->children[i]->kind != MF_LOOP) /* loops own their node */
            node_free(n->children[i]);
    }
    free(n->children);
    free(n->sorted);
    free(n->name);
    free(n);
}

static void loop_free(mf_loop_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->info.field_count; i++)
        field_free(l->fields[i]);
    free(l->fields);
    node_free(l->node);
    free((char *)l->info.key);
    free((char *)l->info.label);
    free(l);
}

static mf_node_t *node_new(mf_kind_t kind, const char *name, size_t len)
{
    mf_node_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->name = strndup(name, len);
    n->name_len = len;
    if (!n->name) {
        free(n);
        return NULL;
    }
    return n;
}

static bool node_add(mf_node_t *parent, mf_node_t *child)
{
    if (parent->nchildren == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        mf_node_t **c = realloc(parent->children, cap * sizeof *c);
        if (!c)
            return false;
        parent->children = c;
        parent->cap = cap;
    }
    parent->children[parent->nchildren++] = child;
    return true;
}

/* Linear lookup used while building (the sorted index does not exist yet). */
static mf_node_t *node_find(const mf_node_t *n, const char *name, size_t len)
{
    for (size_t i = 0; i < n->nchildren; i++) {
        if (n->children[i]->name_len == len && memcmp(n->children[i]->name, name, len) == 0)
            return n->children[i];
    }
    return NULL;
}

/* Some key declared under node, to name it in a conflict message. */
static const char *node_some_key(const mf_node_t *n)
{
    while (n->kind == MF_OBJECT && n->nchildren > 0)
        n = n->children[0];
    if (n->kind == MF_FIELD)
        return n->field->info.key;
    if (n->kind == MF_LOOP)
        return n->loop->info.key;
    return "?";
}

/* Inserts variable f (declared at base) into the tree; reports duplicates and conflicts. */
static void insert_variable(compiler_t *c, mf_node_t *root, mf_field_t *f, const char *base)
{
    const char *key = f->info.key;
    mf_node_t *node = root;
    for (;;) {
        const char *dot = strchr(key, '.');
        size_t len = dot ? (size_t)(dot - key) : strlen(key);
        mf_node_t *child = node_find(node, key, len);
        if (dot) {
            if (child && child->kind != MF_OBJECT) {
                issue(c, base, "key",
                      "Key '%s' conflicts with '%s': a key cannot be both a value and an object", f->info.key,
                      node_some_key(child));
                return;
            }
            if (!child) {
                child = node_new(MF_OBJECT, key, len);
                if (!child || !node_add(node, child)) {
                    node_free(child);
                    issue(c, base, "key", "Out of memory");
                    return;
                }
            }
            node = child;
            key = dot + 1;
            continue;
        }
        if (child) {
            if (child->kind == MF_FIELD)
                issue(c, base, "key", "Duplicate key '%s'", f->info.key);
            else
                issue(c, base, "key",
                      "Key '%s' conflicts with '%s': a key cannot be both a value and an object", f->info.key,
                      node_some_key(child));
            return;
        }
        child = node_new(MF_FIELD, key, len);
        if (!child || !node_add(node, child)) {
            node_free(child);
            issue(c, base, "key", "Out of memory");
            return;
        }
        child->field = f;
        return;
    }
}

static int cmp_node_name(const void *a, const void *b)
{
    const mf_node_t *x = *(mf_node_t *const *)a, *y = *(mf_node_t *const *)b;
    return mf_name_cmp(x->name, x->name_len, y->name, y->name_len);
}

/* Builds the sorted index and the required/default summaries, bottom-up. */
static bool node_finish(mf_node_t *n)
{
    if (n->nchildren == 0)
        return true;
    n->sorted = malloc(n->nchildren * sizeof *n->sorted);
    if (!n->sorted)
        return false;
    memcpy(n->sorted, n->children, n->nchildren * sizeof *n->sorted);
    qsort(n->sorted, n->nchildren, sizeof *n->sorted, cmp_node_name);
    for (size_t i = 0; i < n->nchildren; i++) {
        mf_node_t *ch = n->children[i];
        if (ch->kind == MF_OBJECT && !node_finish(ch)) /* loop nodes are finished by their loop */
            return false;
        if (ch->kind == MF_FIELD) {
            n->has_required |= ch->field->info.required;
            n->has_default |= ch->field->default_value != NULL;
        } else if (ch->kind == MF_OBJECT) {
            n->has_required |= ch->has_required;
            n->has_default |= ch->has_default;
        }
    }
    return true;
}

int mf_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

static int cmp_name_to_node(const void *key, const void *elem)
{
    const mf_sref_t *k = key;
    const mf_node_t *n = *(mf_node_t *const *)elem;
    return mf_name_cmp(k->s, k->len, n->name, n->name_len);
}

const mf_node_t *mf_node_child(const mf_node_t *node, const char *name, size_t len)
{
    if (node->nchildren == 0)
        return NULL;
    mf_sref_t key = {name, len};
    mf_node_t **hit = bsearch(&key, node->sorted, node->nchildren, sizeof *node->sorted, cmp_name_to_node);
    return hit ? *hit : NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Loops */

static mf_loop_t *compile_loop(compiler_t *c, const json_t *def, const char *base)
{
    if (!json_is_object(def)) {
        issue(c, base, NULL, "Expected object, received %s", errmsg_json_type(def));
        return NULL;
    }
    size_t errors = c->errors;
    check_unknown(c, def, base, LOOP_PROPS);
    mf_loop_t *l = calloc(1, sizeof *l);
    if (!l) {
        issue(c, base, NULL, "Out of memory");
        return NULL;
    }
    l->info.max_items = MANIFEST_LOOP_ITEMS_MAX;
    const char *s;
    size_t len;
    if (get_string(c, def, base, "key", true, 0, &s, &len) == 1 && check_key(c, base, s, len, true, true))
        l->info.key = strdup(s);
    if (get_string(c, def, base, "label", false, MANIFEST_LABEL_MAX, &s, &len) == 1)
        l->info.label = strdup(s);
    get_count(c, def, base, "minItems", MANIFEST_LOOP_ITEMS_MAX, &l->info.min_items);
    get_count(c, def, base, "maxItems", MANIFEST_LOOP_ITEMS_MAX, &l->info.max_items);
    if (l->info.min_items > l->info.max_items)
        issue(c, base, "maxItems", "maxItems must be greater than or equal to minItems");

    json_t *fields = json_object_get(def, "itemFields");
    size_t n = json_array_size(fields);
    if (!fields) {
        issue(c, base, "itemFields", "Required");
    } else if (!json_is_array(fields)) {
        issue(c, base, "itemFields", "Expected array, received %s", errmsg_json_type(fields));
    } else if (n == 0 || n > MANIFEST_ITEM_FIELDS_MAX) {
        issue(c, base, "itemFields", "Array must contain at %s %d element(s)", n ? "most" : "least",
              n ? MANIFEST_ITEM_FIELDS_MAX : 1);
    } else if ((l->fields = calloc(n, sizeof *l->fields))) {
        l->info.field_count = n;
        for (size_t i = 0; i < n; i++) {
            char path[ISSUE_PATH_MAX];
            fmt_path(path, "%s.itemFields.%zu", base, i);
            l->fields[i] = compile_field(c, json_array_get(fields, i), path, true);
            for (size_t j = 0; j < i && l->fields[i]; j++) {
                if (l->fields[j] && strcmp(l->fields[j]->info.key, l->fields[i]->info.key) == 0)
                    issue(c, path, "key", "Duplicate key '%s'", l->fields[i]->info.key);
            }
        }
    }
    if (c->errors == errors && l->info.key) {
        l->node = node_new(MF_LOOP, l->info.key, strlen(l->info.key));
        for (size_t i = 0; l->node && i < n; i++) {
            mf_node_t *fn = node_new(MF_FIELD, l->fields[i]->name, l->fields[i]->name_len);
            if (!fn || !node_add(l->node, fn)) {
                node_free(fn);
                break;
            }
            fn->field = l->fields[i];
        }
        if (l->node) {
            l->node->loop = l;
            if (l->node->nchildren == n && node_finish(l->node))
                return l;
        }
        issue(c, base, NULL, "Out of memory");
    }
    loop_free(l);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* The manifest */

void manifest_free(manifest_t *m)
{
    if (!m)
        return;
    node_free(m->root); /* first: it looks at its loop children, which the loops free */
    for (size_t i = 0; i < m->nvars; i++)
        field_free(m->vars[i]);
    for (size_t i = 0; i < m->nloops; i++)
        loop_free(m->loops[i]);
    free(m->vars);
    free(m->loops);
    json_decref(m->source);
    free(m);
}

/* The array under prop: NULL (with an issue) when it is not an acceptable array. */
static const json_t *definitions(compiler_t *c, const json_t *manifest, const char *prop, size_t max,
                                 size_t *n)
{
    json_t *arr = json_object_get(manifest, prop);
    *n = 0;
    if (!arr)
        return NULL;
    if (!json_is_array(arr)) {
        issue(c, "manifest", prop, "Expected array, received %s", errmsg_json_type(arr));
        return NULL;
    }
    if (json_array_size(arr) > max) {
        issue(c, "manifest", prop, "Array must contain at most %zu element(s)", max);
        return NULL;
    }
    *n = json_array_size(arr);
    return arr;
}

static void compile_all(compiler_t *c, manifest_t *m, const json_t *manifest)
{
    check_unknown(c, manifest, "manifest", MANIFEST_PROPS);
    size_t nv, nl;
    const json_t *vars = definitions(c, manifest, "variables", MANIFEST_VARIABLES_MAX, &nv);
    const json_t *loops = definitions(c, manifest, "loops", MANIFEST_LOOPS_MAX, &nl);
    m->vars = calloc(nv ? nv : 1, sizeof *m->vars);
    m->loops = calloc(nl ? nl : 1, sizeof *m->loops);
    m->root = node_new(MF_OBJECT, "", 0);
    if (!m->vars || !m->loops || !m->root) {
        issue(c, "manifest", NULL, "Out of memory");
        return;
    }
    for (size_t i = 0; i < nv; i++) {
        char base[ISSUE_PATH_MAX];
        fmt_path(base, "manifest.variables.%zu", i);
        mf_field_t *f = compile_field(c, json_array_get(vars, i), base, false);
        if (!f)
            continue;
        m->vars[m->nvars++] = f;
        insert_variable(c, m->root, f, base);
    }
    for (size_t i = 0; i < nl; i++) {
        char base[ISSUE_PATH_MAX];
        fmt_path(base, "manifest.loops.%zu", i);
        mf_loop_t *l = compile_loop(c, json_array_get(loops, i), base);
        if (!l)
            continue;
        m->loops[m->nloops++] = l;
        mf_node_t *other = node_find(m->root, l->info.key, strlen(l->info.key));
        if (other && other->kind == MF_LOOP)
            issue(c, base, "key", "Duplicate loop key '%s'", l->info.key);
        else if (other)
            issue(c, base, "key", "Loop key '%s' conflicts with variable '%s'", l->info.key,
                  node_some_key(other));
        else if (!node_add(m->root, l->node))
            issue(c, base, NULL, "Out of memory");
    }
}

manifest_t *manifest_compile(const json_t *manifest, manifest_status_t *status, json_t **issues)
{
    compiler_t c = {0};
    issues_init(&c.is, MANIFEST_ISSUES_MAX);
    manifest_t *m = calloc(1, sizeof *m);
    if (issues)
        *issues = NULL;
    if (!m) {
        issue(&c, "manifest", NULL, "Out of memory");
        goto fail;
    }
    if (!manifest) {
        issue(&c, "manifest", NULL, "Required");
        goto fail;
    }
    if (!json_is_object(manifest)) {
        issue(&c, "manifest", NULL, "Expected object, received %s", errmsg_json_type(manifest));
        goto fail;
    }
    compile_all(&c, m, manifest);
    if (c.errors)
        goto fail;
    if (!node_finish(m->root) || !(m->source = json_deep_copy(manifest))) {
        issue(&c, "manifest", NULL, "Out of memory");
        goto fail;
    }
    if (!json_object_get(m->source, "variables"))
        json_object_set_new(m->source, "variables", json_array());
    if (!json_object_get(m->source, "loops"))
        json_object_set_new(m->source, "loops", json_array());
    issues_free(&c.is);
    *status = MANIFEST_OK;
    return m;
fail:
    manifest_free(m);
    *status = c.dotted_loop_key ? MANIFEST_INVALID_LOOP_KEY : MANIFEST_INVALID;
    if (issues)
        *issues = issues_take(&c.is);
    issues_free(&c.is);
    return NULL;
}

json_t *manifest_to_json(const manifest_t *m)
{
    return json_deep_copy(m->source);
}

size_t manifest_variable_count(const manifest_t *m)
{
    return m->nvars;
}

size_t manifest_loop_count(const manifest_t *m)
{
    return m->nloops;
}

const manifest_field_info_t *manifest_variable(const manifest_t *m, size_t i)
{
    return i < m->nvars ? &m->vars[i]->info : NULL;
}

const manifest_loop_info_t *manifest_loop(const manifest_t *m, size_t i)
{
    return i < m->nloops ? &m->loops[i]->info : NULL;
}

const manifest_field_info_t *manifest_loop_field(const manifest_t *m, size_t loop, size_t i)
{
    if (loop >= m->nloops || i >= m->loops[loop]->info.field_count)
        return NULL;
    return &m->loops[loop]->fields[i]->info;
}

const manifest_field_info_t *manifest_find_variable(const manifest_t *m, const char *key)
{
    for (size_t i = 0; i < m->nvars; i++) {
        if (strcmp(m->vars[i]->info.key, key) == 0)
            return &m->vars[i]->info;
    }
    return NULL;
}

const manifest_loop_info_t *manifest_find_loop(const manifest_t *m, const char *key)
{
    for (size_t i = 0; i < m->nloops; i++) {
        if (strcmp(m->loops[i]->info.key, key) == 0)
            return &m->loops[i]->info;
    }
    return NULL;
}
