#include "engine/hyphload.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/strhash.h"

/* The line buffer libhyphen reads patterns with. */
#define LINE_MAX_BYTES MAX_CHARS
/* The states' strings of one level (German: 278,832 states, 3.3 MB). */
#define HYPHLOAD_KEYS_MAX (64u << 20)

/* One level of the dictionary under construction: the HyphenDict, the string of each state
 * (its offset in keys) and an open-addressing table from strings to state numbers. */
typedef struct {
    HyphenDict *d;
    int cap;        /* entries allocated in d->states and key_at */
    size_t *key_at; /* state -> offset of its string in keys */
    buf_t keys;     /* the states' strings, NUL-terminated one after the other */
    int32_t *slots; /* state numbers, -1 = empty; nslots is a power of two */
    size_t nslots;
} level_t;

static const char *key_of(const level_t *lv, int state)
{
    return lv->keys.data + lv->key_at[state];
}

/* The state whose string is s, or -1. */
static int lookup(const level_t *lv, const char *s)
{
    if (lv->nslots == 0)
        return -1;
    size_t mask = lv->nslots - 1;
    for (size_t i = strhash_fnv1a(s) & mask;; i = (i + 1) & mask) {
        int32_t st = lv->slots[i];
        if (st < 0)
            return -1;
        if (!strcmp(key_of(lv, st), s))
            return st;
    }
}

static void slot_put(level_t *lv, int state)
{
    size_t mask = lv->nslots - 1, i = strhash_fnv1a(key_of(lv, state)) & mask;
    while (lv->slots[i] >= 0)
        i = (i + 1) & mask;
    lv->slots[i] = state;
}

/* Keeps the table at most half full. */
static int slots_room(level_t *lv)
{
    if ((size_t)lv->d->num_states * 2 < lv->nslots)
        return 0;
    size_t n = lv->nslots ? lv->nslots * 2 : 1024;
    int32_t *slots = malloc(n * sizeof *slots);
    if (!slots)
        return -1;
    memset(slots, 0xff, n * sizeof *slots);
    free(lv->slots);
    lv->slots = slots;
    lv->nslots = n;
    for (int s = 0; s < lv->d->num_states; s++)
        slot_put(lv, s);
    return 0;
}

static int states_room(level_t *lv)
{
    if (lv->d->num_states < lv->cap)
        return 0;
    int cap = lv->cap ? lv->cap * 2 : 64;
    HyphenState *states = realloc(lv->d->states, (size_t)cap * sizeof *states);
    if (!states)
        return -1;
    lv->d->states = states;
    size_t *key_at = realloc(lv->key_at, (size_t)cap * sizeof *key_at);
    if (!key_at)
        return -1;
    lv->key_at = key_at;
    lv->cap = cap;
    return 0;
}

/* The state of string s, made (numbered next, like libhyphen) when there is none, which *made
 * tells: -1 when out of memory. */
static int get_state(level_t *lv, const char *s, bool *made)
{
    int st = lookup(lv, s);
    *made = st < 0;
    if (st >= 0)
        return st;
    size_t at = lv->keys.len;
    if (states_room(lv) != 0 || slots_room(lv) != 0 || buf_append(&lv->keys, s, strlen(s) + 1) != BUF_OK)
        return -1;
    st = lv->d->num_states;
    lv->d->states[st] = (HyphenState){.fallback_state = -1};
    lv->key_at[st] = at;
    lv->d->num_states++;
    slot_put(lv, st);
    return st;
}

/* A transition from state `from` on ch to `to`; the array grows at powers of two like
 * libhyphen's. */
static int add_trans(HyphenDict *d, int from, int to, char ch)
{
    HyphenState *s = &d->states[from];
    int n = s->num_trans;
    if (n == 0 || !(n & (n - 1))) {
        HyphenTrans *t = realloc(s->trans, (size_t)(n ? n * 2 : 1) * sizeof *t);
        if (!t)
            return -1;
        s->trans = t;
    }
    s->trans[n] = (HyphenTrans){.ch = ch, .new_state = to};
    s->num_trans++;
    return 0;
}

/* NOHYPHEN a,b,c: the list with its last byte (the newline) cut and each comma after the first
 * byte made a NUL, counted in nohyphenl — libhyphen's reading, byte for byte. */
static int set_nohyphen(HyphenDict *d, const char *line)
{
    const char *v = line + 8;
    while (*v == ' ' || *v == '\t')
        v++;
    free(d->nohyphen);
    d->nohyphen = NULL;
    d->nohyphenl = 0;
    if (!*v)
        return 0;
    if (!(d->nohyphen = strdup(v)))
        return -1;
    size_t last = strlen(d->nohyphen) - 1;
    d->nohyphen[last] = '\0';
    for (size_t i = last; i-- > 1;) {
        if (d->nohyphen[i] == ',') {
            d->nohyphenl++;
            d->nohyphen[i] = '\0';
        }
    }
    return 0;
}

/* A replacement's index and cut counted in UTF-8 characters, made byte offsets (libhyphen
 * stores bytes). */
static void repl_to_bytes(const char *word, signed char *index, signed char *cut)
{
    int pu = -1, ps = -1;
    size_t len = strlen(word);
    for (size_t pc = *word == '.'; pc < len + 1; pc++) {
        if (((unsigned char)word[pc] >> 6) != 2)
            pu++;
        if (ps < 0 && *index == pu) {
            ps = *index;
            *index = (signed char)pc;
        }
        if (ps >= 0 && pu - ps == *cut) {
            *cut = (signed char)(pc - (size_t)*index);
            break;
        }
    }
    if (*word == '.')
        (*index)--;
}

/* Cuts a trailing "\n", "\r" or "\r\n". */
static void chomp(char *s)
{
    size_t k = strlen(s);
    if (k > 0 && (s[k - 1] == '\r' || s[k - 1] == '\n'))
        s[k - 1] = '\0';
    if (k > 1 && s[k - 2] == '\r')
        s[k - 2] = '\0';
}

/* One line of a pattern file (an option or a pattern), as libhyphen's hnj_hyphen_load_line
 * reads it. 0, or -1 when out of memory. */
static int load_line(level_t *lv, const char *line)
{
    HyphenDict *d = lv->d;
    static const struct {
        const char *name;
        size_t len;
        size_t off;
    } opts[] = {{"LEFTHYPHENMIN", 13, offsetof(HyphenDict, lhmin)},
                {"RIGHTHYPHENMIN", 14, offsetof(HyphenDict, rhmin)},
                {"COMPOUNDLEFTHYPHENMIN", 21, offsetof(HyphenDict, clhmin)},
                {"COMPOUNDRIGHTHYPHENMIN", 22, offsetof(HyphenDict, crhmin)}};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (!strncmp(line, opts[i].name, opts[i].len)) {
            *((char *)d + opts[i].off) = (char)atoi(line + opts[i].len);
            return 0;
        }
    }
    if (!strncmp(line, "NOHYPHEN", 8))
        return set_nohyphen(d, line);

    /* A line has at most LINE_MAX_BYTES - 1 bytes: its word at most that many letters, its
     * pattern one digit more (libhyphen 2.8.8 reads as many, in arrays one byte shorter). */
    char buf[LINE_MAX_BYTES + 1], word[LINE_MAX_BYTES + 1], pattern[LINE_MAX_BYTES + 2];
    snprintf(buf, sizeof buf, "%s", line);
    char *repl = strchr(buf, '/');
    signed char replindex = 0, replcut = 0;
    if (repl) {
        char *index = strchr(repl + 1, ',');
        *repl = '\0';
        if (index) {
            char *index2 = strchr(index + 1, ',');
            *index = '\0';
            if (index2) {
                *index2 = '\0';
                replindex = (signed char)((signed char)atoi(index + 1) - 1);
                replcut = (signed char)atoi(index2 + 1);
            }
        } else {
            chomp(repl + 1);
            replcut = (signed char)strlen(buf);
        }
        if (!(repl = strdup(repl + 1)))
            return -1;
    }
    int j = 0;
    pattern[0] = '0';
    for (int i = 0; (unsigned char)buf[i] > ' ' && j < LINE_MAX_BYTES; i++) {
        if (buf[i] >= '0' && buf[i] <= '9') {
            pattern[j] = buf[i];
        } else {
            word[j] = buf[i];
            pattern[++j] = '0';
        }
    }
    word[j] = '\0';
    pattern[j + 1] = '\0';
    int skip = 0;
    if (!repl) {
        while (pattern[skip] == '0') /* leading zeroes mean nothing */
            skip++;
    } else {
        skip = *word == '.';
        if (d->utf8)
            repl_to_bytes(word, &replindex, &replcut);
    }
    bool made;
    int st = get_state(lv, word, &made);
    char *match = st < 0 ? NULL : strdup(pattern + skip);
    if (!match) {
        free(repl);
        return -1;
    }
    HyphenState *s = &d->states[st];
    free(s->match); /* a pattern given twice: the last one counts */
    free(s->repl);
    s->match = match;
    s->repl = repl;
    s->replindex = replindex;
    s->replcut = replcut ? replcut : (signed char)strlen(word);
    /* The prefixes of a new string, each a state with a transition to the longer one, down to
     * the first that was there already. */
    for (; made && j > 0; --j) {
        int longer = st;
        char ch = word[j - 1];
        word[j - 1] = '\0';
        if ((st = get_state(lv, word, &made)) < 0 || add_trans(d, st, longer, ch) != 0)
            return -1;
    }
    return 0;
}

/* Every state falls back to the state of its longest proper suffix that is one. */
static void set_fallbacks(level_t *lv)
{
    for (int st = 1; st < lv->d->num_states; st++) {
        const char *key = key_of(lv, st);
        int fb = -1;
        for (size_t j = 1; fb < 0; j++)
            fb = lookup(lv, key + j); /* "" (state 0) ends it */
        lv->d->states[st].fallback_state = fb;
    }
}

static int level_init(level_t *lv)
{
    memset(lv, 0, sizeof *lv);
    buf_init(&lv->keys, HYPHLOAD_KEYS_MAX);
    bool made;
    if (!(lv->d = calloc(1, sizeof *lv->d)))
        return -1;
    return get_state(lv, "", &made) == 0 ? 0 : -1;
}

/* Frees the construction aids; the dictionary is kept (or freed when drop). */
static void level_done(level_t *lv, bool drop)
{
    if (drop && lv->d)
        hnj_hyphen_free(lv->d);
    free(lv->key_at);
    buf_free(&lv->keys);
    free(lv->slots);
    memset(lv, 0, sizeof *lv);
}

/* Reads pattern lines into lv until NEXTLEVEL (*next set) or the end. A line longer than
 * libhyphen's buffer is read in pieces of that size, each taken as a line (as Debian's
 * libhyphen 2.8.8 does; later versions skip such lines). */
static int read_patterns(level_t *lv, FILE *f, bool *next)
{
    char buf[LINE_MAX_BYTES];
    while (fgets(buf, sizeof buf, f)) {
        if (!strncmp(buf, "NEXTLEVEL", 9)) {
            *next = true;
            return 0;
        }
        if (buf[0] != '%' && load_line(lv, buf) != 0)
            return -1;
    }
    return 0;
}

/* The word level libhyphen adds under a dictionary without NEXTLEVEL: no break at hyphens and
 * apostrophes (and en dashes and typographic apostrophes in UTF-8). */
static int default_level(level_t *lv, bool utf8)
{
    static const char *const latin[] = {"NOHYPHEN ',-\n", "1-1\n", "1'1\n"};
    static const char *const unicode[] = {"NOHYPHEN ',\xe2\x80\x93,\xe2\x80\x99,-\n", "1-1\n", "1'1\n",
                                          "1\xe2\x80\x93"
                                          "1\n",
                                          "1\xe2\x80\x99"
                                          "1\n"};
    const char *const *lines = utf8 ? unicode : latin;
    size_t n = utf8 ? sizeof unicode / sizeof unicode[0] : sizeof latin / sizeof latin[0];
    for (size_t i = 0; i < n; i++)
        if (load_line(lv, lines[i]) != 0)
            return -1;
    return 0;
}

static char inherit_min(char own, char plain)
{
    return own ? own : plain ? plain : 3;
}

HyphenDict *hyphload_file(FILE *f)
{
    level_t lv[2] = {{0}};
    bool next = false;
    if (level_init(&lv[0]) != 0 || level_init(&lv[1]) != 0)
        goto fail;
    HyphenDict *top = lv[0].d, *second = lv[1].d;
    if (fgets(top->cset, sizeof top->cset, f)) {
        for (size_t i = 0; i < sizeof top->cset; i++)
            if (top->cset[i] == '\r' || top->cset[i] == '\n')
                top->cset[i] = '\0';
    }
    top->utf8 = !strcmp(top->cset, "UTF-8");
    memcpy(second->cset, top->cset, sizeof second->cset - 1);
    second->utf8 = top->utf8;
    if (read_patterns(&lv[0], f, &next) != 0 || ferror(f))
        goto fail;
    bool ignored = false;
    if ((next ? read_patterns(&lv[1], f, &ignored) : default_level(&lv[1], top->utf8)) != 0 || ferror(f))
        goto fail;
    set_fallbacks(&lv[0]);
    set_fallbacks(&lv[1]);
    level_done(&lv[0], false);
    level_done(&lv[1], false);
    if (next) { /* the file's first level is the compound level, above the word level */
        top->nextlevel = second;
        return top;
    }
    second->nextlevel = top;
    second->lhmin = top->lhmin;
    second->rhmin = top->rhmin;
    second->clhmin = inherit_min(top->clhmin, top->lhmin);
    second->crhmin = inherit_min(top->crhmin, top->rhmin);
    return second;
fail:
    level_done(&lv[0], true);
    level_done(&lv[1], true);
    return NULL;
}
