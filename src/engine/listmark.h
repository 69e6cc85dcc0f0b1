/*
 * listmark — the markers of list items: "1." "a)" "A." "i." "I." for a counter, "•" "◦" "▪"
 * for bullets by nesting level. Used by the compiler (lists with fixed items) and by prepare
 * (lists over data, where the index is known only at render time).
 *
 * Threads: any (no state). Memory: writes into the caller's buffer.
 */
#ifndef CRAFTKIT_ENGINE_LISTMARK_H
#define CRAFTKIT_ENGINE_LISTMARK_H

#include <stddef.h>

typedef enum {
    LIST_BULLET = 0,
    LIST_DECIMAL,
    LIST_LOWER_ALPHA,
    LIST_UPPER_ALPHA,
    LIST_LOWER_ROMAN,
    LIST_UPPER_ROMAN,
    LIST_NONE,
} list_style_t;

/* The style names of "listStyle", in list_style_t order, NULL-terminated. */
extern const char *const listmark_style_names[];

/* The marker of item number n (1-based after "start") in style st at nesting level (0 = the
 * outermost list) into out: "3." (decimal), "c)" (lower-alpha), "C." (upper-alpha), "iii."
 * (lower-roman), "III." (upper-roman), a bullet by level, "" for none. Numbers an alphabet or
 * roman numerals cannot write (n < 1; roman above 3999) are written in decimal. */
void listmark_format(list_style_t st, long n, int level, char *out, size_t len);

#endif
