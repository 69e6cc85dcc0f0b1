/* Unit tests for engine/hyphload: the dictionary it reads is libhyphen's, field by field — for
 * every dictionary craftkit uses (the Debian hyphen-* files) and for small pattern files that
 * use what those do not (replacements, NEXTLEVEL, long lines, CRLF, a pattern given twice) —
 * and it hyphenates words the same way. */
#include <check.h>
#include <hyphen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/hyph.h"
#include "engine/hyphload.h"
#include "tu.h"

#define DICT_DIR "/usr/share/hyphen"

/* The same option, or the same list of NOHYPHEN items (each NUL-terminated). */
static void same_nohyphen(const HyphenDict *a, const HyphenDict *b)
{
    ck_assert_int_eq(a->nohyphenl, b->nohyphenl);
    ck_assert_int_eq(!a->nohyphen, !b->nohyphen);
    const char *p = a->nohyphen, *q = b->nohyphen;
    for (int i = 0; p && i <= a->nohyphenl; i++) {
        ck_assert_str_eq(p, q);
        p += strlen(p) + 1;
        q += strlen(q) + 1;
    }
}

static void same_str(const char *a, const char *b, int state, const char *what)
{
    ck_assert_msg(!a == !b, "state %d: %s %s vs %s", state, what, a ? a : "NULL", b ? b : "NULL");
    if (a)
        ck_assert_msg(!strcmp(a, b), "state %d: %s \"%s\" vs \"%s\"", state, what, a, b);
}

/* ours must equal want (libhyphen's), down to the numbering of states and the order of
 * transitions. */
static void same_dict(const HyphenDict *ours, const HyphenDict *want)
{
    ck_assert_int_eq(ours->lhmin, want->lhmin);
    ck_assert_int_eq(ours->rhmin, want->rhmin);
    ck_assert_int_eq(ours->clhmin, want->clhmin);
    ck_assert_int_eq(ours->crhmin, want->crhmin);
    ck_assert_str_eq(ours->cset, want->cset);
    ck_assert_int_eq(ours->utf8, want->utf8);
    same_nohyphen(ours, want);
    ck_assert_int_eq(ours->num_states, want->num_states);
    for (int i = 0; i < want->num_states; i++) {
        const HyphenState *a = &ours->states[i], *b = &want->states[i];
        same_str(a->match, b->match, i, "match");
        same_str(a->repl, b->repl, i, "repl");
        if (b->match) { /* libhyphen leaves them unset on states without a pattern */
            ck_assert_int_eq(a->replindex, b->replindex);
            ck_assert_int_eq(a->replcut, b->replcut);
        }
        ck_assert_msg(a->fallback_state == b->fallback_state, "state %d: fallback %d vs %d", i,
                      a->fallback_state, b->fallback_state);
        ck_assert_int_eq(a->num_trans, b->num_trans);
        for (int t = 0; t < b->num_trans; t++) {
            ck_assert_int_eq(a->trans[t].ch, b->trans[t].ch);
            ck_assert_int_eq(a->trans[t].new_state, b->trans[t].new_state);
        }
    }
    ck_assert_int_eq(!ours->nextlevel, !want->nextlevel);
    /* The default word level points back at the first one: compare it once. */
    if (want->nextlevel && want->nextlevel->nextlevel != want)
        same_dict(ours->nextlevel, want->nextlevel);
    else if (want->nextlevel)
        ck_assert_ptr_eq(ours->nextlevel->nextlevel, ours);
}

static HyphenDict *ours_of(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    HyphenDict *d = hyphload_file(f);
    fclose(f);
    ck_assert_ptr_nonnull(d);
    return d;
}

static void compare_file(const char *path)
{
    HyphenDict *want = hnj_hyphen_load(path), *ours = ours_of(path);
    ck_assert_ptr_nonnull(want);
    same_dict(ours, want);
    hnj_hyphen_free(ours);
    hnj_hyphen_free(want);
}

START_TEST(every_dictionary_craftkit_uses)
{
    static const char *const langs[] = {"de", "en", "es", "fr", "it", "nl"};
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DICT_DIR "/%s", hyph_dict_file(langs[i]));
        compare_file(path);
    }
}
END_TEST

static void compare_text(const char *text)
{
    char path[] = "/tmp/ck-hyphload-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    compare_file(path);
    unlink(path);
}

START_TEST(what_the_installed_files_do_not_use)
{
    /* ISO 8859-1, options, NOHYPHEN, a pattern twice, a comment, CRLF. */
    compare_text("ISO8859-1\nLEFTHYPHENMIN 2\nRIGHTHYPHENMIN 3\nNOHYPHEN -,'\n% comment\n.ab1c\nab1c\n"
                 "a1b\na2b\nx1y2z\r\n.ex3am\n");
    /* UTF-8 with replacements (index, cut), NEXTLEVEL and compound minimums. */
    compare_text("UTF-8\nCOMPOUNDLEFTHYPHENMIN 2\nCOMPOUNDRIGHTHYPHENMIN 3\n1-1\n"
                 "NEXTLEVEL\nLEFTHYPHENMIN 2\nschif1f/ff=f,5,2\nc1k/k=k,1,2\n.ü1ber/ü=ber,1,3\nzuk2\n"
                 "b1c/b=c\n\xc3\xa4"
                 "1b\n");
    /* A line longer than libhyphen's buffer is read in pieces; so is a first line longer than
     * the charset's buffer. */
    char big[400];
    memset(big, 'a', sizeof big);
    memcpy(big + sizeof big - 8, "1b\nc1d\n", 8);
    char text[600];
    snprintf(text, sizeof text, "ISO8859-1-and-a-long-first-line 1x\n%.*sa1c\n", (int)sizeof big, big);
    compare_text(text);
    /* No patterns at all, and no newline at the end. */
    compare_text("UTF-8\n");
    compare_text("UTF-8\nNOHYPHEN x");
    compare_text("");
}
END_TEST

START_TEST(it_hyphenates_the_same_words)
{
    static const char *const words[] = {
        "silbentrennung", "donaudampfschifffahrt", "rechtsanwaltsgebühren", "vereinbarung", "schiffahrt",
        "zucker",         "versicherungs-",        "arbeitnehmer's",        "ähnlich"};
    char path[256];
    snprintf(path, sizeof path, DICT_DIR "/%s", hyph_dict_file("de"));
    HyphenDict *want = hnj_hyphen_load(path), *ours = ours_of(path);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const char *w = words[i];
        int n = (int)strlen(w);
        char ha[128], hb[128];
        char **ra = NULL, **rb = NULL;
        int *pa = NULL, *pb = NULL, *ca = NULL, *cb = NULL;
        ck_assert_int_eq(hnj_hyphen_hyphenate3(ours, w, n, ha, NULL, &ra, &pa, &ca, 2, 2, 2, 2), 0);
        ck_assert_int_eq(hnj_hyphen_hyphenate3(want, w, n, hb, NULL, &rb, &pb, &cb, 2, 2, 2, 2), 0);
        ck_assert_msg(!strncmp(ha, hb, (size_t)n), "%s: %.*s vs %.*s", w, n, ha, n, hb);
        for (int k = 0; ra && k < n; k++)
            free(ra[k]);
        for (int k = 0; rb && k < n; k++)
            free(rb[k]);
        free(ra), free(rb), free(pa), free(pb), free(ca), free(cb);
    }
    hnj_hyphen_free(ours);
    hnj_hyphen_free(want);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hyphload");
    TCase *tc = tcase_create("hyphload");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_dictionary_craftkit_uses);
    tcase_add_test(tc, what_the_installed_files_do_not_use);
    tcase_add_test(tc, it_hyphenates_the_same_words);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
