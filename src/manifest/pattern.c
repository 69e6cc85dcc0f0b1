/*
 * pattern — an ECMAScript-subset regular expression compiler and a Pike-VM matcher.
 * See pattern.h for the dialect. The source is parsed into a small AST, then compiled to NFA
 * instructions; counted repetition is expanded, which is why the program size is capped.
 */
#include "manifest/pattern.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"

#define CP_MAX 0x10FFFFu
#define CP_EOF UINT32_MAX  /* "no character": before the start or after the end */
#define REPEAT_INF INT_MAX /* {n,} */

typedef struct {
    uint32_t lo, hi;
} prange_t;
typedef struct {
    size_t start, count;
} pclass_t;

enum { N_EMPTY, N_CHAR, N_ANY, N_CLASS, N_CAT, N_ALT, N_REPEAT, N_BOL, N_EOL, N_WORDB, N_NWORDB };

typedef struct node {
    int type;
    uint32_t ch;  /* N_CHAR */
    size_t cls;   /* N_CLASS */
    int a, b;     /* N_CAT/N_ALT children; N_REPEAT child in a */
    int min, max; /* N_REPEAT; max == REPEAT_INF for unbounded */
} node_t;

enum { I_CHAR, I_ANY, I_CLASS, I_SPLIT, I_JMP, I_BOL, I_EOL, I_WORDB, I_NWORDB, I_MATCH };

typedef struct inst {
    uint8_t op;
    uint32_t arg; /* I_CHAR code point, I_CLASS class index */
    int32_t x, y; /* I_SPLIT targets, I_JMP target in x */
} inst_t;

struct pattern {
    inst_t *prog;
    size_t nprog;
    prange_t *ranges;
    pclass_t *classes;
    size_t nclasses;
};

/* ---------------------------------------------------------------------------------------- */
/* UTF-8 */

/* Decodes one code point; returns the bytes used, or 0 when the sequence is invalid. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (len == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > CP_MAX || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

/* ---------------------------------------------------------------------------------------- */
/* Parser */

typedef struct parser {
    const char *s;
    size_t len, pos;
    node_t *nodes;
    size_t nn, ncap;
    prange_t *ranges;
    size_t nr, rcap;
    pclass_t *classes;
    size_t nc, ccap;
    int depth;
    char *err;
    bool failed;
} parser_t;

static int fail_at(parser_t *p, size_t at, const char *what)
{
    if (!p->failed) {
        p->failed = true;
        errmsg_fail(p->err, PATTERN_ERR_MAX, "%s at offset %zu", what, at);
    }
    return -1;
}

/* Makes room for one more element in *arr (count n, capacity *cap). */
static bool grow(parser_t *p, void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t want = *cap ? *cap * 2 : 16;
    void *a = realloc(*arr, want * size);
    if (!a) {
        fail_at(p, p->pos, "out of memory");
        return false;
    }
    *arr = a;
    *cap = want;
    return true;
}

static int new_node(parser_t *p, int type)
{
    if (p->failed || !grow(p, (void **)&p->nodes, p->nn, &p->ncap, sizeof *p->nodes))
        return -1;
    node_t *n = &p->nodes[p->nn];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->a = n->b = -1;
    return (int)p->nn++;
}

static int new_pair(parser_t *p, int type, int a, int b)
{
    int n = new_node(p, type);
    if (n >= 0) {
        p->nodes[n].a = a;
        p->nodes[n].b = b;
    }
    return n;
}

static bool add_range(parser_t *p, uint32_t lo, uint32_t hi)
{
    if (!grow(p, (void **)&p->ranges, p->nr, &p->rcap, sizeof *p->ranges))
        return false;
    p->ranges[p->nr++] = (prange_t){lo, hi};
    return true;
}

static int cmp_range(const void *a, const void *b)
{
    const prange_t *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges ranges [start, p->nr); complements them when negate. */
static void normalise_ranges(parser_t *p, size_t start, bool negate)
{
    size_t n = p->nr - start, out = 0;
    if (n == 0) { /* [] matches nothing, [^] anything */
        if (negate)
            add_range(p, 0, CP_MAX);
        return;
    }
    prange_t *r = p->ranges + start;
    qsort(r, n, sizeof *r, cmp_range);
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && r[i].lo <= r[out - 1].hi + 1) {
            if (r[i].hi > r[out - 1].hi)
                r[out - 1].hi = r[i].hi;
        } else {
            r[out++] = r[i];
        }
    }
    p->nr = start + out;
    if (!negate)
        return;
    /* Complement in place via a copy of the merged list. */
    prange_t *copy = malloc((out ? out : 1) * sizeof *copy);
    if (!copy) {
        fail_at(p, p->pos, "out of memory");
        return;
    }
    memcpy(copy, r, out * sizeof *copy);
    p->nr = start;
    uint32_t next = 0;
    for (size_t i = 0; i < out && !p->failed; i++) {
        if (copy[i].lo > next)
            add_range(p, next, copy[i].lo - 1);
        next = copy[i].hi + 1;
    }
    if (next <= CP_MAX && !p->failed)
        add_range(p, next, CP_MAX);
    free(copy);
}

/* Starts a class; its ranges are those appended until finish_class(). */
static size_t begin_class(parser_t *p)
{
    return p->nr;
}

static int finish_class(parser_t *p, size_t start, bool negate)
{
    normalise_ranges(p, start, negate);
    if (p->failed || !grow(p, (void **)&p->classes, p->nc, &p->ccap, sizeof *p->classes))
        return -1;
    p->classes[p->nc] = (pclass_t){start, p->nr - start};
    int n = new_node(p, N_CLASS);
    if (n >= 0)
        p->nodes[n].cls = p->nc;
    p->nc++;
    return n;
}

/* The class escapes \d \w \s as ranges; upper case letters complement them. */
static void add_class_escape(parser_t *p, char which)
{
    static const prange_t digit[] = {{'0', '9'}};
    static const prange_t word[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    /* ECMAScript WhiteSpace and LineTerminator code points. */
    static const prange_t space[] = {{0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680},
                                     {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
                                     {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
    const prange_t *set;
    size_t n;
    switch (which | 0x20) {
    case 'd': set = digit, n = sizeof digit / sizeof *digit; break;
    case 'w': set = word, n = sizeof word / sizeof *word; break;
    default: set = space, n = sizeof space / sizeof *space; break;
    }
    bool negate = which >= 'A' && which <= 'Z';
    if (!negate) {
        for (size_t i = 0; i < n; i++)
            add_range(p, set[i].lo, set[i].hi);
        return;
    }
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (set[i].lo > next)
            add_range(p, next, set[i].lo - 1);
        next = set[i].hi + 1;
    }
    add_range(p, next, CP_MAX);
}

static int hexval(char c)
{
    if (!isxdigit((unsigned char)c))
        return -1;
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Reads exactly n hex digits; returns the value or -1. */
static long read_hex(parser_t *p, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (p->pos >= p->len || hexval(p->s[p->pos]) < 0)
            return -1;
        v = v * 16 + hexval(p->s[p->pos++]);
    }
    return v;
}

static bool is_syntax_char(char c)
{
    return c && strchr("^$\\.*+?()[]{}|/", c) != NULL;
}

enum { ESC_CHAR, ESC_SET, ESC_ASSERT };

/* Parses the escape after a backslash (p->pos is past the backslash). Sets *cp for ESC_CHAR,
 * *set to the letter for ESC_SET/ESC_ASSERT. Returns the kind or -1. Long because it is one switch
 * with a case per escape letter of the ECMA-262 syntax JSON Schema patterns use: read as a table. */
static int parse_escape(parser_t *p, bool in_class, uint32_t *cp, char *set)
{
    size_t at = p->pos - 1;
    if (p->pos >= p->len)
        return fail_at(p, at, "\\ at end of pattern");
    char c = p->s[p->pos++];
    switch (c) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S': *set = c; return ESC_SET;
    case 'b':
        if (in_class) {
            *cp = 0x08;
            return ESC_CHAR;
        }
        *set = c;
        return ESC_ASSERT;
    case 'B':
        if (in_class)
            return fail_at(p, at, "invalid escape \\B in a class");
        *set = c;
        return ESC_ASSERT;
    case 't': *cp = 0x09; return ESC_CHAR;
    case 'n': *cp = 0x0A; return ESC_CHAR;
    case 'v': *cp = 0x0B; return ESC_CHAR;
    case 'f': *cp = 0x0C; return ESC_CHAR;
    case 'r': *cp = 0x0D; return ESC_CHAR;
    case 'c': {
        char l = p->pos < p->len ? p->s[p->pos] : 0;
        if (!((l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z')))
            return fail_at(p, at, "invalid \\c escape");
        p->pos++;
        *cp = (uint32_t)(l % 32);
        return ESC_CHAR;
    }
    case '0':
        if (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
            return fail_at(p, at, "invalid octal escape");
        *cp = 0;
        return ESC_CHAR;
    case 'x': {
        long v = read_hex(p, 2);
        if (v < 0)
            return fail_at(p, at, "invalid \\x escape");
        *cp = (uint32_t)v;
        return ESC_CHAR;
    }
    case 'u': {
        if (p->pos < p->len && p->s[p->pos] == '{') {
            p->pos++;
            uint32_t v = 0;
            size_t digits = 0;
            while (p->pos < p->len && hexval(p->s[p->pos]) >= 0) {
                v = v * 16 + (uint32_t)hexval(p->s[p->pos++]);
                if (v > CP_MAX)
                    return fail_at(p, at, "\\u{...} beyond U+10FFFF");
                digits++;
            }
            if (digits == 0 || p->pos >= p->len || p->s[p->pos] != '}')
                return fail_at(p, at, "invalid \\u{...} escape");
            p->pos++;
            *cp = v;
            return ESC_CHAR;
        }
        long v = read_hex(p, 4);
        if (v < 0)
            return fail_at(p, at, "invalid \\u escape");
        /* A surrogate pair written as two escapes is one code point in "u" mode. */
        if (v >= 0xD800 && v <= 0xDBFF && p->pos + 6 <= p->len && p->s[p->pos] == '\\' &&
            p->s[p->pos + 1] == 'u') {
            size_t save = p->pos;
            p->pos += 2;
            long lo = read_hex(p, 4);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                *cp = 0x10000 + (((uint32_t)v - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                return ESC_CHAR;
            }
            p->pos = save;
        }
        *cp = (uint32_t)v;
        return ESC_CHAR;
    }
    case '-':
        if (in_class) {
            *cp = '-';
            return ESC_CHAR;
        }
        return fail_at(p, at, "invalid escape");
    case 'p':
    case 'P': return fail_at(p, at, "Unicode property escapes are not supported");
    case 'k': return fail_at(p, at, "named backreferences are not supported");
    default:
        if (c >= '1' && c <= '9')
            return fail_at(p, at, "backreferences are not supported");
        if (is_syntax_char(c)) {
            *cp = (unsigned char)c;
            return ESC_CHAR;
        }
        return fail_at(p, at, "invalid escape");
    }
}

/* Reads one literal code point from the source. */
static bool read_cp(parser_t *p, uint32_t *cp)
{
    size_t n = utf8_decode((const unsigned char *)p->s + p->pos, p->len - p->pos, cp);
    if (n == 0) {
        fail_at(p, p->pos, "invalid UTF-8");
        return false;
    }
    p->pos += n;
    return true;
}

/* One element of a class: a code point (returns 0) or a class escape (returns 1, added). */
static int parse_class_atom(parser_t *p, uint32_t *cp)
{
    if (p->s[p->pos] == '\\') {
        p->pos++;
        char set;
        int kind = parse_escape(p, true, cp, &set);
        if (kind < 0)
            return -1;
        if (kind == ESC_SET) {
            add_class_escape(p, set);
            return 1;
        }
        return 0;
    }
    return read_cp(p, cp) ? 0 : -1;
}

static int parse_class(parser_t *p)
{
    size_t at = p->pos++; /* '[' */
    bool negate = false;
    if (p->pos < p->len && p->s[p->pos] == '^') {
        negate = true;
        p->pos++;
    }
    size_t start = begin_class(p);
    for (;;) {
        if (p->pos >= p->len)
            return fail_at(p, at, "unterminated character class");
        if (p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        size_t atom_at = p->pos;
        uint32_t lo, hi;
        int kind = parse_class_atom(p, &lo);
        if (kind < 0)
            return -1;
        if (p->pos + 1 < p->len && p->s[p->pos] == '-' && p->s[p->pos + 1] != ']') {
            p->pos++;
            int kind2 = parse_class_atom(p, &hi);
            if (kind2 < 0)
                return -1;
            if (kind == 1 || kind2 == 1)
                return fail_at(p, atom_at, "invalid character class range");
            if (lo > hi)
                return fail_at(p, atom_at, "range out of order in character class");
            if (!add_range(p, lo, hi))
                return -1;
        } else if (kind == 0 && !add_range(p, lo, lo)) {
            return -1;
        }
    }
    return finish_class(p, start, negate);
}

static int parse_alt(parser_t *p);

static bool at_quantifier(const parser_t *p)
{
    if (p->pos >= p->len)
        return false;
    char c = p->s[p->pos];
    return c == '*' || c == '+' || c == '?' || c == '{';
}

/* Reads a decimal bound of a {n,m} quantifier; -1 when absent, -2 when too large. */
static int read_bound(parser_t *p)
{
    if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return -1;
    long v = 0;
    bool big = false;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        v = v * 10 + (p->s[p->pos++] - '0');
        if (v > PATTERN_REPEAT_MAX) {
            big = true;
            v = PATTERN_REPEAT_MAX + 1;
        }
    }
    return big ? -2 : (int)v;
}

/* Parses a quantifier at p->pos into min and max. */
static int parse_quantifier(parser_t *p, int *min, int *max)
{
    size_t at = p->pos;
    char c = p->s[p->pos++];
    if (c == '*') {
        *min = 0, *max = REPEAT_INF;
    } else if (c == '+') {
        *min = 1, *max = REPEAT_INF;
    } else if (c == '?') {
        *min = 0, *max = 1;
    } else {
        int n = read_bound(p), m = n;
        if (n == -1)
            return fail_at(p, at, "incomplete quantifier");
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            m = (p->pos < p->len && p->s[p->pos] == '}') ? REPEAT_INF : read_bound(p);
            if (m == -1)
                return fail_at(p, at, "incomplete quantifier");
        }
        if (p->pos >= p->len || p->s[p->pos] != '}')
            return fail_at(p, at, "incomplete quantifier");
        p->pos++;
        if (n == -2 || m == -2)
            return fail_at(p, at,
                           "quantifier bound above "
                           "1000");
        if (m != REPEAT_INF && n > m)
            return fail_at(p, at, "numbers out of order in {} quantifier");
        *min = n, *max = m;
    }
    if (p->pos < p->len && p->s[p->pos] == '?')
        p->pos++; /* lazy: the same set of matching strings */
    return 0;
}

/* An atom; *assertion tells whether it matched no character (cannot be quantified). */
static int parse_atom(parser_t *p, bool *assertion)
{
    size_t at = p->pos;
    char c = p->s[p->pos];
    *assertion = false;
    switch (c) {
    case '*':
    case '+':
    case '?': return fail_at(p, at, "nothing to repeat");
    case '{':
    case '}': return fail_at(p, at, "lone quantifier bracket");
    case ']': return fail_at(p, at, "lone ]");
    case '[': return parse_class(p);
    case '.': p->pos++; return new_node(p, N_ANY);
    case '^':
    case '$':
        p->pos++;
        *assertion = true;
        return new_node(p, c == '^' ? N_BOL : N_EOL);
    case '(': {
        p->pos++;
        if (p->pos < p->len && p->s[p->pos] == '?') {
            if (p->pos + 1 < p->len && p->s[p->pos + 1] == ':')
                p->pos += 2;
            else
                return fail_at(p, at, "lookaround and named groups are not supported");
        }
        if (++p->depth > PATTERN_NESTING_MAX)
            return fail_at(p, at, "groups nested too deeply");
        int inner = parse_alt(p);
        p->depth--;
        if (inner < 0)
            return -1;
        if (p->pos >= p->len || p->s[p->pos] != ')')
            return fail_at(p, at, "unterminated group");
        p->pos++;
        return inner;
    }
    case '\\': {
        p->pos++;
        uint32_t cp = 0;
        char set = 0;
        int kind = parse_escape(p, false, &cp, &set);
        if (kind < 0)
            return -1;
        if (kind == ESC_ASSERT) {
            *assertion = true;
            return new_node(p, set == 'b' ? N_WORDB : N_NWORDB);
        }
        if (kind == ESC_SET) {
            size_t start = begin_class(p);
            add_class_escape(p, set);
            return finish_class(p, start, false);
        }
        int n = new_node(p, N_CHAR);
        if (n >= 0)
            p->nodes[n].ch = cp;
        return n;
    }
    default: {
        uint32_t cp;
        if (!read_cp(p, &cp))
            return -1;
        int n = new_node(p, N_CHAR);
        if (n >= 0)
            p->nodes[n].ch = cp;
        return n;
    }
    }
}

static int parse_term(parser_t *p)
{
    bool assertion;
    int atom = parse_atom(p, &assertion);
    if (atom < 0)
        return -1;
    if (!at_quantifier(p))
        return atom;
    if (assertion)
        return fail_at(p, p->pos, "nothing to repeat");
    int min, max;
    if (parse_quantifier(p, &min, &max) < 0)
        return -1;
    if (at_quantifier(p))
        return fail_at(p, p->pos, "nothing to repeat");
    int n = new_pair(p, N_REPEAT, atom, -1);
    if (n >= 0) {
        p->nodes[n].min = min;
        p->nodes[n].max = max;
    }
    return n;
}

static int parse_cat(parser_t *p)
{
    int left = -1;
    while (p->pos < p->len && p->s[p->pos] != '|' && p->s[p->pos] != ')') {
        int t = parse_term(p);
        if (t < 0)
            return -1;
        left = left < 0 ? t : new_pair(p, N_CAT, left, t);
        if (left < 0)
            return -1;
    }
    return left < 0 ? new_node(p, N_EMPTY) : left;
}

static int parse_alt(parser_t *p)
{
    int left = parse_cat(p);
    while (left >= 0 && p->pos < p->len && p->s[p->pos] == '|') {
        p->pos++;
        int right = parse_cat(p);
        if (right < 0)
            return -1;
        left = new_pair(p, N_ALT, left, right);
    }
    return left;
}

/* ---------------------------------------------------------------------------------------- */
/* Compiler */

/* Instructions node n needs; saturates above PATTERN_PROGRAM_MAX. */
static uint64_t prog_size(const parser_t *p, int n)
{
    const uint64_t cap = PATTERN_PROGRAM_MAX + 1;
    const node_t *x = &p->nodes[n];
    uint64_t a, total;
    switch (x->type) {
    case N_EMPTY: return 0;
    case N_CAT: total = prog_size(p, x->a) + prog_size(p, x->b); break;
    case N_ALT: total = prog_size(p, x->a) + prog_size(p, x->b) + 2; break;
    case N_REPEAT:
        a = prog_size(p, x->a);
        total = (uint64_t)x->min * a;
        total += x->max == REPEAT_INF ? a + 2 : (uint64_t)(x->max - x->min) * (a + 1);
        break;
    default: return 1;
    }
    return total > cap ? cap : total;
}

typedef struct emitter {
    inst_t *prog;
    int32_t pc;
} emitter_t;

static int32_t emit_op(emitter_t *e, uint8_t op, uint32_t arg)
{
    e->prog[e->pc] = (inst_t){.op = op, .arg = arg, .x = -1, .y = -1};
    return e->pc++;
}

static void emit(emitter_t *e, const parser_t *p, int n)
{
    const node_t *x = &p->nodes[n];
    switch (x->type) {
    case N_EMPTY: break;
    case N_CHAR: emit_op(e, I_CHAR, x->ch); break;
    case N_ANY: emit_op(e, I_ANY, 0); break;
    case N_CLASS: emit_op(e, I_CLASS, (uint32_t)x->cls); break;
    case N_BOL: emit_op(e, I_BOL, 0); break;
    case N_EOL: emit_op(e, I_EOL, 0); break;
    case N_WORDB: emit_op(e, I_WORDB, 0); break;
    case N_NWORDB: emit_op(e, I_NWORDB, 0); break;
    case N_CAT:
        emit(e, p, x->a);
        emit(e, p, x->b);
        break;
    case N_ALT: {
        int32_t split = emit_op(e, I_SPLIT, 0);
        e->prog[split].x = e->pc;
        emit(e, p, x->a);
        int32_t jmp = emit_op(e, I_JMP, 0);
        e->prog[split].y = e->pc;
        emit(e, p, x->b);
        e->prog[jmp].x = e->pc;
        break;
    }
    case N_REPEAT: {
        for (int i = 0; i < x->min; i++)
            emit(e, p, x->a);
        if (x->max == REPEAT_INF) {
            int32_t split = emit_op(e, I_SPLIT, 0);
            e->prog[split].x = e->pc;
            emit(e, p, x->a);
            int32_t jmp = emit_op(e, I_JMP, 0);
            e->prog[jmp].x = split;
            e->prog[split].y = e->pc;
            break;
        }
        /* Optional copies: each split may skip to the end of the whole chain. */
        int32_t first = e->pc;
        for (int i = x->min; i < x->max; i++) {
            int32_t split = emit_op(e, I_SPLIT, 0);
            e->prog[split].x = e->pc;
            emit(e, p, x->a);
        }
        for (int32_t pc = first; pc < e->pc; pc++) {
            /* Only the chain's own splits still have y unset (-1): inner ones were patched. */
            if (e->prog[pc].op == I_SPLIT && e->prog[pc].y == -1)
                e->prog[pc].y = e->pc;
        }
        break;
    }
    }
}

pattern_t *pattern_compile(const char *src, size_t len, char err[PATTERN_ERR_MAX])
{
    parser_t p = {.s = src, .len = len, .err = err};
    pattern_t *pat = NULL;
    err[0] = '\0';
    if (len > PATTERN_SOURCE_MAX) {
        errmsg_fail(err, PATTERN_ERR_MAX, "pattern longer than %d bytes", PATTERN_SOURCE_MAX);
        goto fail;
    }
    if (memchr(src, '\0', len)) {
        errmsg_fail(err, PATTERN_ERR_MAX, "pattern contains a NUL byte");
        goto fail;
    }
    int root = parse_alt(&p);
    if (root >= 0 && p.pos < p.len)
        root = fail_at(&p, p.pos, "unmatched )");
    if (root < 0 || p.failed)
        goto fail;
    uint64_t size = prog_size(&p, root) + 1;
    if (size > PATTERN_PROGRAM_MAX) {
        errmsg_fail(err, PATTERN_ERR_MAX, "pattern too complex (more than %d states)", PATTERN_PROGRAM_MAX);
        goto fail;
    }
    pat = calloc(1, sizeof *pat);
    if (!pat)
        goto nomem;
    pat->prog = malloc((size_t)size * sizeof *pat->prog);
    if (!pat->prog)
        goto nomem;
    emitter_t e = {.prog = pat->prog};
    emit(&e, &p, root);
    emit_op(&e, I_MATCH, 0);
    pat->nprog = (size_t)e.pc;
    pat->ranges = p.ranges;
    pat->classes = p.classes;
    pat->nclasses = p.nc;
    p.ranges = NULL;
    p.classes = NULL;
    free(p.nodes);
    return pat;
nomem:
    errmsg_fail(err, PATTERN_ERR_MAX, "out of memory");
fail:
    pattern_free(pat);
    free(p.nodes);
    free(p.ranges);
    free(p.classes);
    return NULL;
}

void pattern_free(pattern_t *p)
{
    if (!p)
        return;
    free(p->prog);
    free(p->ranges);
    free(p->classes);
    free(p);
}

size_t pattern_program_size(const pattern_t *p)
{
    return p->nprog;
}

/* ---------------------------------------------------------------------------------------- */
/* Matcher: a Pike VM without captures (we only need "does it match anywhere"). */

typedef struct tlist {
    int32_t *pcs;
    size_t n;
    uint32_t *mark;
    uint32_t gen;
} tlist_t;

static void tlist_clear(tlist_t *l, size_t nprog)
{
    l->n = 0;
    if (++l->gen == 0) { /* wrapped: forget every stale mark */
        memset(l->mark, 0, nprog * sizeof *l->mark);
        l->gen = 1;
    }
}

static bool is_word(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool in_class(const pattern_t *p, uint32_t cls, uint32_t c)
{
    size_t lo = 0, hi = p->classes[cls].count;
    if (hi == 0) /* [] (and then p->ranges may be NULL) */
        return false;
    const prange_t *r = p->ranges + p->classes[cls].start;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* Follows the empty transitions from pc at a position between prev and cur (CP_EOF at the
 * edges). Returns true when MATCH is reachable. */
static bool add_thread(const pattern_t *p, tlist_t *l, int32_t *stack, int32_t pc, uint32_t prev,
                       uint32_t cur, uint64_t *steps)
{
    size_t sp = 0;
    stack[sp++] = pc;
    while (sp > 0) {
        pc = stack[--sp];
        if (l->mark[pc] == l->gen)
            continue;
        l->mark[pc] = l->gen;
        (*steps)++;
        const inst_t *in = &p->prog[pc];
        bool wb;
        switch (in->op) {
        case I_MATCH: return true;
        case I_JMP: stack[sp++] = in->x; break;
        case I_SPLIT:
            stack[sp++] = in->y;
            stack[sp++] = in->x;
            break;
        case I_BOL:
            if (prev == CP_EOF)
                stack[sp++] = pc + 1;
            break;
        case I_EOL:
            if (cur == CP_EOF)
                stack[sp++] = pc + 1;
            break;
        case I_WORDB:
        case I_NWORDB:
            wb = (prev != CP_EOF && is_word(prev)) != (cur != CP_EOF && is_word(cur));
            if (wb == (in->op == I_WORDB))
                stack[sp++] = pc + 1;
            break;
        default: l->pcs[l->n++] = pc; break;
        }
    }
    return false;
}

/* Decodes the subject's code point at *pos (CP_EOF at the end); invalid bytes read as U+FFFD. */
static uint32_t next_cp(const char *s, size_t len, size_t *pos)
{
    if (*pos >= len)
        return CP_EOF;
    uint32_t cp;
    size_t n = utf8_decode((const unsigned char *)s + *pos, len - *pos, &cp);
    if (n == 0) {
        cp = 0xFFFD;
        n = 1;
    }
    *pos += n;
    return cp;
}

static bool step_consumes(const pattern_t *p, const inst_t *in, uint32_t c)
{
    switch (in->op) {
    case I_CHAR: return in->arg == c;
    case I_ANY: return c != 0x0A && c != 0x0D && c != 0x2028 && c != 0x2029;
    case I_CLASS: return in_class(p, in->arg, c);
    default: return false;
    }
}

#define STACK_PROG 256 /* programs up to this size match without allocating */

pattern_result_t pattern_match_budget(const pattern_t *p, const char *s, size_t len, uint64_t *budget)
{
    int32_t small_pcs[2][STACK_PROG], small_stack[2 * STACK_PROG + 2];
    uint32_t small_mark[2][STACK_PROG];
    size_t n = p->nprog;
    int32_t *pcs0 = small_pcs[0], *pcs1 = small_pcs[1], *stack = small_stack;
    uint32_t *mark0 = small_mark[0], *mark1 = small_mark[1];
    void *heap = NULL;
    if (n > STACK_PROG) {
        heap = calloc(n * 4 + 2 * n + 2, sizeof(uint32_t));
        if (!heap)
            return PATTERN_BUDGET_EXCEEDED; /* treat as "could not decide" */
        uint32_t *h = heap;
        mark0 = h, mark1 = h + n;
        pcs0 = (int32_t *)(h + 2 * n), pcs1 = (int32_t *)(h + 3 * n);
        stack = (int32_t *)(h + 4 * n);
    } else {
        memset(mark0, 0, n * sizeof *mark0);
        memset(mark1, 0, n * sizeof *mark1);
    }
    tlist_t a = {pcs0, 0, mark0, 0}, b = {pcs1, 0, mark1, 0};
    tlist_t *clist = &a, *nlist = &b;
    bool anchored = p->prog[0].op == I_BOL;
    uint64_t steps = 0;
    pattern_result_t result = PATTERN_NO_MATCH;
    size_t pos = 0;
    uint32_t prev = CP_EOF, cur = next_cp(s, len, &pos);
    tlist_clear(clist, n);
    for (;;) {
        if ((prev == CP_EOF || !anchored) && add_thread(p, clist, stack, 0, prev, cur, &steps)) {
            result = PATTERN_MATCH;
            break;
        }
        if (cur == CP_EOF || (clist->n == 0 && anchored))
            break;
        uint32_t next = next_cp(s, len, &pos);
        tlist_clear(nlist, n);
        bool matched = false;
        for (size_t i = 0; i < clist->n && !matched; i++) {
            const inst_t *in = &p->prog[clist->pcs[i]];
            steps++;
            if (step_consumes(p, in, cur))
                matched = add_thread(p, nlist, stack, clist->pcs[i] + 1, cur, next, &steps);
        }
        if (matched) {
            result = PATTERN_MATCH;
            break;
        }
        if (budget && steps > *budget) {
            result = PATTERN_BUDGET_EXCEEDED;
            break;
        }
        tlist_t *t = clist;
        clist = nlist;
        nlist = t;
        prev = cur;
        cur = next;
    }
    if (budget)
        *budget = steps > *budget ? 0 : *budget - steps;
    free(heap);
    return result;
}

bool pattern_match(const pattern_t *p, const char *subject, size_t len)
{
    return pattern_match_budget(p, subject, len, NULL) == PATTERN_MATCH;
}
