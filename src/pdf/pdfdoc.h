/*
 * pdfdoc — reads PDF files that clients upload (the bases of pdf-overlay templates) with
 * libqpdf: checks that one is a sound, bounded PDF and describes its pages.
 *
 * libqpdf is C++; this header is the C face of pdfdoc.cpp. Every entry point catches every
 * exception (qpdf's and std::bad_alloc) and turns it into a -1 return with a message: no C++
 * exception ever crosses into C.
 *
 * What "sound and bounded" means (the PDF bomb defences, docs/architecture.md): the file
 * starts with %PDF-, its cross-reference table is intact (no repair of damaged or truncated
 * files), it opens without a password (encrypted files open only with an empty user
 * password), it has 1..PDFDOC_MAX_PAGES pages, at most PDFDOC_MAX_OBJECTS objects, no
 * container nested deeper than PDFDOC_MAX_DEPTH, and every stream decodes (Flate, LZW,
 * ASCII filters; images stay encoded) to at most PDFDOC_MAX_STREAM_BYTES, all of them together
 * to at most PDFDOC_MAX_DECODED_BYTES. Decoding is streamed into a counter, so checking a file
 * takes memory in proportion to its size, not to what it expands to.
 *
 * Threads: any; calls share nothing. Memory: pdfdoc_check fills a caller-owned struct and
 * *pages, a new JSON reference the caller owns (may be NULL).
 */
#ifndef CRAFTKIT_PDF_PDFDOC_H
#define CRAFTKIT_PDF_PDFDOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PDFDOC_MAX_PAGES 2000
#define PDFDOC_MAX_OBJECTS 1000000
#define PDFDOC_MAX_DEPTH 100
#define PDFDOC_MAX_STREAM_BYTES ((size_t)128 << 20)
#define PDFDOC_MAX_DECODED_BYTES ((size_t)512 << 20)

typedef struct pdfdoc_info {
    int pages;    /* page count */
    double width; /* page 1 as it is shown: crop box, after /Rotate (pt) */
    double height;
    int rotate;      /* page 1's /Rotate: 0, 90, 180 or 270 */
    bool encrypted;  /* opened with the empty user password */
    int form_fields; /* terminal AcroForm fields */
    char version[8]; /* "1.7" */
} pdfdoc_info_t;

/* true when the bytes look like a PDF (the %PDF- header within the first 1024 bytes). */
bool pdfdoc_sniff(const unsigned char *data, size_t len);

/* Checks data (see above) and describes it. *pages (when pages != NULL) gets
 * [{page, width, height, rotate}] for every page, sizes as shown. 0, or -1 with a message
 * that completes "The PDF ..." (e.g. "is encrypted and needs a password"). */
int pdfdoc_check(const unsigned char *data, size_t len, pdfdoc_info_t *info, json_t **pages, char *err,
                 size_t err_len);

/* ---- merging (renders of pdf-overlay templates) ---- */

/* A base PDF made into the rendered document, in one pass over it:
 * 1. fill (may be NULL): {"<fully qualified field name>": value} sets AcroForm fields — a
 *    string for text and choice fields (a choice must be one of its options), true/false for a
 *    checkbox, the state name (e.g. "L") for a radio group, or null to leave one alone —
 *    and regenerates their appearances so every viewer shows the values;
 * 2. flatten: the form's widgets become page content and the AcroForm goes (the values can no
 *    longer be edited); without it the fields stay live with their new values;
 * 3. overlay (may be NULL): a PDF with one page per base page, each of the size the base page is
 *    shown at (pdfdoc_check's sizes) or larger (then only its top-left part of the base page's
 *    shown size is used, at scale 1: a base of mixed sizes takes one overlay of the largest)
 *    and drawn upright; each non-empty page is stamped over
 *    its base page's crop box as a form XObject (keeping the overlay page's compressed content
 *    stream), turned back by the page's /Rotate, after the base's own content (which is wrapped
 *    in q/Q and otherwise left as it was; pages share identical wrapping streams).
 * Streams of the base are written as they were stored (not decoded, not recompressed); the
 * output is unencrypted. *out gets malloc'd bytes (caller frees). 0, or -1 with a message
 * completing "The PDF ..." / naming the field. */
int pdfdoc_merge(const unsigned char *base, size_t base_len, const json_t *fill, bool flatten,
                 const unsigned char *overlay, size_t overlay_len, unsigned char **out, size_t *out_len,
                 char *err, size_t err_len);

/* The base's AcroForm fields: [{name, type ("text"|"checkbox"|"radio"|"choice"|"button"|
 * "signature"), value?, options?: [..] (choice options, radio/checkbox on states), page,
 * rect: [x, y, width, height] (pt, from the shown page's top-left, of its first widget)}],
 * at most PDFDOC_MAX_FIELDS. New reference in *fields. 0, or -1 with a message. */
#define PDFDOC_MAX_FIELDS 5000
int pdfdoc_fields(const unsigned char *data, size_t len, json_t **fields, char *err, size_t err_len);

/* ---- merging many files (the merged output of batches, issue 22) ---- */

#define PDFDOC_NOTE_LINES_PER_PAGE 50 /* lines of the note on each of its pages */
#define PDFDOC_NOTE_LINE_MAX 200      /* bytes of a note line shown; longer ones are cut */
/* parts up to this size are read whole and parsed from memory; larger ones from the file */
#define PDFDOC_PART_READ_WHOLE_MAX ((size_t)16 << 20)

/* One file to merge and its outline entry. */
typedef struct pdfdoc_part {
    const char *path;  /* a PDF file: any PDF (not checked as pdfdoc_check does; see below) */
    const char *title; /* its bookmark (UTF-8) */
} pdfdoc_part_t;

/* Writes out_path (created or replaced): every page of parts[0..n) in order, one top-level
 * outline entry per part pointing at its first page (the document opens with the outline
 * shown), then, when note is not NULL, note's lines ('\n'-separated, ASCII; other bytes show
 * as '?') on A4 pages of their own in Helvetica, with an outline entry note_title.
 * Streaming (an incremental writer, docs/architecture.md "Merged batch output"): one part at a
 * time is parsed by qpdf, the objects its pages reach are written renumbered straight to
 * out_path (streams as stored: still compressed) and the part is dropped; what stays is the
 * offset of every object written (8 bytes) and the page numbers, then the page tree, outline,
 * catalog, info and cross-reference table are written at the end. Memory: one part plus a few
 * bytes per object. A part's inherited page attributes (/Resources, /MediaBox, /CropBox,
 * /Rotate) are copied onto its pages; references to its catalog and page tree (beyond a page's
 * /Parent, replaced) become null, so document-level structures (AcroForm, named destinations,
 * structure tree) do not come along. Object and cross-reference streams are read; the output
 * has neither. An encrypted part opens only with the empty user password and is written
 * decrypted; one that needs a password is refused. The output is deterministic (its /ID is
 * the MD5 of its bytes), so merging the same parts again writes the same bytes.
 * *pages (may be NULL) gets the output's page count. 0, or -1 + err naming the part
 * ("part 3 (<path>) could not be read (...)", "... is encrypted and needs a password"); on
 * failure out_path is removed. */
int pdfdoc_merge_files(const pdfdoc_part_t *parts, size_t n, const char *note_title, const char *note,
                       const char *out_path, int *pages, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
