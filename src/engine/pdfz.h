/*
 * pdfz — the zlib level of the PDF streams cairo writes during a render (see pdfz.c for how
 * and why). Threads: per thread. Memory: none.
 */
#ifndef CRAFTKIT_ENGINE_PDFZ_H
#define CRAFTKIT_ENGINE_PDFZ_H

/* From now on, on this thread, zlib streams use `level` (0 = stored, 1 = fastest, 9 = best). */
void pdfz_level_set(int level);
/* Back to the callers' own levels. */
void pdfz_level_clear(void);
/* How many streams took the level since pdfz_level_set (0 means the override is not active). */
int pdfz_streams(void);

#endif
