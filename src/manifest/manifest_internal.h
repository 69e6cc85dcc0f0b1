/*
 * manifest_internal — the compiled form shared by manifest.c (compiler), validate.c and
 * schema.c. Not for use outside src/manifest/.
 *
 * A compiled manifest is a tree mirroring the data: the root is an object node; each dot path
 * segment is an object node; each variable is a field leaf; each loop is a loop node whose
 * children are its item fields. Validation walks this tree (bounded depth), never the data,
 * so arbitrarily deep data costs nothing and cannot exhaust the stack.
 */
#ifndef CRAFTKIT_MANIFEST_INTERNAL_H
#define CRAFTKIT_MANIFEST_INTERNAL_H

#include <stdint.h>

#include "manifest/issues.h"
#include "manifest/manifest.h"
#include "manifest/pattern.h"

/* A borrowed string with its length (JSON strings may contain NUL). */
typedef struct mf_sref {
    const char *s;
    size_t len;
} mf_sref_t;

typedef struct mf_enum {
    size_t count;
    json_t *values;  /* the declared array (for the schema) */
    mf_sref_t *strs; /* string enums: sorted by mf_name_cmp() */
    double *nums;    /* number enums: sorted */
    char *expected;  /* "'a' | 'b'" / "1 | 2" for the message */
} mf_enum_t;

typedef struct mf_field {
    manifest_field_info_t info; /* public view */
    const char *name;           /* last path segment */
    size_t name_len;
    bool integer;
    bool has_min, has_max;
    double min, max;
    size_t min_len;
    size_t max_len;                /* effective: the user's maxLength or the type's cap */
    bool has_min_len, has_max_len; /* given by the user */
    pattern_t *pattern;
    char *pattern_src;
    mf_enum_t *enumv;
    json_t *default_value;
} mf_field_t;

typedef enum { MF_OBJECT, MF_FIELD, MF_LOOP } mf_kind_t;

struct mf_loop;

typedef struct mf_node {
    mf_kind_t kind;
    char *name;
    size_t name_len;
    struct mf_node **children; /* OBJECT: members; LOOP: item fields (FIELD nodes) */
    size_t nchildren, cap;
    struct mf_node **sorted; /* children sorted by name (strict-mode lookups) */
    mf_field_t *field;       /* FIELD */
    struct mf_loop *loop;    /* LOOP */
    bool has_required;       /* OBJECT: some descendant is required */
    bool has_default;        /* OBJECT: some descendant has a default */
} mf_node_t;

typedef struct mf_loop {
    manifest_loop_info_t info;
    mf_node_t *node; /* the LOOP node under the root */
    mf_field_t **fields;
} mf_loop_t;

struct manifest {
    mf_node_t *root;
    mf_field_t **vars;
    size_t nvars;
    mf_loop_t **loops;
    size_t nloops;
    json_t *source; /* manifest_to_json() */
};

/* Checks one value v (non-NULL) for field f, adding messages under path. With coerce, numeric
 * and boolean strings are converted. Returns true when valid; then *out (when out is non-NULL)
 * gets the normalised value (new reference). check_enum=false skips the enum (used to check the
 * enum's own values). budget: regex steps left (NULL = unlimited). */
bool mf_check_value(const mf_field_t *f, const json_t *v, bool coerce, bool check_enum, issues_t *is,
                    const char *path, json_t **out, uint64_t *budget);
/* Orders names by length, then bytes (any consistent order serves the binary searches). */
int mf_name_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* qsort/bsearch comparators for mf_sref_t and double arrays. */
int mf_cmp_sref(const void *a, const void *b);
int mf_cmp_double(const void *a, const void *b);
/* Finds a child by name in a node (binary search over node->sorted). */
const mf_node_t *mf_node_child(const mf_node_t *node, const char *name, size_t len);

#endif
