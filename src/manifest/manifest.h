/*
 * manifest — template manifests: compile the {"variables":[…],"loops":[…]} JSON once per
 * template version into an immutable form, validate render data against it (coerce, strip or
 * reject unknown keys, apply defaults, collect every error), emit the Draft-07 JSON Schema.
 * The user reference (every field, message and limit) is docs/manifest.md.
 *
 * Threads: manifest_compile() may run on any thread. A compiled manifest_t is immutable:
 * any number of threads may call manifest_validate(), manifest_json_schema(),
 * manifest_to_json() and the introspection functions on it at the same time.
 * Memory: manifest_compile() returns an object the caller frees with manifest_free(). Every
 * json_t ** out-parameter receives a new reference the caller owns (json_decref). The
 * normalised data shares with the input data, by reference count, every value that came out
 * unchanged: scalars, and whole objects/arrays in which nothing was coerced, defaulted or
 * stripped (clean data comes back as the input itself, which makes normalising nearly free).
 * Treat both as read-only, or json_deep_copy() before mutating either in place.
 * Pointers returned by the introspection functions live as long as the manifest.
 */
#ifndef CRAFTKIT_MANIFEST_MANIFEST_H
#define CRAFTKIT_MANIFEST_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Limits of a manifest (each violation is an issue naming the limit). */
#define MANIFEST_VARIABLES_MAX 1000       /* variables per manifest */
#define MANIFEST_LOOPS_MAX 100            /* loops per manifest */
#define MANIFEST_ITEM_FIELDS_MAX 200      /* itemFields per loop */
#define MANIFEST_KEY_MAX 200              /* characters in a key (whole dot path) */
#define MANIFEST_KEY_DEPTH_MAX 10         /* segments in a dot path */
#define MANIFEST_LABEL_MAX 200            /* characters in a label */
#define MANIFEST_FORMAT_MAX 60            /* characters in a format */
#define MANIFEST_ENUM_MAX 100             /* values in an enum */
#define MANIFEST_ENUM_VALUE_MAX 200       /* characters in one string enum value */
#define MANIFEST_PATTERN_STATES_MAX 50000 /* regex NFA states of all patterns together (~800 KB) */
/* Limits of data. */
#define MANIFEST_LOOP_ITEMS_MAX 10000     /* rows in a loop (hard cap, and the default maxItems) */
#define MANIFEST_TEXT_MAX 100000          /* characters in a text/longtext value (default maxLength) */
#define MANIFEST_ISSUES_MAX 100           /* field paths reported per validation (then a formErrors note) */
#define MANIFEST_PATH_MAX 4096            /* bytes in an issue path */
#define MANIFEST_SHOWN_KEY_MAX 100        /* bytes of an unknown key quoted in a message or path */
#define MANIFEST_PATTERN_BUDGET 50000000u /* regex steps per manifest_validate() call (~0.2 s) */

typedef struct manifest manifest_t; /* compiled, immutable; safe to share read-only across threads */

typedef enum {
    MANIFEST_OK = 0,
    MANIFEST_INVALID = 1,          /* → 400 invalid_request */
    MANIFEST_INVALID_LOOP_KEY = 2, /* → 400 invalid_loop_key (a loop key with a dot) */
} manifest_status_t;

/* Compiles a manifest JSON value. On failure returns NULL, sets *status and *issues =
 * {"formErrors":[...],"fieldErrors":{"manifest.variables.3.key":["Invalid key"],...}} (every
 * problem at once, up to MANIFEST_ISSUES_MAX paths; paths prefixed "manifest."; a NULL
 * manifest gives "manifest": ["Required"], so the API can pass json_object_get() straight
 * through). When any loop
 * key contains a dot the status is MANIFEST_INVALID_LOOP_KEY (issues list everything found).
 * issues may be NULL. On success *status = MANIFEST_OK and *issues = NULL. */
manifest_t *manifest_compile(const json_t *manifest, manifest_status_t *status, json_t **issues);
void manifest_free(manifest_t *m);

enum { MANIFEST_STRICT = 1 };

/* Validates data (must be an object) against m. Coerces (numeric strings → number for
 * number/currency; "true"/"false" → boolean), strips unknown keys — or, with MANIFEST_STRICT,
 * reports each one under its own full path as "Unrecognized key(s) in object: 'x'" — applies
 * defaults, checks every constraint and collects every error. Returns 0 and *normalised (nested
 * objects per dot path, loops as arrays of objects; NULL normalised = only check) or -1 and
 * *issues (flatten shape, full dot paths such as "customer.name" and "items.3.qty";
 * form-level errors in formErrors, e.g. ["Required"] for a NULL data; issues may be NULL). */
int manifest_validate(const manifest_t *m, const json_t *data, unsigned flags, json_t **normalised,
                      json_t **issues);

/* Draft-07 JSON Schema mirroring the nesting (required lists, format date/date-time/email/uri,
 * patterns that pin formats to the server's rules, maxLength/maxItems caps, defaults). Unknown
 * keys are allowed, as the server strips them. New reference. */
json_t *manifest_json_schema(const manifest_t *m);
/* Same; with MANIFEST_STRICT every object gets "additionalProperties": false. */
json_t *manifest_json_schema_ex(const manifest_t *m, unsigned flags);

/* The manifest as stored and returned by the API: what the user sent (validated), with
 * "variables" and "loops" always present (an absent one becomes []). New reference. */
json_t *manifest_to_json(const manifest_t *m);

/* ---- Introspection (for the engine, layout generation and the API) ---- */

typedef enum {
    MANIFEST_TEXT = 0,
    MANIFEST_LONGTEXT,
    MANIFEST_NUMBER,
    MANIFEST_CURRENCY,
    MANIFEST_DATE,
    MANIFEST_DATETIME,
    MANIFEST_BOOLEAN,
    MANIFEST_IMAGE,
    MANIFEST_URL,
    MANIFEST_EMAIL,
} manifest_type_t;

typedef struct manifest_field_info {
    const char *key;   /* as declared: "customer.name"; an item field's dot-free key */
    const char *label; /* NULL when absent */
    manifest_type_t type;
    bool required;
    const char *format;          /* the format spec as declared (NULL when absent): a template filter
                           * without braces, applied with engine/format.h format_manifest() */
    const json_t *default_value; /* NULL when absent (borrowed; do not modify) */
} manifest_field_info_t;

typedef struct manifest_loop_info {
    const char *key;
    const char *label; /* NULL when absent */
    size_t min_items;  /* 0 when absent */
    size_t max_items;  /* MANIFEST_LOOP_ITEMS_MAX when absent */
    size_t field_count;
} manifest_loop_info_t;

size_t manifest_variable_count(const manifest_t *m);
size_t manifest_loop_count(const manifest_t *m);
/* In declaration order; NULL when i is out of range. */
const manifest_field_info_t *manifest_variable(const manifest_t *m, size_t i);
const manifest_loop_info_t *manifest_loop(const manifest_t *m, size_t i);
const manifest_field_info_t *manifest_loop_field(const manifest_t *m, size_t loop, size_t i);
/* By key ("customer.name" / "items"); NULL when absent. */
const manifest_field_info_t *manifest_find_variable(const manifest_t *m, const char *key);
const manifest_loop_info_t *manifest_find_loop(const manifest_t *m, const char *key);
/* "text", "longtext", ... */
const char *manifest_type_name(manifest_type_t type);

#endif
