/*
 * pattern — the regular expressions of manifest `pattern` constraints.
 *
 * The dialect is a subset of ECMAScript (the one JSON Schema's `pattern` and ajv use, with the
 * "u" flag), so that the server and a client validating with the published JSON Schema agree:
 * literals, `.`, classes `[a-z]` `[^...]`, escapes `\d \D \w \W \s \S \b \B \t \n \v \f \r \0
 * \xHH \uHHHH \u{H..} \cX` and escaped syntax characters, anchors `^ $`, groups `( )` `(?: )`,
 * alternation `|` and the quantifiers `* + ? {n} {n,} {n,m}` (lazy forms accepted). Matching is
 * a search (unanchored unless the pattern says `^`/`$`) over Unicode code points.
 * Not supported (rejected when compiling): backreferences, lookaround, named groups and
 * Unicode property escapes. Anything ECMAScript's "u" mode rejects is rejected too.
 *
 * The matcher simulates the NFA (Thompson/Pike), so time is O(len(subject) × program size)
 * with no backtracking: no pattern can go catastrophic. Program size and quantifier bounds
 * are capped below; pattern_match_budget() also stops after a caller-given number of steps.
 *
 * Threads: a compiled pattern is immutable; any number of threads may match with it at once.
 * Memory: pattern_compile() returns an object the caller frees with pattern_free().
 */
#ifndef CRAFTKIT_MANIFEST_PATTERN_H
#define CRAFTKIT_MANIFEST_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PATTERN_SOURCE_MAX 500   /* bytes of pattern source */
#define PATTERN_PROGRAM_MAX 2000 /* NFA instructions after expanding counted repetition */
#define PATTERN_REPEAT_MAX 1000  /* largest n or m in {n,m} */
#define PATTERN_NESTING_MAX 50   /* group nesting depth */
#define PATTERN_ERR_MAX 160      /* size of the error buffer pattern_compile() fills */

typedef struct pattern pattern_t;

typedef enum { PATTERN_NO_MATCH = 0, PATTERN_MATCH = 1, PATTERN_BUDGET_EXCEEDED = -1 } pattern_result_t;

/* Compiles src (len bytes of UTF-8). NULL on failure, with a message in err (always
 * NUL-terminated; e.g. "nothing to repeat at offset 0"). */
pattern_t *pattern_compile(const char *src, size_t len, char err[PATTERN_ERR_MAX]);
void pattern_free(pattern_t *p);
/* Searches subject (len bytes of valid UTF-8). */
bool pattern_match(const pattern_t *p, const char *subject, size_t len);
/* Same, but gives up after *budget NFA steps (decremented by the steps used). */
pattern_result_t pattern_match_budget(const pattern_t *p, const char *subject, size_t len, uint64_t *budget);
/* Number of NFA instructions (a measure of the cost per subject character). */
size_t pattern_program_size(const pattern_t *p);

#endif
