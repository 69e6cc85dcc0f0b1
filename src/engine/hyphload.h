/*
 * hyphload — reads a libhyphen pattern file (hyph_*.dic) into libhyphen's own HyphenDict,
 * the structure hnj_hyphen_hyphenate3() walks and hnj_hyphen_free() releases.
 *
 * Why not hnj_hyphen_load_file(): it finds every state's string in a hash table of a fixed
 * 31,627 buckets, and the German dictionary has 278,832 states, so loading it spends seconds
 * (4.8 s here, once per render helper) walking bucket chains. This loader builds the same
 * dictionary — the same states with the same numbers, transitions, fallbacks, matches,
 * replacements and options, compared field by field with libhyphen's in
 * tests/unit/test_hyphload.c for every dictionary craftkit uses — with a hash table sized to
 * the file, in about a tenth of the time.
 *
 * The file format is libhyphen's: a first line naming the character set, then one pattern per
 * line (digits between letters, "." for a word boundary, an optional "/replacement,index,cut"
 * for non-standard hyphenation), "%" comments, the options LEFTHYPHENMIN, RIGHTHYPHENMIN,
 * COMPOUNDLEFTHYPHENMIN, COMPOUNDRIGHTHYPHENMIN and NOHYPHEN, and NEXTLEVEL between the
 * compound level and the word level. A line longer than libhyphen's buffer (99 bytes) is read
 * in pieces of that size, as libhyphen 2.8.8 (Debian 12) reads it.
 *
 * Threads: any; no shared state. Memory: the result is malloc'd the way libhyphen's is; free it
 * with hnj_hyphen_free().
 */
#ifndef CRAFTKIT_ENGINE_HYPHLOAD_H
#define CRAFTKIT_ENGINE_HYPHLOAD_H

#include <hyphen.h>
#include <stdio.h>

/* Reads the dictionary from f (at its start). NULL when out of memory or f cannot be read. */
HyphenDict *hyphload_file(FILE *f);

#endif
