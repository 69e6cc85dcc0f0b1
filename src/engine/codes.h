/*
 * codes — QR codes (libqrencode) and barcodes (libzint: Code 128, EAN-13, Code 39,
 * Data Matrix, PDF417, and GS1-128, GS1 Data Matrix and GS1 QR with Application Identifiers)
 * drawn as vector shapes into a cairo context.
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

/* kind: "qr", "code128", "ean13", "code39", "datamatrix", "pdf417", "gs1-128", "gs1-datamatrix",
 * "gs1-qr". Validates data (EAN-13 digits, GS1 Application Identifiers and check digits). */
int codes_check(const char *kind, const char *data, char *err, size_t err_len);
/* Draws the symbol as vector shapes fitted into the box (keeps aspect for 2-D codes, quiet zone included); show_text adds human-readable text for 1-D codes. */
/* Whether a kind is drawn square (QR, Data Matrix: a width alone sets both sides), and whether
 * it is a 2-D symbol (no human-readable line). False for an unknown kind. */
bool codes_square(const char *kind);
bool codes_two_d(const char *kind);
int codes_draw(cairo_t *cr, const char *kind, const char *data, double x, double y, double w, double h,
               bool show_text, char *err, size_t err_len);

#endif
