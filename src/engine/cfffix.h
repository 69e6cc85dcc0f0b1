/*
 * cfffix — repairs the CFF font subsets that cairo 1.16 embeds in PDFs.
 *
 * cairo keeps a subset's subroutine INDEXes at their original size and replaces every
 * subroutine it believes unused with a lone `return`. To find the used ones it scans each
 * glyph's Type 2 charstring, but its scanner only resets its operand count at moveto and stem
 * operators, so at the first hintmask that follows drawing operators it counts the drawing
 * operands as implicit stem hints, skips too many mask bytes, reads a wrong subroutine number
 * and empties a subroutine the glyph calls. Fonts that call subroutines after a mid-contour
 * hintmask (Noto Sans/Serif CJK: 如, and hundreds of other ideographs and syllables) then
 * embed glyphs that viewers draw as blanks or reject as broken.
 *
 * The repair: walk every charstring of the subset with a correct Type 2 interpreter against
 * the original font's subroutines, and write the subset again with every subroutine a glyph
 * really calls restored from the original (unused ones stay a lone `return`, so the subset
 * stays small). The original is found among the CFF tables registered with
 * cfffix_add_source() (the fonts the thread loaded): its FontDICT names and subroutine counts
 * must match, and every subroutine cairo kept must equal the original's.
 *
 * Threads: the source registry is per thread (the thread's fonts); cfffix_repair_with is pure.
 * Memory: cfffix holds a reference on each registered table until cfffix_clear_sources; the
 * repaired font is malloc'd and freed by the caller.
 */
#ifndef CRAFTKIT_ENGINE_CFFFIX_H
#define CRAFTKIT_ENGINE_CFFFIX_H

#include <stddef.h>
#include <stdint.h>

#include <hb.h>

#define CFFFIX_SOURCES_MAX 32 /* CFF tables remembered per thread (oldest dropped first) */

/* Remembers the face's CFF table (if it has one) as a possible original of a subset. */
void cfffix_add_source(hb_face_t *face);
/* Drops this thread's registered tables. */
void cfffix_clear_sources(void);

/* Repairs `subset` (a CFF font program) against `source` (the original CFF table).
 * Returns 1 with *out (malloc'd) and *out_len when subroutines had to be restored, 0 when
 * the subset is complete already or `source` is not its original, -1 when out of memory. */
int cfffix_repair_with(const uint8_t *subset, size_t len, const uint8_t *source, size_t source_len,
                       uint8_t **out, size_t *out_len);
/* The same against every table registered on this thread. */
int cfffix_repair(const uint8_t *subset, size_t len, uint8_t **out, size_t *out_len);

#endif
