/* default_layout — engine_default_layout: a clean document generated from a manifest, for
 * templates published without a layout. Scalars become a two-column label/value table, image
 * variables become images, loops become tables with a header row. */
#include <stdio.h>
#include <string.h>

#include "craftkit/engine.h"

static const char *label_of(const json_t *def)
{
    json_t *l = json_object_get(def, "label");
    if (json_is_string(l) && json_string_length(l))
        return json_string_value(l);
    return json_string_value(json_object_get(def, "key"));
}

static bool is_numeric(const json_t *def)
{
    const char *t = json_string_value(json_object_get(def, "dataType"));
    return t && (!strcmp(t, "number") || !strcmp(t, "currency"));
}

/* A template string for a value, escaping nothing: keys match ^[A-Za-z_][A-Za-z0-9_.]*$. */
static json_t *binding(const char *prefix, const char *key)
{
    char buf[400];
    snprintf(buf, sizeof buf, "{{%s%s}}", prefix, key);
    return json_string(buf);
}

/* A label text as a template string: "{{" in a label must not become a binding. */
static json_t *literal(const char *s)
{
    char buf[600];
    size_t n = 0;
    for (const char *p = s; *p && n + 4 < sizeof buf; p++) {
        if (p[0] == '{' && p[1] == '{') {
            buf[n++] = '\\';
        }
        buf[n++] = *p;
    }
    buf[n] = '\0';
    return json_string(buf);
}

json_t *engine_default_layout(const json_t *manifest)
{
    json_t *body = json_array();
    json_t *rows = json_array();
    json_t *images = json_array();
    size_t i;
    json_t *def;
    json_array_foreach(json_object_get(manifest, "variables"), i, def)
    {
        const char *key = json_string_value(json_object_get(def, "key"));
        const char *type = json_string_value(json_object_get(def, "dataType"));
        if (!key)
            continue;
        if (type && !strcmp(type, "image")) {
            /* Optional images are skipped when absent rather than failing the render. */
            json_t *label =
                json_pack("{s:s,s:o,s:s}", "type", "text", "text", literal(label_of(def)), "style", "muted");
            json_t *img = json_pack("{s:s,s:o,s:f,s:s}", "type", "image", "src", binding("", key), "width",
                                    200.0, "fit", "contain");
            json_array_append_new(images, json_pack("{s:s,s:s,s:f,s:f,s:[o,o]}", "type", "stack", "if", key,
                                                    "gap", 4.0, "marginTop", 8.0, "children", label, img));
            continue;
        }
        json_array_append_new(rows, json_pack("[{s:o,s:s},o]", "text", literal(label_of(def)), "style",
                                              "muted", binding("", key)));
    }
    if (json_array_size(rows))
        json_array_append_new(body, json_pack("{s:s,s:[{s:s},{s:s}],s:s,s:o}", "type", "table", "columns",
                                              "width", "35%", "width", "*", "borders", "rows", "rows", rows));
    else
        json_decref(rows);
    json_array_extend(body, images);
    json_decref(images);
    json_array_foreach(json_object_get(manifest, "loops"), i, def)
    {
        const char *key = json_string_value(json_object_get(def, "key"));
        if (!key)
            continue;
        json_t *cols = json_array();
        size_t j;
        json_t *f;
        json_array_foreach(json_object_get(def, "itemFields"), j, f)
        {
            const char *fk = json_string_value(json_object_get(f, "key"));
            if (!fk)
                continue;
            const char *type = json_string_value(json_object_get(f, "dataType"));
            /* Text gets the room; numbers, dates and flags need little. */
            bool wide = !type || !strcmp(type, "text") || !strcmp(type, "longtext") ||
                        !strcmp(type, "email") || !strcmp(type, "url");
            json_t *col = json_pack("{s:s,s:o,s:o}", "width", wide ? "3*" : "*", "header",
                                    literal(label_of(f)), "cell", binding("item.", fk));
            if (is_numeric(f))
                json_object_set_new(col, "align", json_string("right"));
            if (type && !strcmp(type, "image")) {
                json_object_set_new(
                    col, "cell",
                    json_pack("{s:s,s:o,s:f}", "type", "image", "src", binding("item.", fk), "height", 40.0));
            }
            json_array_append_new(cols, col);
        }
        if (!json_array_size(cols)) {
            json_decref(cols);
            continue;
        }
        json_array_append_new(body, json_pack("{s:s,s:o,s:i,s:f}", "type", "heading", "text",
                                              literal(label_of(def)), "level", 2, "marginTop", 16.0));
        json_array_append_new(body,
                              json_pack("{s:s,s:s,s:o,s:s,s:s}", "type", "table", "each", key, "columns",
                                        cols, "headerBackground", "#f3f4f6", "borders", "rows"));
    }
    json_t *footer =
        json_pack("[{s:s,s:s,s:s,s:f,s:s,s:f}]", "type", "text", "text", "Page {{page}} of {{pages}}",
                  "align", "center", "fontSize", 8.0, "color", "#6b7280", "marginTop", 8.0);
    return json_pack("{s:i,s:{s:s,s:s},s:o,s:o}", "version", 1, "page", "size", "A4", "margins", "20mm",
                     "footer", footer, "body", body);
}
