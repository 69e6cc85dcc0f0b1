/*
 * bidiext — how a line that holds right-to-left text is written to the PDF so that text
 * extraction returns it in logical (reading) order, in stream-order readers (MuPDF, Acrobat)
 * and in position-order readers (poppler's pdftotext) alike.
 *
 * Left alone, cairo writes each right-to-left run's glyphs in logical order with a /ToUnicode
 * entry per glyph. poppler ignores the stream order: it sorts a line's characters by position
 * and reverses the right-to-left stretches with a simplified bidi rule, so it needs every
 * character at its own visual place and cannot tell on its own which side a space, a full stop
 * or a hyphen next to digits belongs to. So, per run (docs/architecture.md, "Right-to-left text
 * extraction"):
 *  - runs are written in logical order (the order of their text), not left to right;
 *  - a neutral cluster (space, punctuation) at the edge of a run, or a punctuation cluster
 *    inside a right-to-left run, carries its resolved direction as invisible marks around it
 *    (RLM ... RLM or LRM ... LRM, via /ActualText): the text read back is the same text plus
 *    bidi marks, which change nothing when it is displayed;
 *  - a right-to-left cluster of several characters drawn as fewer glyphs (the lam-alef
 *    ligature) gives each further character an empty glyph of its own just left of the
 *    ligature, so poppler does not reverse the characters of a ligature.
 * Lines without right-to-left runs are not touched (they are drawn in batches by draw.c).
 *
 * Threads: a bidiext_t belongs to the thread that draws. Memory: its arrays are malloc'd,
 * reused between lines and freed by bidiext_free.
 */
#ifndef CRAFTKIT_ENGINE_BIDIEXT_H
#define CRAFTKIT_ENGINE_BIDIEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <cairo.h>

#include "engine/text.h"

typedef struct bidiext {
    cairo_glyph_t *glyphs; /* in the order they are written */
    size_t ng, gcap;
    char *utf8; /* the text of the clusters, marks included */
    size_t nb, bcap;
    cairo_text_cluster_t *clusters; /* forward: no cluster flags */
    size_t nc, ccap;
} bidiext_t;

/* Whether the line has a right-to-left run (and so must be drawn through bidiext_run). */
bool bidiext_line_has_rtl(const text_line_t *line);

/* The line's runs in logical order: order[0..line->nruns) receives run indexes. order must
 * hold line->nruns entries. */
void bidiext_logical_order(const text_line_t *line, int *order);

/* Empties b (keeping its memory). */
void bidiext_reset(bidiext_t *b);

/* Appends run's glyphs (the line's origin at ox, baseline by) and their clusters to out, for
 * one cairo_show_text_glyphs(cr, out->utf8, out->nb, out->glyphs, out->ng, out->clusters,
 * out->nc, 0) in the run's font. Runs of a line in one font go into one call: cairo drops a
 * call whose glyphs are all blank, such as a lone space between two runs. 0, or -1 when out
 * of memory. */
int bidiext_add_run(bidiext_t *out, const glyph_run_t *run, double ox, double by);

void bidiext_free(bidiext_t *b);

#endif
