/*
 * hyph — hyphenation for `hyphenate: true`: finds the break points of words with libhyphen's
 * pattern dictionaries (Debian hyphen-* packages, /usr/share/hyphen/hyph_*.dic) and marks them
 * with soft hyphens (U+00AD). The text module then lays the text out with pango, which breaks
 * lines at soft hyphens and shows a hyphen where it does.
 *
 * Languages: en, de, fr, es, it, nl (any BCP 47 tag whose primary subtag is one of these:
 * "de-CH" uses the German dictionary). The compiler refuses `hyphenate` with another literal
 * `lang` (hyph_dict_file); a language from the data without a dictionary is laid out without
 * hyphenation (documented fallback); a supported language whose dictionary file is missing on
 * the machine is a render error naming the file.
 *
 * Words: maximal runs of letters of at least 5 characters (2 before the first break, 3 after
 * the last, or more where the dictionary says so) and at most HYPH_WORD_MAX; a whitespace-
 * separated token that holds a digit, a soft hyphen already, or looks like an address (@ / :
 * \ _ = & ? #, or a dot followed by a letter) is left alone, and so are all-capital words.
 *
 * Threads: a hyph_t belongs to one thread (the text_t of a render thread owns one); the
 * dictionaries are the process's, each loaded once on first use (under a mutex) and then
 * shared read-only by all threads without locking. libhyphen does not document this as safe,
 * so we checked its source (hyphen.c 2.8.8, the Debian version): hnj_hyphen_hyphenate3 and the
 * functions it calls (hnj_hyphen_hyph_, _lhmin, _rhmin, _norm) only read the HyphenDict
 * (states, transitions, matches, replacements, nextlevel, nohyphen) and write to buffers they
 * malloc per call or that the caller passes; the library has no static state. Loading per
 * thread instead was measured and rejected: the German dictionary (77,900 patterns and words)
 * takes 3.4 s of CPU and 40 MB to load, English 60 ms and 4 MB. A process that never
 * hyphenates never reads a dictionary; a render helper pays the load on its first render of
 * the language. Dictionaries are never freed (they live as long as the process).

 * Memory: hyph_text's result is malloc'd, the caller frees.
 */
#ifndef CRAFTKIT_ENGINE_HYPH_H
#define CRAFTKIT_ENGINE_HYPH_H

#include <stdbool.h>
#include <stddef.h>

#define HYPH_DIR_DEFAULT "/usr/share/hyphen"
#define HYPH_WORD_MAX 64 /* characters; longer letter runs are not hyphenated */

typedef struct hyph hyph_t;

/* dir: where the hyph_*.dic files are (NULL: HYPH_DIR_DEFAULT). NULL when out of memory. */
hyph_t *hyph_new(const char *dir);
void hyph_free(hyph_t *h);

/* The dictionary file name for a language tag ("de-CH" → "hyph_de_DE.dic"), or NULL when
 * there is none. Any thread. */
const char *hyph_dict_file(const char *lang);
/* The languages with a dictionary, for messages: "de, en, es, fr, it, nl". */
const char *hyph_languages(void);

/* Hyphenates s[0, len) (UTF-8) in language lang: *out gets a malloc'd copy with soft hyphens
 * inserted (and *out_len its length), or NULL when nothing was inserted (or lang has no
 * dictionary). glued_start / glued_end: the text before / after s continues the first / last
 * word (a run of another style), which is then left alone. Returns 0, or -1 with err (the
 * dictionary file is missing or unreadable, out of memory, too long). */
int hyph_text(hyph_t *h, const char *lang, const char *s, size_t len, bool glued_start, bool glued_end,
              char **out, size_t *out_len, char *err, size_t err_len);

#endif
