#include "engine/cfffix.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/grow.h"

#define DICT_ENTRIES_MAX 64
#define FDS_MAX 256
#define T2_STACK_MAX 96 /* Type 2 allows 48; be lenient with the fonts we are given */
#define T2_DEPTH_MAX 10
#define OP_ESC(x) (1200 + (x))

/* ------------------------------------------------------------------ parsing */

typedef struct font {
    const uint8_t *p;
    size_t n;
} font_t;

typedef struct cindex {
    size_t start, end; /* the whole INDEX */
    unsigned count, offsize;
    size_t offs, base; /* offset array; byte before the first element */
} cindex_t;

static uint32_t be(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int index_parse(const font_t *f, size_t pos, cindex_t *ix)
{
    memset(ix, 0, sizeof *ix);
    ix->start = pos;
    if (pos + 2 > f->n)
        return -1;
    ix->count = be(f->p + pos, 2);
    if (ix->count == 0) {
        ix->end = pos + 2;
        return 0;
    }
    if (pos + 3 > f->n)
        return -1;
    ix->offsize = f->p[pos + 2];
    if (ix->offsize < 1 || ix->offsize > 4)
        return -1;
    ix->offs = pos + 3;
    size_t arr = ((size_t)ix->count + 1) * ix->offsize;
    if (ix->offs + arr > f->n)
        return -1;
    ix->base = ix->offs + arr - 1;
    uint32_t last = be(f->p + ix->offs + (size_t)ix->count * ix->offsize, ix->offsize);
    if (last < 1 || ix->base + last > f->n)
        return -1;
    ix->end = ix->base + last;
    return 0;
}

/* Element i as [*a, *a + *len); -1 when its offsets are bad. */
static int index_get(const font_t *f, const cindex_t *ix, unsigned i, size_t *a, size_t *len)
{
    if (i >= ix->count)
        return -1;
    uint32_t o1 = be(f->p + ix->offs + (size_t)i * ix->offsize, ix->offsize);
    uint32_t o2 = be(f->p + ix->offs + (size_t)(i + 1) * ix->offsize, ix->offsize);
    if (o1 < 1 || o2 < o1 || ix->base + o2 > ix->end)
        return -1;
    *a = ix->base + o1;
    *len = o2 - o1;
    return 0;
}

typedef struct dent {
    int op;
    size_t a, o, e; /* operands [a, o), operator [o, e) */
    int nv;
    long v[4]; /* integer operands (reals read as 0) */
} dent_t;

typedef struct dict {
    int n;
    dent_t e[DICT_ENTRIES_MAX];
} dict_t;

static int dict_parse(const font_t *f, size_t a, size_t len, dict_t *d)
{
    d->n = 0;
    size_t p = a, end = a + len;
    if (end > f->n)
        return -1;
    dent_t cur = {.a = p};
    while (p < end) {
        uint8_t b = f->p[p];
        long v = 0;
        if (b <= 21) {
            cur.o = p;
            if (b == 12) {
                if (p + 1 >= end)
                    return -1;
                cur.op = OP_ESC(f->p[p + 1]);
                p += 2;
            } else {
                cur.op = b;
                p++;
            }
            cur.e = p;
            if (d->n == DICT_ENTRIES_MAX)
                return -1;
            d->e[d->n++] = cur;
            cur = (dent_t){.a = p};
            continue;
        }
        if (b == 28) {
            if (p + 3 > end)
                return -1;
            v = (int16_t)be(f->p + p + 1, 2);
            p += 3;
        } else if (b == 29) {
            if (p + 5 > end)
                return -1;
            v = (int32_t)be(f->p + p + 1, 4);
            p += 5;
        } else if (b == 30) {
            p++;
            while (p < end && (f->p[p] & 0x0f) != 0x0f && (f->p[p] & 0xf0) != 0xf0)
                p++;
            if (p >= end)
                return -1;
            p++;
        } else if (b >= 32 && b <= 246) {
            v = b - 139;
            p++;
        } else if (b >= 247 && b <= 250) {
            if (p + 2 > end)
                return -1;
            v = (b - 247) * 256 + f->p[p + 1] + 108;
            p += 2;
        } else if (b >= 251 && b <= 254) {
            if (p + 2 > end)
                return -1;
            v = -(b - 251) * 256 - f->p[p + 1] - 108;
            p += 2;
        } else {
            return -1;
        }
        if (cur.nv < 4)
            cur.v[cur.nv] = v;
        cur.nv++;
    }
    return 0;
}

static const dent_t *dict_find(const dict_t *d, int op)
{
    for (int i = 0; i < d->n; i++)
        if (d->e[i].op == op)
            return &d->e[i];
    return NULL;
}

/* A private DICT and its local subroutines. */
typedef struct priv {
    size_t a, len; /* the DICT */
    dict_t d;
    bool has_subrs;
    cindex_t subrs;
    const char *name; /* FontName of the FontDICT, NULL if none */
    size_t name_len;
} priv_t;

typedef struct cff {
    font_t f;
    size_t hdr;
    cindex_t names, topidx, strings, gsubrs;
    dict_t top;
    bool cid;
    cindex_t charstrings;
    int nprivs;
    priv_t *privs; /* one per FontDICT (CID) or the top private; malloc'd */
    cindex_t fdarray;
    dict_t *fds; /* malloc'd (CID) */
    size_t fdselect;
} cff_t;

static int sid_string(const cff_t *c, long sid, const char **s, size_t *len)
{
    if (sid < 391)
        return -1;
    size_t a;
    if (index_get(&c->f, &c->strings, (unsigned)(sid - 391), &a, len) < 0)
        return -1;
    *s = (const char *)c->f.p + a;
    return 0;
}

static int priv_parse(cff_t *c, const dict_t *owner, priv_t *pv)
{
    const dent_t *e = dict_find(owner, 18);
    memset(pv, 0, sizeof *pv);
    if (!e || e->nv != 2 || e->v[0] < 0 || e->v[1] < 0)
        return -1;
    pv->a = (size_t)e->v[1];
    pv->len = (size_t)e->v[0];
    if (pv->a + pv->len > c->f.n || dict_parse(&c->f, pv->a, pv->len, &pv->d) < 0)
        return -1;
    const dent_t *s = dict_find(&pv->d, 19);
    if (s && s->nv == 1 && s->v[0] > 0) {
        if (index_parse(&c->f, pv->a + (size_t)s->v[0], &pv->subrs) < 0)
            return -1;
        pv->has_subrs = true;
    }
    const dent_t *fn = dict_find(owner, OP_ESC(38));
    if (fn && fn->nv == 1)
        sid_string(c, fn->v[0], &pv->name, &pv->name_len);
    return 0;
}

static void cff_free(cff_t *c)
{
    free(c->privs);
    free(c->fds);
    c->privs = NULL;
    c->fds = NULL;
}

/* Parses the font's tables; cff_free releases what it allocates (also after a failure). */
static int cff_parse(const uint8_t *p, size_t n, cff_t *c)
{
    memset(c, 0, sizeof *c);
    c->f = (font_t){p, n};
    if (n < 4 || p[0] != 1)
        return -1;
    c->hdr = p[2];
    if (c->hdr < 4 || c->hdr > n)
        return -1;
    if (index_parse(&c->f, c->hdr, &c->names) < 0 || index_parse(&c->f, c->names.end, &c->topidx) < 0 ||
        index_parse(&c->f, c->topidx.end, &c->strings) < 0 ||
        index_parse(&c->f, c->strings.end, &c->gsubrs) < 0)
        return -1;
    size_t a, len;
    if (c->topidx.count != 1 || index_get(&c->f, &c->topidx, 0, &a, &len) < 0 ||
        dict_parse(&c->f, a, len, &c->top) < 0)
        return -1;
    const dent_t *cs = dict_find(&c->top, 17);
    if (!cs || cs->nv != 1 || cs->v[0] <= 0 || index_parse(&c->f, (size_t)cs->v[0], &c->charstrings) < 0)
        return -1;
    c->cid = dict_find(&c->top, OP_ESC(30)) != NULL;
    if (!c->cid) {
        c->privs = calloc(1, sizeof *c->privs);
        if (!c->privs)
            return -1;
        c->nprivs = 1;
        return priv_parse(c, &c->top, &c->privs[0]);
    }
    const dent_t *fa = dict_find(&c->top, OP_ESC(36)), *fs = dict_find(&c->top, OP_ESC(37));
    if (!fa || !fs || fa->nv != 1 || fs->nv != 1 || fa->v[0] <= 0 || fs->v[0] <= 0 ||
        index_parse(&c->f, (size_t)fa->v[0], &c->fdarray) < 0 || c->fdarray.count > FDS_MAX ||
        c->fdarray.count == 0)
        return -1;
    c->fdselect = (size_t)fs->v[0];
    c->privs = calloc(c->fdarray.count, sizeof *c->privs);
    c->fds = calloc(c->fdarray.count, sizeof *c->fds);
    if (!c->privs || !c->fds)
        return -1;
    c->nprivs = (int)c->fdarray.count;
    for (int i = 0; i < c->nprivs; i++) {
        if (index_get(&c->f, &c->fdarray, (unsigned)i, &a, &len) < 0 ||
            dict_parse(&c->f, a, len, &c->fds[i]) < 0 || priv_parse(c, &c->fds[i], &c->privs[i]) < 0)
            return -1;
    }
    return 0;
}

/* The FontDICT of glyph g; -1 when FDSelect is bad. */
static int fd_of(const cff_t *c, unsigned g)
{
    if (!c->cid)
        return 0;
    const uint8_t *p = c->f.p;
    size_t s = c->fdselect, n = c->f.n;
    if (s >= n)
        return -1;
    if (p[s] == 0)
        return s + 1 + g < n ? p[s + 1 + g] : -1;
    if (p[s] != 3 || s + 3 > n)
        return -1;
    unsigned nr = be(p + s + 1, 2);
    if (s + 3 + (size_t)nr * 3 + 2 > n)
        return -1;
    for (unsigned r = 0; r < nr; r++) {
        const uint8_t *q = p + s + 3 + (size_t)r * 3;
        unsigned first = be(q, 2), next = be(q + 3, 2);
        if (g >= first && g < next)
            return q[2];
    }
    return -1;
}

/* ---------------------------------------------------------- Type 2 walker */

typedef struct used {
    uint8_t *g;          /* global subroutines used */
    uint8_t *l[FDS_MAX]; /* local subroutines used, per source private */
    bool all_g, all_l[FDS_MAX];
} used_t;

typedef struct walk {
    const cff_t *src;
    const priv_t *pv;
    int srcfd;
    used_t *u;
    double st[T2_STACK_MAX];
    int sp;
    int hints;
    bool give_up;
} walk_t;

static int bias(unsigned count)
{
    return count < 1240 ? 107 : count < 33900 ? 1131 : 32768;
}

/* Runs a charstring or subroutine; 1 at endchar, 0 at return or its end, -1 when it cannot be
 * followed (the caller then keeps every subroutine). */
static int t2_run(walk_t *w, const font_t *f, size_t a, size_t len, int depth)
{
    const uint8_t *p = f->p + a, *end = p + len;
    while (p < end) {
        uint8_t b = *p;
        if (b >= 32 || b == 28) {
            double v;
            if (b == 28) {
                if (p + 3 > end)
                    return -1;
                v = (int16_t)be(p + 1, 2);
                p += 3;
            } else if (b <= 246) {
                v = b - 139;
                p++;
            } else if (b <= 250) {
                if (p + 2 > end)
                    return -1;
                v = (b - 247) * 256 + p[1] + 108;
                p += 2;
            } else if (b <= 254) {
                if (p + 2 > end)
                    return -1;
                v = -(b - 251) * 256 - p[1] - 108;
                p += 2;
            } else { /* 255: 16.16 fixed */
                if (p + 5 > end)
                    return -1;
                v = (int32_t)be(p + 1, 4) / 65536.0;
                p += 5;
            }
            if (w->sp == T2_STACK_MAX)
                return -1;
            w->st[w->sp++] = v;
            continue;
        }
        p++;
        switch (b) {
        case 1:
        case 3:
        case 18:
        case 23: /* stems */
            w->hints += w->sp / 2;
            w->sp = 0;
            break;
        case 19:
        case 20: /* hintmask, cntrmask: operands left are an implicit vstem */
            w->hints += w->sp / 2;
            w->sp = 0;
            p += (w->hints + 7) / 8;
            break;
        case 10:
        case 29: {
            if (w->sp < 1 || depth >= T2_DEPTH_MAX)
                return -1;
            double v = w->st[--w->sp];
            const cindex_t *ix = b == 10 ? &w->pv->subrs : &w->src->gsubrs;
            if (b == 10 && !w->pv->has_subrs)
                return -1;
            long n = (long)v + bias(ix->count);
            size_t sa, sl;
            if (v != (double)(long)v || n < 0 || index_get(&w->src->f, ix, (unsigned)n, &sa, &sl) < 0)
                return -1;
            if (b == 10)
                w->u->l[w->srcfd][n] = 1;
            else
                w->u->g[n] = 1;
            int rc = t2_run(w, &w->src->f, sa, sl, depth + 1);
            if (rc != 0)
                return rc;
            break;
        }
        case 11: return 0; /* return */
        case 14: return 1; /* endchar */
        case 12: {         /* escape: flex (path) or arithmetic, which we do not follow */
            if (p >= end)
                return -1;
            uint8_t x = *p++;
            if (x < 34 || x > 37)
                return -1;
            w->sp = 0;
            break;
        }
        default: w->sp = 0; break; /* drawing operators clear the stack */
        }
    }
    return p == end ? 0 : -1;
}

/* ---------------------------------------------------------------- writing */

typedef struct out {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} out_t;

static void put(out_t *o, const void *d, size_t n)
{
    if (o->oom || grow_array((void **)&o->p, &o->cap, o->n + n, 1) < 0) {
        o->oom = true;
        return;
    }
    memcpy(o->p + o->n, d, n);
    o->n += n;
}

static void put_be(out_t *o, uint32_t v, unsigned n)
{
    uint8_t b[4];
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    put(o, b, n);
}

static void put_int5(out_t *o, long v)
{
    uint8_t b = 29;
    put(o, &b, 1);
    put_be(o, (uint32_t)v, 4);
}

/* An INDEX of `count` elements given by get(ctx, i, &ptr, &len). */
typedef void (*elem_fn)(const void *ctx, unsigned i, const uint8_t **ptr, size_t *len);

static void put_index(out_t *o, unsigned count, elem_fn get, const void *ctx)
{
    put_be(o, count, 2);
    if (!count || o->oom)
        return;
    const uint8_t **ptrs = malloc(count * sizeof *ptrs);
    size_t *lens = malloc(count * sizeof *lens);
    if (!ptrs || !lens) {
        o->oom = true;
        goto done;
    }
    size_t total = 1;
    for (unsigned i = 0; i < count; i++) {
        get(ctx, i, &ptrs[i], &lens[i]);
        total += lens[i];
    }
    unsigned os = total <= 0xff ? 1 : total <= 0xffff ? 2 : total <= 0xffffff ? 3 : 4;
    size_t need = o->n + 1 + ((size_t)count + 1) * os + total - 1;
    if (grow_array((void **)&o->p, &o->cap, need, 1) < 0) {
        o->oom = true;
        goto done;
    }
    uint8_t *q = o->p + o->n;
    *q++ = (uint8_t)os;
    size_t off = 1;
    for (unsigned i = 0;; i++) {
        for (unsigned k = 0; k < os; k++)
            *q++ = (uint8_t)(off >> (8 * (os - 1 - k)));
        if (i == count)
            break;
        off += lens[i];
    }
    for (unsigned i = 0; i < count; i++) {
        memcpy(q, ptrs[i], lens[i]);
        q += lens[i];
    }
    o->n = need;
done:
    free(ptrs);
    free(lens);
}

typedef struct subrs_ctx {
    const cff_t *sub, *src;
    const cindex_t *sub_ix, *src_ix;
    const uint8_t *used;
    bool all;
} subrs_ctx_t;

static const uint8_t RETURN_OP = 11;

static void subr_elem(const void *ctx, unsigned i, const uint8_t **ptr, size_t *len)
{
    const subrs_ctx_t *s = ctx;
    size_t a;
    if ((s->all || s->used[i]) && index_get(&s->src->f, s->src_ix, i, &a, len) == 0) {
        *ptr = s->src->f.p + a;
        return;
    }
    if (index_get(&s->sub->f, s->sub_ix, i, &a, len) == 0) {
        *ptr = s->sub->f.p + a;
        return;
    }
    *ptr = &RETURN_OP;
    *len = 1;
}

/* A DICT with its offset operands (offsets[k] for op ops[k]) rewritten as 5-byte integers. */
static void put_dict(out_t *o, const font_t *f, const dict_t *d, const int *ops, const long *vals, int nops,
                     long psize)
{
    for (int i = 0; i < d->n; i++) {
        const dent_t *e = &d->e[i];
        int k = 0;
        while (k < nops && ops[k] != e->op)
            k++;
        if (k == nops) {
            put(o, f->p + e->a, e->e - e->a);
            continue;
        }
        if (e->op == 18) { /* Private: size, offset */
            put_int5(o, psize);
            put_int5(o, vals[k]);
        } else {
            put_int5(o, vals[k]);
        }
        put(o, f->p + e->o, e->e - e->o);
    }
}

static size_t dict_size(const font_t *f, const dict_t *d, const int *ops, int nops)
{
    out_t o = {0};
    long zero[8] = {0};
    put_dict(&o, f, d, ops, zero, nops, 0);
    size_t n = o.n;
    free(o.p);
    return n;
}

/* Byte lengths of the charset, Encoding and FDSelect tables. */
static size_t charset_len(const cff_t *c, size_t a)
{
    const uint8_t *p = c->f.p;
    size_t n = c->f.n;
    unsigned ng = c->charstrings.count;
    if (a >= n || ng == 0)
        return 0;
    if (p[a] == 0)
        return 1 + 2 * (size_t)(ng - 1);
    size_t q = a + 1, per = p[a] == 1 ? 3 : 4;
    if (p[a] > 2)
        return 0;
    unsigned covered = 1;
    while (covered < ng && q + per <= n) {
        covered += 1 + (per == 3 ? p[q + 2] : be(p + q + 2, 2));
        q += per;
    }
    return covered >= ng ? q - a : 0;
}

static size_t encoding_len(const cff_t *c, size_t a)
{
    const uint8_t *p = c->f.p;
    if (a + 2 > c->f.n)
        return 0;
    size_t len = (p[a] & 0x7f) == 0   ? 2 + (size_t)p[a + 1]
                 : (p[a] & 0x7f) == 1 ? 2 + 2 * (size_t)p[a + 1]
                                      : 0;
    if (!len)
        return 0;
    if (p[a] & 0x80) {
        if (a + len >= c->f.n)
            return 0;
        len += 1 + 3 * (size_t)p[a + len];
    }
    return a + len <= c->f.n ? len : 0;
}

static size_t fdselect_len(const cff_t *c)
{
    const uint8_t *p = c->f.p;
    size_t a = c->fdselect;
    if (a + 3 > c->f.n)
        return 0;
    if (p[a] == 0)
        return 1 + (size_t)c->charstrings.count;
    if (p[a] == 3)
        return 1 + 2 + 3 * (size_t)be(p + a + 1, 2) + 2;
    return 0;
}

/* Writes the subset again with the subroutines of `u` restored from the source. Long because it
 * writes the CFF table in its fixed order (header, Name, Top DICT, Strings, Global Subrs, charset,
 * encoding, FDSelect, CharStrings, Private DICTs and their Subrs) with offsets that follow from
 * the sizes of what comes before: one pass keeps each offset next to the bytes it points at. */
static int rewrite(const cff_t *s, const cff_t *src, const int *map, const used_t *u, out_t *o)
{
    const font_t *f = &s->f;
    static const int top_ops[] = {15, 16, 17, 18, OP_ESC(36), OP_ESC(37)};
    const dent_t *cse = dict_find(&s->top, 15), *enc = dict_find(&s->top, 16);
    size_t cs_a = cse && cse->nv == 1 && cse->v[0] > 2 ? (size_t)cse->v[0] : 0;
    size_t en_a = enc && enc->nv == 1 && enc->v[0] > 1 ? (size_t)enc->v[0] : 0;
    size_t cs_len = cs_a ? charset_len(s, cs_a) : 0, en_len = en_a ? encoding_len(s, en_a) : 0;
    size_t fs_len = s->cid ? fdselect_len(s) : 0;
    if ((cs_a && !cs_len) || (en_a && !en_len) || (s->cid && !fs_len))
        return -1;

    /* Offsets follow from sizes alone (every offset is a 5-byte integer). */
    size_t top_len = dict_size(f, &s->top, top_ops, 6);
    size_t pos = s->hdr + (s->names.end - s->names.start) + (2 + 1 + 2 * 4 + top_len) +
                 (s->strings.end - s->strings.start);
    out_t g = {0};
    subrs_ctx_t gctx = {s, src, &s->gsubrs, &src->gsubrs, u->g, u->all_g};
    put_index(&g, s->gsubrs.count, subr_elem, &gctx);
    pos += g.n;
    long v_charset = cs_a ? (long)pos : (cse ? cse->v[0] : 0);
    pos += cs_len;
    long v_enc = en_a ? (long)pos : (enc ? enc->v[0] : 0);
    pos += en_len;
    long v_fdsel = (long)pos;
    pos += fs_len;
    long v_cs = (long)pos;
    pos += s->charstrings.end - s->charstrings.start;

    /* Private DICTs with their local subroutines, and the FontDICTs pointing at them. */
    static const int priv_ops[] = {19};
    static const int fd_ops[] = {18};
    out_t privs = {0}, fds = {0};
    size_t starts[FDS_MAX + 1];
    size_t priv_off[FDS_MAX], priv_len[FDS_MAX];
    int rc = -1;
    for (int i = 0; i < s->nprivs; i++) {
        const priv_t *pv = &s->privs[i];
        priv_off[i] = privs.n;
        size_t dl = dict_size(f, &pv->d, priv_ops, 1);
        long subr_off = (long)dl;
        put_dict(&privs, f, &pv->d, priv_ops, &subr_off, 1, 0);
        priv_len[i] = dl;
        if (pv->has_subrs) {
            int m = map[i];
            subrs_ctx_t lctx = {s, src, &pv->subrs, &src->privs[m].subrs, u->l[m], u->all_l[m]};
            put_index(&privs, pv->subrs.count, subr_elem, &lctx);
        }
    }
    long v_fdarray = 0;
    size_t privs_base;
    if (s->cid) {
        /* FontDICT sizes do not depend on the values either. */
        size_t fdsz = 0;
        for (int i = 0; i < s->nprivs; i++)
            fdsz += dict_size(f, &s->fds[i], fd_ops, 1);
        size_t fdidx = 2 + 1 + (size_t)(s->nprivs + 1) * 4 + fdsz;
        v_fdarray = (long)pos;
        privs_base = pos + fdidx;
        for (int i = 0; i < s->nprivs; i++) {
            starts[i] = fds.n;
            long po = (long)(privs_base + priv_off[i]);
            put_dict(&fds, f, &s->fds[i], fd_ops, &po, 1, (long)priv_len[i]);
        }
        starts[s->nprivs] = fds.n;
    } else {
        privs_base = pos;
    }
    long top_vals[] = {v_charset, v_enc, v_cs, (long)(privs_base + priv_off[0]), v_fdarray, v_fdsel};

    /* Header, Name INDEX, Top DICT INDEX (offset size 4 so its size is known above). */
    put(o, f->p, s->hdr);
    put(o, f->p + s->names.start, s->names.end - s->names.start);
    out_t top = {0};
    put_dict(&top, f, &s->top, top_ops, top_vals, 6, s->cid ? 0 : (long)priv_len[0]);
    if (top.oom || top.n != top_len)
        goto done;
    put_be(o, 1, 2);
    uint8_t four = 4;
    put(o, &four, 1);
    put_be(o, 1, 4);
    put_be(o, (uint32_t)(1 + top.n), 4);
    put(o, top.p, top.n);
    put(o, f->p + s->strings.start, s->strings.end - s->strings.start);
    put(o, g.p, g.n);
    if (cs_a)
        put(o, f->p + cs_a, cs_len);
    if (en_a)
        put(o, f->p + en_a, en_len);
    if (s->cid)
        put(o, f->p + s->fdselect, fs_len);
    put(o, f->p + s->charstrings.start, s->charstrings.end - s->charstrings.start);
    if (s->cid) {
        /* The FontDICT INDEX with a 4-byte offset size, as sized above. */
        put_be(o, (uint32_t)s->nprivs, 2);
        put(o, &four, 1);
        for (int i = 0; i <= s->nprivs; i++)
            put_be(o, (uint32_t)(1 + starts[i]), 4);
        put(o, fds.p, fds.n);
    }
    put(o, privs.p, privs.n);
    rc = (o->oom || g.oom || privs.oom || fds.oom) ? -2 : 0;
done:
    free(top.p);
    free(g.p);
    free(privs.p);
    free(fds.p);
    return rc;
}

/* ----------------------------------------------------------------- repair */

static bool same_bytes(const font_t *a, const cindex_t *ia, const font_t *b, const cindex_t *ib, unsigned i)
{
    size_t pa, la, pb, lb;
    if (index_get(a, ia, i, &pa, &la) < 0 || index_get(b, ib, i, &pb, &lb) < 0)
        return false;
    return la == lb && !memcmp(a->p + pa, b->p + pb, la);
}

/* Whether every subroutine the subset kept is the source's. */
static bool kept_match(const cff_t *s, const cindex_t *si, const cff_t *src, const cindex_t *ri)
{
    if (si->count != ri->count)
        return false;
    for (unsigned i = 0; i < si->count; i++) {
        size_t a, l;
        if (index_get(&s->f, si, i, &a, &l) < 0)
            return false;
        if (l == 1 && s->f.p[a] == RETURN_OP)
            continue;
        if (!same_bytes(&s->f, si, &src->f, ri, i))
            return false;
    }
    return true;
}

/* Maps each subset private to the source private it came from; false when not this source. */
static bool map_privs(const cff_t *s, const cff_t *src, int *map)
{
    if (!kept_match(s, &s->gsubrs, src, &src->gsubrs))
        return false;
    for (int i = 0; i < s->nprivs; i++) {
        const priv_t *pv = &s->privs[i];
        map[i] = -1;
        for (int j = 0; j < src->nprivs && map[i] < 0; j++) {
            const priv_t *q = &src->privs[j];
            if (!s->cid && src->cid)
                return false;
            if (s->cid && src->cid &&
                (!pv->name || !q->name || pv->name_len != q->name_len ||
                 memcmp(pv->name, q->name, q->name_len)))
                continue;
            if (pv->has_subrs != q->has_subrs)
                continue;
            if (pv->has_subrs && !kept_match(s, &pv->subrs, src, &q->subrs))
                continue;
            map[i] = j;
        }
        if (map[i] < 0)
            return false;
    }
    return true;
}

/* Whether cairo emptied any subroutine (a lone `return`); when it kept them all, as it does when
 * its scanner gives up, nothing can be missing. */
static bool has_stub_in(const font_t *f, const cindex_t *ix)
{
    size_t a, l;
    for (unsigned i = 0; i < ix->count; i++)
        if (index_get(f, ix, i, &a, &l) == 0 && l == 1 && f->p[a] == RETURN_OP)
            return true;
    return false;
}

static bool has_stub(const cff_t *s)
{
    if (has_stub_in(&s->f, &s->gsubrs))
        return true;
    for (int i = 0; i < s->nprivs; i++)
        if (s->privs[i].has_subrs && has_stub_in(&s->f, &s->privs[i].subrs))
            return true;
    return false;
}

static void used_free(used_t *u, int n)
{
    free(u->g);
    for (int i = 0; i < n; i++)
        free(u->l[i]);
}

/* Whether the subset lacks a subroutine that a glyph calls. */
static bool missing(const cff_t *s, const cff_t *src, const int *map, const used_t *u)
{
    for (unsigned i = 0; i < s->gsubrs.count; i++)
        if ((u->all_g || u->g[i]) && !same_bytes(&s->f, &s->gsubrs, &src->f, &src->gsubrs, i))
            return true;
    for (int k = 0; k < s->nprivs; k++) {
        const priv_t *pv = &s->privs[k];
        int m = map[k];
        if (!pv->has_subrs)
            continue;
        for (unsigned i = 0; i < pv->subrs.count; i++)
            if ((u->all_l[m] || u->l[m][i]) &&
                !same_bytes(&s->f, &pv->subrs, &src->f, &src->privs[m].subrs, i))
                return true;
    }
    return false;
}

int cfffix_repair_with(const uint8_t *subset, size_t len, const uint8_t *source, size_t source_len,
                       uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    cff_t *s = calloc(1, sizeof *s), *src = calloc(1, sizeof *src);
    used_t u;
    memset(&u, 0, sizeof u);
    int map[FDS_MAX];
    int rc = 0;
    if (!s || !src) {
        rc = -1;
        goto done;
    }
    if (cff_parse(subset, len, s) < 0 || !has_stub(s) || cff_parse(source, source_len, src) < 0 ||
        !map_privs(s, src, map))
        goto done;
    u.g = calloc(s->gsubrs.count + 1, 1);
    if (!u.g) {
        rc = -1;
        goto done;
    }
    for (int j = 0; j < src->nprivs; j++) {
        u.l[j] = calloc(src->privs[j].subrs.count + 1, 1);
        if (!u.l[j]) {
            rc = -1;
            goto done;
        }
    }
    walk_t w = {.src = src, .u = &u};
    for (unsigned gi = 0; gi < s->charstrings.count; gi++) {
        size_t a, l;
        int fd = fd_of(s, gi);
        if (fd < 0 || fd >= s->nprivs || index_get(&s->f, &s->charstrings, gi, &a, &l) < 0)
            goto done;
        w.srcfd = map[fd];
        w.pv = &src->privs[w.srcfd];
        w.sp = 0;
        w.hints = 0;
        if (t2_run(&w, &s->f, a, l, 0) < 0) {
            /* Not followable (arithmetic, bad data): keep everything it could reach. */
            u.all_g = true;
            u.all_l[w.srcfd] = true;
        }
    }
    if (!missing(s, src, map, &u))
        goto done;
    out_t o = {0};
    int wr = rewrite(s, src, map, &u, &o);
    if (wr < 0) {
        free(o.p);
        rc = wr == -2 ? -1 : 0;
        goto done;
    }
    *out = o.p;
    *out_len = o.n;
    rc = 1;
done:
    used_free(&u, src ? src->nprivs : 0);
    if (s)
        cff_free(s);
    if (src)
        cff_free(src);
    free(s);
    free(src);
    return rc;
}

/* ---------------------------------------------------------------- sources */

static _Thread_local hb_blob_t *sources[CFFFIX_SOURCES_MAX];
static _Thread_local int nsources;

void cfffix_add_source(hb_face_t *face)
{
    hb_blob_t *b = hb_face_reference_table(face, HB_TAG('C', 'F', 'F', ' '));
    unsigned len;
    const char *d = hb_blob_get_data(b, &len);
    for (int i = 0; i < nsources && d; i++) {
        unsigned l2;
        const char *d2 = hb_blob_get_data(sources[i], &l2);
        if (d2 == d)
            d = NULL;
    }
    if (!d || len < 64) {
        hb_blob_destroy(b);
        return;
    }
    if (nsources == CFFFIX_SOURCES_MAX) {
        hb_blob_destroy(sources[0]);
        memmove(sources, sources + 1, (CFFFIX_SOURCES_MAX - 1) * sizeof *sources);
        nsources--;
    }
    sources[nsources++] = b;
}

void cfffix_clear_sources(void)
{
    for (int i = 0; i < nsources; i++)
        hb_blob_destroy(sources[i]);
    nsources = 0;
}

int cfffix_repair(const uint8_t *subset, size_t len, uint8_t **out, size_t *out_len)
{
    for (int i = 0; i < nsources; i++) {
        unsigned sl;
        const char *sd = hb_blob_get_data(sources[i], &sl);
        int rc = cfffix_repair_with(subset, len, (const uint8_t *)sd, sl, out, out_len);
        if (rc != 0)
            return rc;
    }
    *out = NULL;
    *out_len = 0;
    return 0;
}
