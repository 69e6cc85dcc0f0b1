/*
 * pdfz — how the PDF streams cairo writes during a render are compressed (see pdfz.c for how
 * and why). Threads: per thread. Memory: none.
 */
#ifndef CRAFTKIT_ENGINE_PDFZ_H
#define CRAFTKIT_ENGINE_PDFZ_H

#include <stdbool.h>

typedef enum {
    PDFZ_FAST = 0, /* content at zlib 1, font programs stored */
    PDFZ_STANDARD, /* everything at zlib 6 */
    PDFZ_NONE,     /* everything stored */
} pdfz_policy_t;

/* From now on, on this thread, zlib streams follow `policy`. */
void pdfz_level_set(pdfz_policy_t policy);
/* Back to plain zlib. */
void pdfz_level_clear(void);
/* Whether a font program could not be collected or repaired for lack of memory since
 * pdfz_level_set (the PDF is then incomplete and the render must fail). */
bool pdfz_failed(void);
/* How many streams took the policy since pdfz_level_set (0 means the override is not active). */
int pdfz_streams(void);

#endif
