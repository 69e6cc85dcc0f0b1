/*
 * schema — manifest_json_schema(): the Draft-07 JSON Schema of a compiled manifest. It mirrors
 * the validator rule for rule (docs/manifest.md, "JSON Schema"); where a standard `format` is
 * looser than the server (date-time, email, uri) a `pattern` from strfmt.h pins it down, so a
 * client validating with the schema accepts exactly what the server accepts, coercion aside.
 */
#include <math.h>

#include "manifest/manifest_internal.h"
#include "manifest/strfmt.h"

static void set(json_t *obj, const char *key, json_t *value)
{
    json_object_set_new(obj, key, value);
}

/* A bound as an integer when it is one (5, not 5.0). */
static json_t *number(double d)
{
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* Adds a pattern; a second one goes into allOf (a schema has a single "pattern"). */
static void add_pattern(json_t *s, const char *pattern)
{
    if (!json_object_get(s, "pattern")) {
        set(s, "pattern", json_string(pattern));
        return;
    }
    json_t *all = json_object_get(s, "allOf");
    if (!all) {
        all = json_array();
        set(s, "allOf", all);
    }
    json_t *one = json_object();
    set(one, "pattern", json_string(pattern));
    json_array_append_new(all, one);
}

static void string_lengths(json_t *s, const mf_field_t *f)
{
    if (f->min_len > 0)
        set(s, "minLength", json_integer((json_int_t)f->min_len));
    set(s, "maxLength", json_integer((json_int_t)f->max_len));
}

static json_t *image_schema(void)
{
    json_t *url = json_object(), *data = json_object(), *any = json_array();
    set(url, "type", json_string("string"));
    set(url, "format", json_string("uri"));
    set(url, "pattern", json_string(STRFMT_URL_PATTERN));
    set(url, "maxLength", json_integer(STRFMT_URL_MAX));
    set(data, "type", json_string("string"));
    set(data, "pattern", json_string(STRFMT_IMAGE_DATA_PATTERN));
    set(data, "maxLength", json_integer(STRFMT_IMAGE_DATA_MAX));
    json_array_append_new(any, url);
    json_array_append_new(any, data);
    return any;
}

static json_t *field_schema(const mf_field_t *f)
{
    json_t *s = json_object();
    if (f->info.label)
        set(s, "title", json_string(f->info.label));
    switch (f->info.type) {
    case MANIFEST_NUMBER:
    case MANIFEST_CURRENCY:
        set(s, "type", json_string(f->integer ? "integer" : "number"));
        if (f->has_min)
            set(s, "minimum", number(f->min));
        if (f->has_max)
            set(s, "maximum", number(f->max));
        break;
    case MANIFEST_BOOLEAN: set(s, "type", json_string("boolean")); break;
    case MANIFEST_DATE: {
        /* A day or a timestamp: {"anyOf": [{"format": "date"}, {"format": "date-time", …}]}. */
        json_t *any = json_array();
        json_array_append_new(any, json_pack("{s:s}", "format", "date"));
        json_array_append_new(
            any, json_pack("{s:s, s:s}", "format", "date-time", "pattern", STRFMT_DATETIME_PATTERN));
        set(s, "type", json_string("string"));
        set(s, "anyOf", any);
        break;
    }
    case MANIFEST_DATETIME:
        set(s, "type", json_string("string"));
        set(s, "format", json_string("date-time"));
        add_pattern(s, STRFMT_DATETIME_PATTERN);
        break;
    case MANIFEST_EMAIL:
        set(s, "type", json_string("string"));
        set(s, "format", json_string("email"));
        add_pattern(s, STRFMT_EMAIL_PATTERN);
        string_lengths(s, f);
        break;
    case MANIFEST_URL:
        set(s, "type", json_string("string"));
        set(s, "format", json_string("uri"));
        add_pattern(s, STRFMT_URL_PATTERN);
        string_lengths(s, f);
        break;
    case MANIFEST_IMAGE:
        set(s, "type", json_string("string"));
        set(s, "anyOf", image_schema());
        break;
    case MANIFEST_TEXT:
    case MANIFEST_LONGTEXT:
        set(s, "type", json_string("string"));
        string_lengths(s, f);
        break;
    }
    if (f->pattern_src)
        add_pattern(s, f->pattern_src);
    if (f->enumv)
        set(s, "enum", json_deep_copy(f->enumv->values));
    if (f->default_value)
        set(s, "default", json_deep_copy(f->default_value));
    return s;
}

static json_t *object_schema(const mf_node_t *node, unsigned flags);

static json_t *loop_schema(const mf_loop_t *l, unsigned flags)
{
    json_t *s = json_object();
    if (l->info.label)
        set(s, "title", json_string(l->info.label));
    set(s, "type", json_string("array"));
    set(s, "items", object_schema(l->node, flags));
    if (l->info.min_items > 0)
        set(s, "minItems", json_integer((json_int_t)l->info.min_items));
    else
        set(s, "default", json_array());
    set(s, "maxItems", json_integer((json_int_t)l->info.max_items));
    return s;
}

static json_t *object_schema(const mf_node_t *node, unsigned flags)
{
    json_t *s = json_object(), *props = json_object(), *required = json_array();
    set(s, "type", json_string("object"));
    set(s, "properties", props);
    for (size_t i = 0; i < node->nchildren; i++) {
        const mf_node_t *ch = node->children[i];
        json_t *sub;
        bool req;
        switch (ch->kind) {
        case MF_FIELD:
            sub = field_schema(ch->field);
            req = ch->field->info.required;
            break;
        case MF_LOOP:
            sub = loop_schema(ch->loop, flags);
            req = ch->loop->info.min_items > 0;
            break;
        default:
            sub = object_schema(ch, flags);
            req = ch->has_required;
            break;
        }
        json_object_setn_new_nocheck(props, ch->name, ch->name_len, sub);
        if (req)
            json_array_append_new(required, json_stringn_nocheck(ch->name, ch->name_len));
    }
    if (json_array_size(required) > 0)
        set(s, "required", required);
    else
        json_decref(required);
    if (flags & MANIFEST_STRICT)
        set(s, "additionalProperties", json_false());
    return s;
}

json_t *manifest_json_schema_ex(const manifest_t *m, unsigned flags)
{
    json_t *root = json_object();
    set(root, "$schema", json_string("http://json-schema.org/draft-07/schema#"));
    json_t *body = object_schema(m->root, flags);
    json_object_update(root, body);
    json_decref(body);
    return root;
}

json_t *manifest_json_schema(const manifest_t *m)
{
    return manifest_json_schema_ex(m, 0);
}
