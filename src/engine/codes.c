/*
 * codes — QR codes and barcodes as vector shapes; see codes.h.
 *
 * Kinds and what they accept (docs/templates.md may copy this):
 *   qr          any UTF-8 text up to about 2,300 bytes (error correction M, 4-module quiet zone;
 *               non-ASCII text carries an ECI 26 = UTF-8 marker)
 *   code128     text in ISO 8859-1 (Latin-1), up to about 100 characters
 *   ean13       12 digits (the check digit is added) or 13 digits (the check digit must match)
 *   code39      A–Z, 0–9, space and - . $ / + % (lower case is upper-cased), up to 85 characters
 *   datamatrix  any UTF-8 text (square symbols), up to about 1,500 bytes
 *   pdf417      any UTF-8 text, up to about 1,100 bytes
 *   gs1-128, gs1-datamatrix, gs1-qr
 *               GS1 element strings: Application Identifiers in brackets or parentheses with
 *               their values, "[01]09501101530003[17]260630[10]AB-123"; zint checks each AI's
 *               format and the GTIN check digit (its GS1 syntax tables)
 * Symbols are drawn with the context's current source (colour) and include their quiet zone
 * as blank space; no background is painted. 2-D codes keep their aspect ratio and are
 * centred in the box. 1-D codes get bars as tall as the box allows (same module width
 * horizontally as vertically scaled), centred; show_text adds the human-readable line under
 * them (EAN-13 in its usual groups), set with the calling thread's pango font map.
 */
#include "core/errmsg.h"
#include "engine/codes.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <pango/pangocairo.h>
#include <qrencode.h>
#include <zint.h>

#define CODES_DATA_MAX 4096       /* bytes of data accepted for any kind */
#define CODES_QR_QUIET 4          /* modules of quiet zone around a QR code */
#define CODES_MIN_BAR_HEIGHT 5.0f /* X-dimensions, when the box is very flat */
#define CODES_MAX_BAR_HEIGHT 2000.0f
#define CODES_FONT "OCR-B, DejaVu Sans Mono, monospace"

typedef enum { KIND_QR, KIND_ZINT_1D, KIND_ZINT_2D } kind_class_t;

static const struct {
    const char *name;
    kind_class_t cls;
    int symbology;
    int input_mode; /* zint's: UNICODE_MODE, or GS1_MODE for element strings */
    bool square;    /* drawn square (QR, Data Matrix) */
} kinds[] = {
    {"qr", KIND_QR, 0, UNICODE_MODE, true},
    {"code128", KIND_ZINT_1D, BARCODE_CODE128, UNICODE_MODE, false},
    {"ean13", KIND_ZINT_1D, BARCODE_EANX, UNICODE_MODE, false},
    {"code39", KIND_ZINT_1D, BARCODE_CODE39, UNICODE_MODE, false},
    {"datamatrix", KIND_ZINT_2D, BARCODE_DATAMATRIX, UNICODE_MODE, true},
    {"pdf417", KIND_ZINT_2D, BARCODE_PDF417, UNICODE_MODE, false},
    {"gs1-128", KIND_ZINT_1D, BARCODE_GS1_128, GS1_MODE, false},
    {"gs1-datamatrix", KIND_ZINT_2D, BARCODE_DATAMATRIX, GS1_MODE, true},
    {"gs1-qr", KIND_ZINT_2D, BARCODE_QRCODE, GS1_MODE, true},
};

static int kind_find(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, kind) == 0)
            return (int)i;
    return -1;
}

bool codes_square(const char *kind)
{
    int k = kind_find(kind);
    return k >= 0 && kinds[k].square;
}

bool codes_two_d(const char *kind)
{
    int k = kind_find(kind);
    return k >= 0 && kinds[k].cls != KIND_ZINT_1D;
}

/* EAN-13 rules checked here so that messages are clear (zint would also take 1–8 digits as
 * EAN-8 or add-ons). */
static int check_ean13(const char *data, char *err, size_t err_len)
{
    size_t n = strlen(data);
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)data[i]))
            return errmsg_fail(err, err_len, "ean13: data must be digits only");
    if (n != 12 && n != 13)
        return errmsg_fail(err, err_len, "ean13: needs 12 digits (or 13 with the check digit), got %zu", n);
    int sum = 0;
    for (int i = 0; i < 12; i++)
        sum += (data[i] - '0') * (i % 2 ? 3 : 1);
    int check = (10 - sum % 10) % 10;
    if (n == 13 && data[12] - '0' != check)
        return errmsg_fail(err, err_len, "ean13: check digit should be %d, not %c", check, data[12]);
    return 0;
}

/* zint messages start with "Error 123: " or "Warning 261: "; keep the readable part. */
static int zint_fail(const char *kind, const struct zint_symbol *s, char *err, size_t err_len)
{
    const char *msg = s->errtxt;
    const char *colon = strstr(msg, ": ");
    if ((strncmp(msg, "Error ", 6) == 0 || strncmp(msg, "Warning ", 8) == 0) && colon)
        msg = colon + 2;
    return errmsg_fail(err, err_len, "%s: %s", kind, *msg ? msg : "data cannot be encoded");
}

/* Creates and encodes a zint symbol (caller deletes it). bar_height 0: the default. */
static struct zint_symbol *zint_encode(int k, const char *data, bool show_text, float bar_height, char *err,
                                       size_t err_len)
{
    struct zint_symbol *s = ZBarcode_Create();
    if (!s) {
        errmsg_fail(err, err_len, "%s: out of memory", kinds[k].name);
        return NULL;
    }
    s->symbology = kinds[k].symbology;
    s->input_mode = kinds[k].input_mode;
    if (kinds[k].input_mode == GS1_MODE && data[0] == '(')
        s->input_mode |= GS1PARENS_MODE; /* "(01)…" as printed under the bars */
    s->output_options = BARCODE_QUIET_ZONES;
    s->show_hrt = show_text ? 1 : 0;
    if (kinds[k].symbology == BARCODE_DATAMATRIX)
        s->option_3 = DM_SQUARE;
    if (bar_height > 0)
        s->height = bar_height;
    int rc = ZBarcode_Encode(s, (const unsigned char *)data, (int)strlen(data));
    /* GS1 data that breaks an AI's rules (a wrong check digit, month 13) is only a warning to
     * zint; a label with it would be refused by the reader's system, so it is an error here. */
    if (rc >= ZINT_ERROR || (rc != 0 && (kinds[k].input_mode & GS1_MODE))) {
        zint_fail(kinds[k].name, s, err, err_len);
        ZBarcode_Delete(s);
        return NULL;
    }
    return s;
}

static int check_data(const char *kind, const char *data, int *k, char *err, size_t err_len)
{
    *k = kind_find(kind);
    if (*k < 0)
        return errmsg_fail(
            err, err_len,
            "unknown code kind \"%.32s\" (use qr, code128, ean13, code39, datamatrix, pdf417, gs1-128, "
            "gs1-datamatrix or gs1-qr)",
            kind ? kind : "");
    if (!data || !*data)
        return errmsg_fail(err, err_len, "%s: data is empty", kind);
    if (strnlen(data, CODES_DATA_MAX + 1) > CODES_DATA_MAX)
        return errmsg_fail(err, err_len, "%s: data is longer than %d bytes", kind, CODES_DATA_MAX);
    if (kinds[*k].symbology == BARCODE_EANX)
        return check_ean13(data, err, err_len);
    return 0;
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* ASCII text lets libqrencode pick the densest modes. Other text is sent as 8-bit bytes
 * behind an ECI 26 (UTF-8) header: without it a reader must guess the charset (QR's default
 * is Latin-1, and some readers guess Shift-JIS). */
static QRcode *qr_encode(const char *data, char *err, size_t err_len)
{
    QRcode *qr = NULL;
    errno = 0;
    if (is_ascii(data)) {
        qr = QRcode_encodeString(data, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    } else {
        QRinput *in = QRinput_new2(0, QR_ECLEVEL_M);
        if (in && QRinput_appendECIheader(in, 26) == 0 &&
            QRinput_append(in, QR_MODE_8, (int)strlen(data), (const unsigned char *)data) == 0)
            qr = QRcode_encodeInput(in);
        int saved = errno;
        QRinput_free(in);
        errno = saved;
    }
    if (!qr)
        errmsg_fail(err, err_len,
                    errno == ERANGE ? "qr: data is too long for a QR code" : "qr: data cannot be encoded");
    return qr;
}

int codes_check(const char *kind, const char *data, char *err, size_t err_len)
{
    int k;
    if (check_data(kind, data, &k, err, err_len) != 0)
        return -1;
    if (kinds[k].cls == KIND_QR) {
        QRcode *qr = qr_encode(data, err, err_len);
        QRcode_free(qr);
        return qr ? 0 : -1;
    }
    struct zint_symbol *s = zint_encode(k, data, false, 0, err, err_len);
    ZBarcode_Delete(s);
    return s ? 0 : -1;
}

/* ---- drawing ------------------------------------------------------------------------- */

/* Maps a content box of cw×ch units into (x, y, w, h), uniformly scaled and centred. */
static void fit_uniform(cairo_t *cr, double x, double y, double w, double h, double cw, double ch)
{
    double s = fmin(w / cw, h / ch);
    cairo_translate(cr, x + (w - cw * s) / 2, y + (h - ch * s) / 2);
    cairo_scale(cr, s, s);
}

static void draw_qr(cairo_t *cr, const QRcode *qr, double x, double y, double w, double h)
{
    int n = qr->width;
    fit_uniform(cr, x, y, w, h, n + 2 * CODES_QR_QUIET, n + 2 * CODES_QR_QUIET);
    cairo_translate(cr, CODES_QR_QUIET, CODES_QR_QUIET);
    cairo_new_path(cr);
    for (int r = 0; r < n; r++) {
        for (int c = 0; c < n;) { /* one rectangle per horizontal run of dark modules */
            if (!(qr->data[r * n + c] & 1)) {
                c++;
                continue;
            }
            int start = c;
            while (c < n && (qr->data[r * n + c] & 1))
                c++;
            cairo_rectangle(cr, start, r, c - start, 1);
        }
    }
    cairo_fill(cr);
}

static void hexagon_path(cairo_t *cr, const struct zint_vector_hexagon *hx)
{
    double r = hx->diameter / 2;
    for (int i = 0; i < 6; i++) {
        double a = (90.0 + hx->rotation + 60.0 * i) * M_PI / 180.0;
        double px = hx->x + r * cos(a), py = hx->y + r * sin(a);
        if (i == 0)
            cairo_move_to(cr, px, py);
        else
            cairo_line_to(cr, px, py);
    }
    cairo_close_path(cr);
}

/* Rectangles, hexagons and foreground circles of a zint vector as one filled path (our
 * symbologies only produce rectangles; the rest is for completeness). */
static void draw_zint_shapes(cairo_t *cr, const struct zint_vector *v)
{
    cairo_new_path(cr);
    for (const struct zint_vector_rect *r = v->rectangles; r; r = r->next)
        if (r->colour <= 0 || r->colour == 7) /* foreground or explicit black */
            cairo_rectangle(cr, r->x, r->y, r->width, r->height);
    for (const struct zint_vector_hexagon *hx = v->hexagons; hx; hx = hx->next)
        hexagon_path(cr, hx);
    cairo_fill(cr);
    for (const struct zint_vector_circle *c = v->circles; c; c = c->next) {
        if (c->colour)
            continue;
        cairo_new_sub_path(cr);
        if (c->width > 0) {
            cairo_arc(cr, c->x, c->y, c->diameter / 2, 0, 2 * M_PI);
            cairo_set_line_width(cr, c->width);
            cairo_stroke(cr);
        } else {
            cairo_arc(cr, c->x, c->y, c->diameter / 2, 0, 2 * M_PI);
            cairo_fill(cr);
        }
    }
}

/* Human-readable text at zint's positions (y is the baseline), shrunk to zint's suggested
 * width when the font is wider. */
static void draw_zint_strings(cairo_t *cr, const struct zint_vector *v)
{
    for (const struct zint_vector_string *t = v->strings; t; t = t->next) {
        PangoLayout *layout = pango_cairo_create_layout(cr);
        PangoFontDescription *fd = pango_font_description_from_string(CODES_FONT);
        double size = t->fsize;
        pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
        pango_layout_set_font_description(layout, fd);
        pango_layout_set_text(layout, (const char *)t->text, -1);
        PangoRectangle ink, logical;
        pango_layout_get_extents(layout, &ink, &logical);
        double tw = (double)logical.width / PANGO_SCALE;
        if (t->width > 0 && tw > t->width) {
            size *= t->width / tw;
            pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
            pango_layout_set_font_description(layout, fd);
            pango_layout_get_extents(layout, &ink, &logical);
            tw = (double)logical.width / PANGO_SCALE;
        }
        double left = t->halign == 1 ? t->x : t->halign == 2 ? t->x - tw : t->x - tw / 2;
        double baseline = (double)pango_layout_get_baseline(layout) / PANGO_SCALE;
        cairo_move_to(cr, left, t->y - baseline);
        pango_cairo_show_layout(cr, layout);
        pango_font_description_free(fd);
        g_object_unref(layout);
    }
}

/* 1-D codes: encode once to learn the proportions, then again with the bar height that makes
 * the symbol's aspect ratio match the box, so one uniform scale fills it. */
static struct zint_symbol *zint_encode_fitted(int k, const char *data, bool show_text, double w, double h,
                                              char *err, size_t err_len)
{
    struct zint_symbol *s = zint_encode(k, data, show_text, 0, err, err_len);
    if (!s)
        return NULL;
    if (ZBarcode_Buffer_Vector(s, 0) >= ZINT_ERROR) {
        zint_fail(kinds[k].name, s, err, err_len);
        ZBarcode_Delete(s);
        return NULL;
    }
    if (kinds[k].cls != KIND_ZINT_1D)
        return s;
    /* vector units are 2 per X-dimension; everything but the bars (text, guard descent)
     * keeps its size when the bar height changes */
    float extra = s->vector->height - 2.0f * s->height;
    float bars = (float)(s->vector->width * (h / w) - extra) / 2.0f;
    bars = fminf(fmaxf(bars, CODES_MIN_BAR_HEIGHT), CODES_MAX_BAR_HEIGHT);
    ZBarcode_Delete(s);
    s = zint_encode(k, data, show_text, bars, err, err_len);
    if (s && ZBarcode_Buffer_Vector(s, 0) >= ZINT_ERROR) {
        zint_fail(kinds[k].name, s, err, err_len);
        ZBarcode_Delete(s);
        return NULL;
    }
    return s;
}

int codes_draw(cairo_t *cr, const char *kind, const char *data, double x, double y, double w, double h,
               bool show_text, char *err, size_t err_len)
{
    int k;
    if (!cr)
        return errmsg_fail(err, err_len, "no drawing context");
    if (check_data(kind, data, &k, err, err_len) != 0)
        return -1;
    if (!isfinite(x) || !isfinite(y) || !isfinite(w) || !isfinite(h) || w <= 0 || h <= 0)
        return errmsg_fail(err, err_len, "%s: the box must have a positive width and height", kind);

    if (kinds[k].cls == KIND_QR) {
        QRcode *qr = qr_encode(data, err, err_len);
        if (!qr)
            return -1;
        cairo_save(cr);
        draw_qr(cr, qr, x, y, w, h);
        cairo_restore(cr);
        QRcode_free(qr);
        return 0;
    }
    struct zint_symbol *s =
        zint_encode_fitted(k, data, show_text && kinds[k].cls == KIND_ZINT_1D, w, h, err, err_len);
    if (!s)
        return -1;
    cairo_save(cr);
    fit_uniform(cr, x, y, w, h, s->vector->width, s->vector->height);
    draw_zint_shapes(cr, s->vector);
    draw_zint_strings(cr, s->vector);
    cairo_restore(cr);
    ZBarcode_Delete(s);
    return 0;
}
