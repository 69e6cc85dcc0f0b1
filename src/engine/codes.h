/*
 * codes — QR codes (libqrencode) and barcodes (libzint: Code 128, EAN-13, Code 39,
 * Data Matrix, PDF417) drawn as vector shapes into a cairo context.
 *
 * Pure: no global mutable state; callable from any thread with that thread's own cairo_t
 * (the human-readable text uses the calling thread's default pango font map).
 * Memory: nothing is returned; everything allocated internally is freed before returning.
 */
#ifndef CRAFTKIT_ENGINE_CODES_H
#define CRAFTKIT_ENGINE_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include <cairo.h>

/* kind: "qr", "code128", "ean13", "code39", "datamatrix", "pdf417". Validates data (e.g. EAN-13 digits). */
int codes_check(const char *kind, const char *data, char *err, size_t err_len);
/* Draws the symbol as vector shapes fitted into the box (keeps aspect for 2-D codes, quiet zone included); show_text adds human-readable text for 1-D codes. */
int codes_draw(cairo_t *cr, const char *kind, const char *data, double x, double y, double w, double h,
               bool show_text, char *err, size_t err_len);

#endif
