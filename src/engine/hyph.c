#include "engine/hyph.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <hyphen.h>

#include "core/errmsg.h"
#include "engine/grow.h"
#include "engine/hyphload.h"

#define HYPH_DIR_MAX 512
#define HYPH_LHMIN 2 /* characters before the first break (at least; a dictionary may ask more) */
#define HYPH_RHMIN 3 /* characters after the last break */
#define SHY "\xc2\xad"

static const struct {
    const char *lang, *file;
} dicts[] = {
    {"de", "hyph_de_DE.dic"}, {"en", "hyph_en_US.dic"}, {"es", "hyph_es_ES.dic"},
    {"fr", "hyph_fr.dic"},    {"it", "hyph_it_IT.dic"}, {"nl", "hyph_nl_NL.dic"},
};
#define NDICTS (sizeof dicts / sizeof dicts[0])

struct hyph {
    char dir[HYPH_DIR_MAX];
};

/* The dictionaries this process loaded, by path: loaded once, kept until exit, shared
 * read-only by every thread (see the header). */
#define HYPH_LOADED_MAX 16
static struct {
    char path[HYPH_DIR_MAX + 32];
    HyphenDict *d;
} loaded[HYPH_LOADED_MAX];
static size_t nloaded;
static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;

/* The output being built: the input up to `copied` is in buf[0, n). */
typedef struct hout {
    char *buf;
    size_t n, cap, copied;
} hout_t;

hyph_t *hyph_new(const char *dir)
{
    hyph_t *h = calloc(1, sizeof *h);
    if (h)
        snprintf(h->dir, sizeof h->dir, "%s", dir ? dir : HYPH_DIR_DEFAULT);
    return h;
}

void hyph_free(hyph_t *h)
{
    free(h);
}

static int dict_index(const char *lang)
{
    if (!lang || strcspn(lang, "-_") != 2)
        return -1;
    for (size_t i = 0; i < NDICTS; i++)
        if (!g_ascii_strncasecmp(lang, dicts[i].lang, 2))
            return (int)i;
    return -1;
}

const char *hyph_dict_file(const char *lang)
{
    int i = dict_index(lang);
    return i < 0 ? NULL : dicts[i].file;
}

const char *hyph_languages(void)
{
    return "de, en, es, fr, it, nl";
}

static HyphenDict *load_locked(const char *path, const char *lang, char *err, size_t err_len)
{
    for (size_t i = 0; i < nloaded; i++)
        if (!strcmp(loaded[i].path, path))
            return loaded[i].d;
    if (nloaded == HYPH_LOADED_MAX) {
        errmsg_fail(err, err_len, "too many hyphenation dictionary directories");
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        errmsg_fail(err, err_len, "the hyphenation dictionary for \"%s\" is missing on this server (%s: %s)",
                    lang, path, strerror(errno));
        return NULL;
    }
    HyphenDict *d = hyphload_file(f); /* libhyphen's own loader takes seconds for German */
    fclose(f);
    if (!d) {
        errmsg_fail(err, err_len, "the hyphenation dictionary %s could not be read", path);
        return NULL;
    }
    snprintf(loaded[nloaded].path, sizeof loaded[nloaded].path, "%s", path);
    loaded[nloaded++].d = d;
    return d;
}

/* The dictionary of language i in h's directory, loaded on first use (the German one takes
 * seconds: other threads wanting a dictionary wait meanwhile). */
static const HyphenDict *dict_get(const hyph_t *h, int i, char *err, size_t err_len)
{
    char path[HYPH_DIR_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", h->dir, dicts[i].file);
    pthread_mutex_lock(&loaded_lock);
    HyphenDict *d = load_locked(path, dicts[i].lang, err, err_len);
    pthread_mutex_unlock(&loaded_lock);
    return d;
}

static uint32_t next_cp(const char *s, size_t len, size_t *i)
{
    const gchar *p = s + *i;
    gunichar cp = g_utf8_get_char_validated(p, (gssize)(len - *i));
    if (cp == (gunichar)-1 || cp == (gunichar)-2) {
        (*i)++;
        return 0xfffd;
    }
    *i = (size_t)(g_utf8_next_char(p) - s);
    return cp;
}

static bool is_space(uint32_t cp)
{
    return g_unichar_isspace(cp) || cp == 0xa0 || cp == 0x202f;
}

/* A token that is a number, an address, a path or already hyphenated by hand. */
static bool token_is_code(const char *s, size_t a, size_t b)
{
    static const char code_chars[] = "@/:\\_=&?#";
    for (size_t i = a; i < b;) {
        uint32_t cp = next_cp(s, b, &i);
        if (g_unichar_isdigit(cp) || cp == 0xad || (cp < 0x80 && strchr(code_chars, (int)cp)))
            return true;
        if (cp == '.' && i < b) {
            size_t j = i;
            if (g_unichar_isalpha(next_cp(s, b, &j)))
                return true;
        }
    }
    return false;
}

static int out_put(hout_t *o, const char *s, size_t upto, const char *extra, size_t extra_len)
{
    size_t need = o->n + (upto - o->copied) + extra_len;
    if (grow_array((void **)&o->buf, &o->cap, need + 1, 1) < 0)
        return -1;
    memcpy(o->buf + o->n, s + o->copied, upto - o->copied);
    o->n += upto - o->copied;
    memcpy(o->buf + o->n, extra, extra_len);
    o->n += extra_len;
    o->copied = upto;
    return 0;
}

/* The word s[a, b) lowercased in the dictionary's encoding (UTF-8 or ISO 8859-1) into w, and
 * the byte offset in s after each of its characters into ends. Returns the character count,
 * or 0 when the word is not to be hyphenated (too short or long, all capitals, a character
 * the dictionary's encoding lacks). */
static int word_prepare(const HyphenDict *d, const char *s, size_t a, size_t b, char *w, size_t *wl,
                        size_t *ends)
{
    int n = 0;
    bool lower = false;
    *wl = 0;
    for (size_t i = a; i < b;) {
        if (n == HYPH_WORD_MAX)
            return 0;
        uint32_t cp = next_cp(s, b, &i);
        lower |= g_unichar_islower(cp) != 0;
        gunichar lc = g_unichar_tolower(cp);
        if (d->utf8)
            *wl += (size_t)g_unichar_to_utf8(lc, w + *wl);
        else if (lc <= 0xff)
            w[(*wl)++] = (char)lc;
        else
            return 0;
        ends[n++] = i;
    }
    w[*wl] = 0;
    return n >= HYPH_LHMIN + HYPH_RHMIN && lower ? n : 0;
}

/* Inserts soft hyphens at the dictionary's break points of the letters s[a, b). */
static int word_hyphenate(const HyphenDict *d, const char *s, size_t a, size_t b, hout_t *o)
{
    char w[HYPH_WORD_MAX * 6 + 1], hy[HYPH_WORD_MAX * 6 + 6];
    size_t ends[HYPH_WORD_MAX], wl;
    int n = word_prepare(d, s, a, b, w, &wl, ends);
    if (n == 0)
        return 0;
    char **rep = NULL;
    int *pos = NULL, *cut = NULL;
    memset(hy, 0, sizeof hy);
    hnj_hyphen_hyphenate3((HyphenDict *)d, w, (int)wl, hy, NULL, &rep, &pos, &cut, HYPH_LHMIN, HYPH_RHMIN,
                          HYPH_LHMIN, HYPH_LHMIN);
    int rc = 0;
    for (int k = 0; k + 1 < n && rc == 0; k++)
        if ((hy[k] & 1) && !(rep && rep[k]))
            rc = out_put(o, s, ends[k], SHY, 2);
    if (rep)
        for (size_t k = 0; k < wl; k++)
            free(rep[k]);
    free(rep);
    free(pos);
    free(cut);
    return rc;
}

/* Hyphenates the letter runs of the token s[a, b). */
static int token_hyphenate(hyph_t *h, int di, const char *s, size_t a, size_t b, hout_t *o, char *err,
                           size_t err_len)
{
    const HyphenDict *d = NULL;
    for (size_t i = a; i < b;) {
        size_t w0 = i;
        if (!g_unichar_isalpha(next_cp(s, b, &i)))
            continue;
        size_t w1 = i;
        while (w1 < b) {
            size_t j = w1;
            if (!g_unichar_isalpha(next_cp(s, b, &j)))
                break;
            w1 = j;
        }
        i = w1;
        if (g_utf8_strlen(s + w0, (gssize)(w1 - w0)) < HYPH_LHMIN + HYPH_RHMIN)
            continue;
        if (!d && !(d = dict_get(h, di, err, err_len)))
            return -1;
        if (word_hyphenate(d, s, w0, w1, o) < 0)
            return errmsg_fail(err, err_len, "out of memory while hyphenating");
    }
    return 0;
}

int hyph_text(hyph_t *h, const char *lang, const char *s, size_t len, bool glued_start, bool glued_end,
              char **out, size_t *out_len, char *err, size_t err_len)
{
    *out = NULL;
    *out_len = 0;
    int di = dict_index(lang);
    if (di < 0)
        return 0;
    hout_t o = {0};
    for (size_t i = 0; i < len;) {
        size_t t0 = i;
        if (is_space(next_cp(s, len, &i)))
            continue;
        size_t t1 = i;
        while (t1 < len) {
            size_t j = t1;
            if (is_space(next_cp(s, len, &j)))
                break;
            t1 = j;
        }
        i = t1;
        if ((glued_start && t0 == 0) || (glued_end && t1 == len) || token_is_code(s, t0, t1))
            continue;
        if (token_hyphenate(h, di, s, t0, t1, &o, err, err_len) < 0)
            goto fail;
    }
    if (!o.buf)
        return 0;
    if (out_put(&o, s, len, "", 0) < 0) {
        errmsg_fail(err, err_len, "out of memory while hyphenating");
        goto fail;
    }
    *out = o.buf;
    *out_len = o.n;
    return 0;
fail:
    free(o.buf);
    return -1;
}
