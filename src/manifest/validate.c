/*
 * validate — manifest_validate(): walks the compiled tree (never the data, so data depth is
 * irrelevant), looks each declared key up in the data, checks and coerces it, and builds the
 * normalised copy. Issues are collected under full dot paths; see docs/manifest.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "manifest/manifest_internal.h"
#include "manifest/strfmt.h"

typedef struct vctx {
    unsigned flags;
    bool build; /* a normalised copy was asked for */
    issues_t is;
    uint64_t budget; /* regex steps left */
    char path[MANIFEST_PATH_MAX];
    size_t plen;
} vctx_t;

/* ---------------------------------------------------------------------------------------- */
/* Paths */

/* Appends ".name" (or "name" at the root); returns the length to restore. */
static size_t path_push(vctx_t *c, const char *name, size_t len)
{
    size_t mark = c->plen;
    size_t need = (c->plen ? 1 : 0) + len;
    if (need >= sizeof c->path - c->plen) /* cannot happen with manifest limits; stay safe */
        return mark;
    if (c->plen)
        c->path[c->plen++] = '.';
    memcpy(c->path + c->plen, name, len);
    c->plen += len;
    c->path[c->plen] = '\0';
    return mark;
}

static size_t path_push_index(vctx_t *c, size_t i)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%zu", i);
    return path_push(c, num, (size_t)n);
}

static void path_pop(vctx_t *c, size_t mark)
{
    c->plen = mark;
    c->path[mark] = '\0';
}

/* ---------------------------------------------------------------------------------------- */
/* Values */

static bool enum_has_string(const mf_enum_t *e, const char *s, size_t len)
{
    mf_sref_t key = {s, len};
    return bsearch(&key, e->strs, e->count, sizeof *e->strs, mf_cmp_sref) != NULL;
}

static bool enum_has_number(const mf_enum_t *e, double d)
{
    return bsearch(&d, e->nums, e->count, sizeof *e->nums, mf_cmp_double) != NULL;
}

/* The received value quoted in the enum message, cut to a readable length. */
static void enum_fail(issues_t *is, const char *path, const mf_enum_t *e, const json_t *v, double d)
{
    char shown[MANIFEST_SHOWN_KEY_MAX + 8];
    if (e->strs) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        size_t cut = strfmt_utf8_prefix(s, len, MANIFEST_SHOWN_KEY_MAX);
        snprintf(shown, sizeof shown, "'%.*s%s'", (int)cut, s, cut < len ? "..." : "");
    } else {
        strfmt_js_number(d, shown);
    }
    issues_addf(is, path, "Invalid enum value. Expected %s, received %s", e->expected, shown);
}

/* The data-URI and URL rules of dataType image. */
static bool check_image(issues_t *is, const char *path, const char *s, size_t len)
{
    strfmt_image_t r = strfmt_check_image_data(s, len);
    if (r == STRFMT_IMAGE_NOT_DATA) {
        if (len > STRFMT_URL_MAX) {
            issues_addf(is, path, "String must contain at most %d character(s)", STRFMT_URL_MAX);
            return false;
        }
        if (!strfmt_is_url(s, len)) {
            issues_add(is, path, "Invalid url");
            return false;
        }
        return true;
    }
    if (len > STRFMT_IMAGE_DATA_MAX) {
        issues_addf(is, path, "Image data URI must be at most %d characters (5 MiB)", STRFMT_IMAGE_DATA_MAX);
        return false;
    }
    switch (r) {
    case STRFMT_IMAGE_BAD_TYPE:
        issues_add(is, path,
                   "Invalid image: expected an http(s) URL or a data:image/png;base64, or "
                   "data:image/jpeg;base64, URI");
        return false;
    case STRFMT_IMAGE_BAD_BASE64:
        issues_add(is, path, "Invalid image: the data URI is not valid base64");
        return false;
    case STRFMT_IMAGE_BAD_MAGIC:
        issues_add(is, path, "Invalid image: the data is not the declared PNG or JPEG");
        return false;
    default: return true;
    }
}

static bool check_string(const mf_field_t *f, const json_t *v, bool check_enum, issues_t *is,
                         const char *path, uint64_t *budget)
{
    manifest_type_t t = f->info.type;
    if (!json_is_string(v)) {
        issues_addf(is, path, "Expected string, received %s", errmsg_json_type(v));
        return false;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (memchr(s, '\0', len)) {
        issues_add(is, path, "String must not contain NUL characters");
        return false;
    }
    if (t == MANIFEST_IMAGE)
        return check_image(is, path, s, len);
    bool ok = true, too_long = false;
    if (f->max_len) {
        /* Bytes bound characters from above: count only when it can matter. */
        size_t chars = (f->min_len > 0 || len > f->max_len) ? strfmt_utf8_length(s, len) : len;
        if (chars < f->min_len) {
            issues_addf(is, path, "String must contain at least %zu character(s)", f->min_len);
            ok = false;
        }
        if (chars > f->max_len) {
            issues_addf(is, path, "String must contain at most %zu character(s)", f->max_len);
            too_long = true;
            ok = false;
        }
    }
    switch (t) {
    case MANIFEST_DATE: /* a day, or a full timestamp as Craftkit clients send (issue 16) */
        if (!strfmt_is_date(s, len) && !strfmt_is_datetime(s, len))
            ok = false, issues_add(is, path, "Invalid date");
        break;
    case MANIFEST_DATETIME:
        if (!strfmt_is_datetime(s, len))
            ok = false, issues_add(is, path, "Invalid datetime");
        break;
    case MANIFEST_EMAIL:
        if (!too_long && !strfmt_is_email(s, len))
            ok = false, issues_add(is, path, "Invalid email");
        break;
    case MANIFEST_URL:
        if (!too_long && !strfmt_is_url(s, len))
            ok = false, issues_add(is, path, "Invalid url");
        break;
    default: break;
    }
    if (f->pattern && !too_long) {
        pattern_result_t r = pattern_match_budget(f->pattern, s, len, budget);
        if (r == PATTERN_NO_MATCH)
            ok = false, issues_add(is, path, "Invalid");
        else if (r == PATTERN_BUDGET_EXCEEDED)
            ok = false, issues_add(is, path, "Pattern check exceeded the validation time budget");
    }
    if (check_enum && f->enumv && !enum_has_string(f->enumv, s, len)) {
        ok = false;
        enum_fail(is, path, f->enumv, v, 0);
    }
    return ok;
}

static bool check_number(const mf_field_t *f, const json_t *v, bool coerce, bool check_enum, issues_t *is,
                         const char *path, json_t **out)
{
    double d;
    json_t *coerced = NULL;
    if (json_is_integer(v)) {
        d = (double)json_integer_value(v);
    } else if (json_is_real(v)) {
        d = json_real_value(v);
    } else if (coerce && json_is_string(v)) {
        bool is_int;
        int64_t i64;
        if (!strfmt_parse_number(json_string_value(v), json_string_length(v), &d, &is_int, &i64)) {
            issues_add(is, path, "Expected number, received string");
            return false;
        }
        if (!isfinite(d)) {
            issues_add(is, path, "Number must be finite");
            return false;
        }
        coerced = is_int ? json_integer((json_int_t)i64) : json_real(d);
    } else {
        issues_addf(is, path, "Expected number, received %s", errmsg_json_type(v));
        return false;
    }
    bool ok = true;
    char num[STRFMT_NUMBER_LEN];
    if (f->integer && d != floor(d)) {
        ok = false;
        issues_add(is, path, "Expected integer, received float");
    }
    if (f->has_min && d < f->min) {
        ok = false;
        strfmt_js_number(f->min, num);
        issues_addf(is, path, "Number must be greater than or equal to %s", num);
    }
    if (f->has_max && d > f->max) {
        ok = false;
        strfmt_js_number(f->max, num);
        issues_addf(is, path, "Number must be less than or equal to %s", num);
    }
    if (check_enum && f->enumv && !enum_has_number(f->enumv, d)) {
        ok = false;
        enum_fail(is, path, f->enumv, v, d);
    }
    if (ok && out)
        *out = coerced ? coerced : json_incref((json_t *)v);
    else
        json_decref(coerced);
    return ok;
}

static bool check_boolean(const json_t *v, bool coerce, issues_t *is, const char *path, json_t **out)
{
    json_t *val = NULL;
    if (json_is_boolean(v)) {
        val = (json_t *)v;
    } else if (coerce && json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (len == 4 && memcmp(s, "true", 4) == 0)
            val = json_true();
        else if (len == 5 && memcmp(s, "false", 5) == 0)
            val = json_false();
    }
    if (!val) {
        issues_addf(is, path, "Expected boolean, received %s", errmsg_json_type(v));
        return false;
    }
    if (out)
        *out = json_incref(val);
    return true;
}

bool mf_check_value(const mf_field_t *f, const json_t *v, bool coerce, bool check_enum, issues_t *is,
                    const char *path, json_t **out, uint64_t *budget)
{
    switch (f->info.type) {
    case MANIFEST_NUMBER:
    case MANIFEST_CURRENCY: return check_number(f, v, coerce, check_enum, is, path, out);
    case MANIFEST_BOOLEAN: return check_boolean(v, coerce, is, path, out);
    default:
        if (!check_string(f, v, check_enum, is, path, budget))
            return false;
        if (out)
            *out = json_incref((json_t *)v);
        return true;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The tree walk */

/* Each validate_* below returns the normalised value of its node (a new reference; NULL when
 * there is none or when no copy is being built). A container whose content comes out unchanged
 * (same values, no defaults, no coercion, no stripped keys) is returned as the input itself
 * with one more reference: clean payloads are not copied at all. */

static json_t *validate_field(vctx_t *c, const mf_field_t *f, const json_t *v)
{
    if (!v) {
        if (f->default_value)
            return c->build ? json_deep_copy(f->default_value) : NULL;
        if (f->info.required)
            issues_add(&c->is, c->path, "Required");
        return NULL;
    }
    json_t *norm = NULL;
    mf_check_value(f, v, true, true, &c->is, c->path, c->build ? &norm : NULL, &c->budget);
    return norm;
}

static json_t *validate_members(vctx_t *c, const mf_node_t *node, const json_t *obj);

static json_t *validate_object(vctx_t *c, const mf_node_t *node, const json_t *v)
{
    if (!v) {
        /* Absent: still report required members and fill defaults below it. */
        if (!node->has_required && !node->has_default)
            return NULL;
        json_t *sub = validate_members(c, node, NULL);
        if (json_object_size(sub) > 0)
            return sub;
        json_decref(sub);
        return NULL;
    }
    if (!json_is_object(v)) {
        issues_addf(&c->is, c->path, "Expected object, received %s", errmsg_json_type(v));
        return NULL;
    }
    return validate_members(c, node, v);
}

static json_t *validate_loop(vctx_t *c, const mf_loop_t *l, const json_t *v)
{
    if (!v) {
        if (l->info.min_items > 0)
            issues_add(&c->is, c->path, "Required");
        return c->build && l->info.min_items == 0 ? json_array() : NULL;
    }
    if (!json_is_array(v)) {
        issues_addf(&c->is, c->path, "Expected array, received %s", errmsg_json_type(v));
        return NULL;
    }
    size_t n = json_array_size(v);
    if (n > l->info.max_items) {
        /* Rejected as a whole: no time is spent on the rows. */
        issues_addf(&c->is, c->path, "Array must contain at most %zu element(s)", l->info.max_items);
        return NULL;
    }
    if (n < l->info.min_items)
        issues_addf(&c->is, c->path, "Array must contain at least %zu element(s)", l->info.min_items);
    json_t *rows = NULL; /* created at the first row that differs from its input */
    for (size_t i = 0; i < n && !issues_full(&c->is); i++) {
        const json_t *item = json_array_get(v, i);
        size_t mark = path_push_index(c, i);
        json_t *row = NULL;
        if (!json_is_object(item))
            issues_addf(&c->is, c->path, "Expected object, received %s", errmsg_json_type(item));
        else
            row = validate_members(c, l->node, item);
        path_pop(c, mark);
        if (!c->build)
            continue;
        if (!rows && row != item) {
            rows = json_array();
            for (size_t j = 0; j < i; j++)
                json_array_append(rows, json_array_get(v, j));
        }
        if (rows)
            json_array_append_new(rows, row);
        else
            json_decref(row);
    }
    if (!c->build)
        return NULL;
    return rows ? rows : json_incref((json_t *)v);
}

/* MANIFEST_STRICT: every key of obj the node does not declare is an issue at its own path. */
static void report_unknown(vctx_t *c, const mf_node_t *node, const json_t *obj)
{
    const char *key;
    size_t len;
    json_t *v;
    json_object_keylen_foreach((json_t *)obj, key, len, v)
    {
        if (issues_full(&c->is))
            return;
        if (mf_node_child(node, key, len))
            continue;
        /* Show at most MANIFEST_SHOWN_KEY_MAX bytes, never past a NUL or mid-character. */
        size_t shown = strfmt_utf8_prefix(key, strnlen(key, len), MANIFEST_SHOWN_KEY_MAX);
        const char *ellipsis = shown < len ? "..." : "";
        char name[MANIFEST_SHOWN_KEY_MAX + 4];
        snprintf(name, sizeof name, "%.*s%s", (int)shown, key, ellipsis);
        size_t mark = path_push(c, name, strlen(name));
        issues_addf(&c->is, c->path, "Unrecognized key(s) in object: '%s'", name);
        path_pop(c, mark);
    }
}

static json_t *validate_members(vctx_t *c, const mf_node_t *node, const json_t *obj)
{
    json_t *small[32], **vals = small;
    if (c->build && node->nchildren > 32 && !(vals = calloc(node->nchildren, sizeof *vals))) {
        issues_add(&c->is, NULL, "Out of memory");
        return NULL;
    }
    size_t present = 0, filled = 0;
    bool same = obj != NULL;
    for (; filled < node->nchildren && !issues_full(&c->is); filled++) {
        const mf_node_t *ch = node->children[filled];
        const json_t *v = obj ? json_object_getn(obj, ch->name, ch->name_len) : NULL;
        size_t mark = path_push(c, ch->name, ch->name_len);
        json_t *out = NULL;
        switch (ch->kind) {
        case MF_FIELD: out = validate_field(c, ch->field, v); break;
        case MF_OBJECT: out = validate_object(c, ch, v); break;
        case MF_LOOP: out = validate_loop(c, ch->loop, v); break;
        }
        path_pop(c, mark);
        present += v != NULL;
        same = same && out == v;
        if (c->build)
            vals[filled] = out;
    }
    if (obj && (c->flags & MANIFEST_STRICT))
        report_unknown(c, node, obj);
    if (!c->build)
        return NULL;
    json_t *result = NULL;
    if (issues_any(&c->is)) {
        /* The data is rejected: nothing will use a copy. */
        for (size_t i = 0; i < filled; i++)
            json_decref(vals[i]);
    } else if (same && json_object_size(obj) == present) {
        result = json_incref((json_t *)obj);
        for (size_t i = 0; i < filled; i++)
            json_decref(vals[i]);
    } else {
        result = json_object();
        for (size_t i = 0; i < filled; i++) {
            if (vals[i])
                json_object_setn_new_nocheck(result, node->children[i]->name, node->children[i]->name_len,
                                             vals[i]);
        }
    }
    if (vals != small)
        free(vals);
    return result;
}

int manifest_validate(const manifest_t *m, const json_t *data, unsigned flags, json_t **normalised,
                      json_t **issues)
{
    vctx_t ctx, *c = &ctx;
    json_t *out = NULL;
    if (normalised)
        *normalised = NULL;
    if (issues)
        *issues = NULL;
    c->flags = flags;
    c->build = normalised != NULL;
    c->budget = MANIFEST_PATTERN_BUDGET;
    c->plen = 0;
    c->path[0] = '\0';
    issues_init(&c->is, MANIFEST_ISSUES_MAX);
    if (!data) {
        issues_add(&c->is, NULL, "Required");
    } else if (!json_is_object(data)) {
        issues_addf(&c->is, NULL, "Expected object, received %s", errmsg_json_type(data));
    } else {
        out = validate_members(c, m->root, data);
    }
    int rc = 0;
    if (issues_any(&c->is)) {
        json_decref(out);
        if (issues)
            *issues = issues_take(&c->is);
        rc = -1;
    } else if (normalised) {
        *normalised = out;
    }
    issues_free(&c->is);
    return rc;
}
