/*
 * image — PNG/JPEG/SVG loading (http(s), data: URIs, assets) and drawing; see image.h.
 *
 * Sources:
 *   https://… / http://…   fetched with libcurl through core/netguard (private addresses
 *                          refused unless allow_private), no redirects, only 2xx, a total
 *                          timeout, and the size cap enforced while the body arrives.
 *   data:image/…;base64,…  decoded locally, same size cap.
 *   asset:NAME             the file NAME directly inside assets_dir (letters, digits, '.',
 *                          '_', '-', ' '; no '/', no leading '.', symlinks not followed).
 * The format is sniffed from the bytes (PNG signature, JPEG SOI, or XML text with <svg); the
 * Content-Type or data: media type is not trusted. Raster images are limited to
 * IMAGE_MAX_SIDE pixels per side and IMAGE_MAX_PIXELS in all, checked from the header before
 * decoding. JPEG keeps its original bytes as cairo MIME data (PDF output embeds them
 * unchanged; CMYK JPEGs are converted to RGB instead). A JPEG's EXIF orientation (phone
 * photos are stored sideways with a tag saying so) is applied when drawing, as a transform,
 * so the embedded bytes stay the camera's.
 *
 * Error messages are predicates meant to follow "image at <field> ":
 *   could not be fetched: HTTP 404 | timed out after 10000 ms |
 *     address is not allowed (private network) | <curl's reason>
 *   is larger than 5242880 bytes
 *   is not a PNG, JPEG or SVG image
 *   is too large: 20000x20000 pixels (at most 10000 per side, 50000000 in all)
 *   could not be decoded: <reason>
 *   is not a valid image source / data URI / asset name: <reason>
 *   could not be read: no asset named "logo.png"
 */
#include "engine/image.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jpeglib.h>
#include <librsvg/rsvg.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/netguard.h"
#include "core/timeutil.h"
#include <craftkit/engine.h>

#define IMAGE_DEFAULT_TIMEOUT_MS 10000
#define IMAGE_DEFAULT_MAX_BYTES (5u << 20)
#define IMAGE_MAX_SIDE 10000        /* pixels per side of a raster image */
#define IMAGE_MAX_PIXELS 50000000L  /* pixels in all (≈200 MB decoded) */
#define IMAGE_SVG_MAX_SIDE 100000.0 /* intrinsic px of an SVG */
#define IMAGE_SVG_FILTER_SURFACES 4 /* surfaces of the drawn size a filtered SVG may need at once */
#define IMAGE_CACHE_ENTRIES 32
#define IMAGE_CACHE_BYTES (32u << 20)
#define IMAGE_CACHE_TTL_MS (5 * 60 * 1000) /* fetched/asset images are re-read after this */
#define IMAGE_ASSET_NAME_MAX 255
#define IMAGE_PROJECT_ASSET_MAX (256u << 20) /* checked on upload; this only bounds a bad path */
#define PX_TO_PT 0.75                        /* 72 pt per inch / 96 px per inch */

typedef enum { IMAGE_RASTER, IMAGE_SVG } image_kind_t;

struct image {
    atomic_int refs;
    image_kind_t kind;
    double width_px, height_px; /* as displayed: after the EXIF orientation */
    int orientation;            /* EXIF 1..8 (1 = as stored); rasters only */
    size_t mem_bytes;           /* approximate memory held, for the cache budget */
    uint64_t counted_in;        /* the loader's render (budget_epoch) that counted it last */
    bool svg_filters;           /* an SVG that may use filters (rasterised when drawn) */
    cairo_surface_t *surface;   /* IMAGE_RASTER */
    RsvgHandle *svg;            /* IMAGE_SVG */
};

typedef struct {
    uint8_t key[CRYPTO_SHA256_LEN]; /* sha256 of the src text */
    image_t *img;                   /* NULL: empty slot */
    uint64_t last_used;
    int64_t expires_ms; /* 0: never (data: URIs are their own content) */
} cache_entry_t;

struct image_loader {
    int timeout_ms;
    int64_t deadline_mono_ms; /* of the render under way; 0 = none */
    size_t max_bytes;
    bool allow_private;
    char *assets_dir;
    const engine_asset_t *project_assets; /* this render's (image_loader_set_assets), or NULL */
    size_t nproject_assets;
    CURL *curl;
    netguard_t guard;
    uint64_t tick;
    size_t cache_bytes;
    cache_entry_t cache[IMAGE_CACHE_ENTRIES];
    size_t budget, budget_used; /* decoded bytes this render may hold (0 = no limit), and holds */
    uint64_t budget_epoch;      /* one per render */
};

/* Bytes the decoder on this thread may still produce for the render under way (set by
 * image_load around decode_image; the decoders have no loader). */
static _Thread_local size_t decode_budget_left = SIZE_MAX;

/* ---- image objects ------------------------------------------------------------------- */

static image_t *image_new(image_kind_t kind)
{
    image_t *img = calloc(1, sizeof *img);
    if (img) {
        atomic_init(&img->refs, 1);
        img->kind = kind;
        img->orientation = 1;
    }
    return img;
}

void image_ref(image_t *img)
{
    if (img)
        atomic_fetch_add(&img->refs, 1);
}

void image_unref(image_t *img)
{
    if (!img || atomic_fetch_sub(&img->refs, 1) != 1)
        return;
    if (img->surface)
        cairo_surface_destroy(img->surface);
    if (img->svg)
        g_object_unref(img->svg);
    free(img);
}

void image_size(const image_t *img, double *w, double *h)
{
    *w = img ? img->width_px * PX_TO_PT : 0;
    *h = img ? img->height_px * PX_TO_PT : 0;
}

static int too_many_pixels(long w, long h, char *err, size_t err_len)
{
    return errmsg_fail(err, err_len, "is too large: %ldx%ld pixels (at most %d per side, %ld in all)", w, h,
                       IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
}

static bool pixels_ok(long w, long h)
{
    return w > 0 && h > 0 && w <= IMAGE_MAX_SIDE && h <= IMAGE_MAX_SIDE && w * h <= IMAGE_MAX_PIXELS;
}

/* Checked from the header, before a byte is decoded: the render's image memory budget. */
static int over_budget(long w, long h, char *err, size_t err_len)
{
    size_t need = (size_t)w * (size_t)h * 4;
    if (need <= decode_budget_left)
        return 0;
    return errmsg_fail(err, err_len,
                       "does not fit in the render's memory budget: %ldx%ld pixels need %zu MB decoded, "
                       "%zu MB are left for images",
                       w, h, need >> 20, decode_budget_left >> 20);
}

/* ---- PNG ----------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len, pos;
} mem_reader_t;

static cairo_status_t read_mem(void *closure, unsigned char *dst, unsigned int len)
{
    mem_reader_t *r = closure;
    if (r->len - r->pos < len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(dst, r->data + r->pos, len);
    r->pos += len;
    return CAIRO_STATUS_SUCCESS;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int decode_png(const uint8_t *data, size_t len, image_t **out, char *err, size_t err_len)
{
    /* signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4) */
    if (len < 24 || memcmp(data + 12, "IHDR", 4) != 0)
        return errmsg_fail(err, err_len, "could not be decoded: PNG header is missing");
    long w = be32(data + 16), h = be32(data + 20);
    if (!pixels_ok(w, h))
        return too_many_pixels(w, h, err, err_len);
    if (over_budget(w, h, err, err_len))
        return -1;
    mem_reader_t r = {data, len, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(read_mem, &r);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        int rc = errmsg_fail(err, err_len, "could not be decoded: %s",
                             cairo_status_to_string(cairo_surface_status(s)));
        cairo_surface_destroy(s);
        return rc;
    }
    image_t *img = image_new(IMAGE_RASTER);
    if (!img) {
        cairo_surface_destroy(s);
        return errmsg_fail(err, err_len, "could not be decoded: out of memory");
    }
    img->surface = s;
    img->width_px = cairo_image_surface_get_width(s);
    img->height_px = cairo_image_surface_get_height(s);
    img->mem_bytes = (size_t)cairo_image_surface_get_stride(s) * (size_t)img->height_px;
    *out = img;
    return 0;
}

/* ---- JPEG ---------------------------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err_t;

static void jpeg_error_exit(j_common_ptr cinfo)
{
    jpeg_err_t *e = (jpeg_err_t *)cinfo->err;
    e->mgr.format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level)
{
    (void)cinfo, (void)level;
}

/* Adobe CMYK JPEGs store inverted values; plain ones do not. */
static void cmyk_row_to_rgb24(const JSAMPLE *in, uint32_t *out, JDIMENSION width, bool inverted)
{
    for (JDIMENSION x = 0; x < width; x++, in += 4) {
        unsigned c = in[0], m = in[1], y = in[2], k = in[3];
        if (!inverted)
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        uint32_t r = c * k / 255, g = m * k / 255, b = y * k / 255;
        out[x] = r << 16 | g << 8 | b;
    }
}

static uint16_t exif_u16(const uint8_t *p, bool le)
{
    return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t exif_u32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : be32(p);
}

/* The Orientation tag (0x0112) of an APP1 "Exif" payload's first IFD: 1..8, or 1 when it is
 * absent or anything about it is malformed (every offset is checked against len). */
static int exif_orientation(const uint8_t *d, size_t len)
{
    if (len < 14 || memcmp(d, "Exif\0\0", 6) != 0)
        return 1;
    const uint8_t *tiff = d + 6;
    size_t n = len - 6;
    bool le = tiff[0] == 'I' && tiff[1] == 'I';
    if (!le && !(tiff[0] == 'M' && tiff[1] == 'M'))
        return 1;
    if (exif_u16(tiff + 2, le) != 42)
        return 1;
    uint32_t ifd = exif_u32(tiff + 4, le);
    if (ifd > n || n - ifd < 2)
        return 1;
    unsigned entries = exif_u16(tiff + ifd, le);
    for (unsigned i = 0; i < entries; i++) {
        size_t at = (size_t)ifd + 2 + (size_t)i * 12;
        if (at + 12 > n)
            return 1;
        const uint8_t *e = tiff + at;
        if (exif_u16(e, le) != 0x0112)
            continue;
        unsigned v = exif_u16(e + 2, le) == 3 /* SHORT */ ? exif_u16(e + 8, le) : 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* What a JPEG decode owns. Heap-allocated before setjmp, so that after a longjmp from
 * libjpeg the error path still sees everything that has to be freed. */
typedef struct {
    struct jpeg_decompress_struct ci;
    jpeg_err_t err;
    cairo_surface_t *surface;
    JSAMPLE *row; /* CMYK scanline */
    bool cmyk;
} jpeg_job_t;

/* Decompresses into job->surface (RGB24); may longjmp out on corrupt data. */
static bool jpeg_to_surface(jpeg_job_t *job)
{
    struct jpeg_decompress_struct *ci = &job->ci;
    job->surface =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ci->image_width, (int)ci->image_height);
    if (cairo_surface_status(job->surface) != CAIRO_STATUS_SUCCESS)
        return false;
    job->cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    if (job->cmyk) {
        ci->out_color_space = JCS_CMYK;
        job->row = malloc((size_t)ci->image_width * 4);
        if (!job->row)
            return false;
    } else {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        ci->out_color_space = JCS_EXT_BGRX; /* cairo RGB24 in little-endian memory order */
#else
        ci->out_color_space = JCS_EXT_XRGB;
#endif
    }
    jpeg_start_decompress(ci);
    unsigned char *pixels = cairo_image_surface_get_data(job->surface);
    int stride = cairo_image_surface_get_stride(job->surface);
    while (ci->output_scanline < ci->output_height) {
        unsigned char *dst = pixels + (size_t)ci->output_scanline * (size_t)stride;
        JSAMPROW rows[1] = {job->cmyk ? job->row : dst};
        jpeg_read_scanlines(ci, rows, 1);
        if (job->cmyk)
            cmyk_row_to_rgb24(job->row, (uint32_t *)dst, ci->output_width, ci->saw_Adobe_marker);
    }
    jpeg_finish_decompress(ci);
    cairo_surface_mark_dirty(job->surface);
    return true;
}

static void jpeg_job_free(jpeg_job_t *job)
{
    jpeg_destroy_decompress(&job->ci);
    if (job->surface)
        cairo_surface_destroy(job->surface);
    free(job->row);
    free(job);
}

static int decode_jpeg(const uint8_t *data, size_t len, image_t **out, char *err, size_t err_len)
{
    jpeg_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return errmsg_fail(err, err_len, "could not be decoded: out of memory");
    job->ci.err = jpeg_std_error(&job->err.mgr);
    job->err.mgr.error_exit = jpeg_error_exit;
    job->err.mgr.emit_message = jpeg_quiet;
    if (setjmp(job->err.jump)) {
        int rc = errmsg_fail(err, err_len, "could not be decoded: %s", job->err.msg);
        jpeg_job_free(job);
        return rc;
    }
    jpeg_create_decompress(&job->ci);
    jpeg_mem_src(&job->ci, data, (unsigned long)len);
    jpeg_save_markers(&job->ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&job->ci, TRUE);
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = job->ci.marker_list; m && orientation == 1; m = m->next)
        if (m->marker == JPEG_APP0 + 1)
            orientation = exif_orientation(m->data, m->data_length);
    long w = (long)job->ci.image_width, h = (long)job->ci.image_height;
    if (!pixels_ok(w, h) || over_budget(w, h, err, err_len)) {
        jpeg_job_free(job);
        return pixels_ok(w, h) ? -1 : too_many_pixels(w, h, err, err_len);
    }
    image_t *img = NULL;
    unsigned char *copy = NULL;
    if (!jpeg_to_surface(job) || !(img = image_new(IMAGE_RASTER)) || (!job->cmyk && !(copy = malloc(len)))) {
        free(img);
        jpeg_job_free(job);
        return errmsg_fail(err, err_len, "could not be decoded: out of memory");
    }
    cairo_surface_t *s = job->surface;
    job->surface = NULL;
    bool cmyk = job->cmyk;
    jpeg_job_free(job);
    if (copy) { /* the PDF backend embeds these bytes instead of re-encoding the pixels */
        memcpy(copy, data, len);
        if (cairo_surface_set_mime_data(s, CAIRO_MIME_TYPE_JPEG, copy, len, free, copy) !=
            CAIRO_STATUS_SUCCESS)
            free(copy);
    }
    img->surface = s;
    img->orientation = orientation;
    bool swapped = orientation >= 5; /* 5..8 turn the picture a quarter */
    img->width_px = swapped ? cairo_image_surface_get_height(s) : cairo_image_surface_get_width(s);
    img->height_px = swapped ? cairo_image_surface_get_width(s) : cairo_image_surface_get_height(s);
    img->mem_bytes = (size_t)cairo_image_surface_get_stride(s) * (size_t)cairo_image_surface_get_height(s) +
                     (cmyk ? 0 : len);
    *out = img;
    return 0;
}

/* ---- SVG ----------------------------------------------------------------------------- */

static int decode_svg(const uint8_t *data, size_t len, image_t **out, char *err, size_t err_len)
{
    /* Entity declarations are refused outright: they are the billion-laughs vector, and
     * librsvg 2.54 leaks every declared entity value (so a client could leak memory at
     * will). Entities can only be declared in the DTD, so any "<!ENTITY" is enough. */
    if (memmem(data, len, "<!ENTITY", 8))
        return errmsg_fail(err, err_len,
                           "could not be decoded: SVG entity declarations "
                           "(<!ENTITY ...>) are not supported");
    GError *gerr = NULL;
    /* No base URI: librsvg then refuses every external reference (files, URLs); only
     * data: URLs inside the document can load. Entity/size limits stay on (no
     * RSVG_HANDLE_FLAG_UNLIMITED). */
    RsvgHandle *h = rsvg_handle_new_from_data(data, len, &gerr);
    if (!h) {
        int rc = errmsg_fail(err, err_len, "could not be decoded: %s",
                             gerr && gerr->message ? gerr->message : "invalid SVG");
        g_clear_error(&gerr);
        return rc;
    }
    rsvg_handle_set_dpi(h, 96.0);
    double w = 0, h_px = 0;
    if (!rsvg_handle_get_intrinsic_size_in_pixels(h, &w, &h_px)) {
        gboolean has_w, has_h, has_vb;
        RsvgLength lw, lh;
        RsvgRectangle vb;
        rsvg_handle_get_intrinsic_dimensions(h, &has_w, &lw, &has_h, &lh, &has_vb, &vb);
        if (has_vb && vb.width > 0 && vb.height > 0) {
            w = vb.width;
            h_px = vb.height;
        } else { /* like a browser's replaced element without a size */
            w = 300;
            h_px = 150;
        }
    }
    if (!(w > 0 && h_px > 0 && w <= IMAGE_SVG_MAX_SIDE && h_px <= IMAGE_SVG_MAX_SIDE)) {
        g_object_unref(h);
        return errmsg_fail(err, err_len, "could not be decoded: SVG size %gx%g is out of range", w, h_px);
    }
    image_t *img = image_new(IMAGE_SVG);
    if (!img) {
        g_object_unref(h);
        return errmsg_fail(err, err_len, "could not be decoded: out of memory");
    }
    img->svg = h;
    img->svg_filters = memmem(data, len, "filter", 6) != NULL;
    img->width_px = w;
    img->height_px = h_px;
    img->mem_bytes = len * 4 + 4096; /* the parsed tree is a few times the text */
    *out = img;
    return 0;
}

/* XML text whose first element is <svg> (after a BOM, blanks, <?xml?>, comments, DOCTYPE). */
static bool looks_like_svg(const uint8_t *data, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && isspace(data[i]))
        i++;
    if (i >= len || data[i] != '<')
        return false;
    size_t window = len - i < 4096 ? len - i : 4096;
    for (size_t j = i; j + 4 <= i + window; j++)
        if (memcmp(data + j, "<svg", 4) == 0)
            return true;
    return false;
}

static int decode_image(const uint8_t *data, size_t len, image_t **out, char *err, size_t err_len)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (len >= 8 && memcmp(data, png_sig, 8) == 0)
        return decode_png(data, len, out, err, err_len);
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, len, out, err, err_len);
    if (looks_like_svg(data, len))
        return decode_svg(data, len, out, err, err_len);
    return errmsg_fail(err, err_len, "is not a PNG, JPEG or SVG image");
}

/* Case-insensitive memmem for ASCII needles. */
static const uint8_t *find_ci(const uint8_t *h, size_t hlen, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= hlen && i <= hlen - n; i++)
        if (strncasecmp((const char *)h + i, needle, n) == 0)
            return h + i;
    return NULL;
}

/* XML's blanks (S): allowed around an attribute's '=' and before its value. */
static bool xml_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether a reference value (after href= or url() stays inside the document. */
static bool reference_internal(const uint8_t *v, const uint8_t *end)
{
    while (v < end && (xml_blank(*v) || *v == '\'' || *v == '"'))
        v++;
    return v < end &&
           (*v == '#' || ((size_t)(end - v) >= 5 && strncasecmp((const char *)v, "data:", 5) == 0));
}

/* Whether d[i..] is an on…= event attribute: a blank, "on", letters, blanks, '='. */
static bool event_attribute_at(const uint8_t *d, size_t len, size_t i)
{
    if (!xml_blank(d[i]) || tolower(d[i + 1]) != 'o' || tolower(d[i + 2]) != 'n')
        return false;
    size_t j = i + 3;
    while (j < len && isalpha(d[j]))
        j++;
    size_t name_end = j;
    while (j < len && xml_blank(d[j]))
        j++;
    return name_end > i + 3 && j < len && d[j] == '=';
}

/* Whether d[i..] starts a reference (href=, url(, src=) to something outside the document. */
static bool external_reference_at(const uint8_t *d, size_t len, size_t i)
{
    static const char *const refs[] = {"href", "url(", "src"};
    const uint8_t *end = d + len;
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(refs[k]);
        if (i + n > len || strncasecmp((const char *)d + i, refs[k], n) != 0)
            continue;
        const uint8_t *v = d + i + n;
        if (k != 1) { /* an attribute: blanks, '=' */
            while (v < end && xml_blank(*v))
                v++;
            if (v >= end || *v != '=')
                continue;
            v++;
        }
        if (!reference_internal(v, end))
            return true;
    }
    return false;
}

/* Uploaded SVG must be self-contained and inert (it is also served back to browsers). */
static int svg_self_contained(const uint8_t *d, size_t len, char *err, size_t err_len)
{
    if (find_ci(d, len, "<script") || find_ci(d, len, "javascript:"))
        return errmsg_fail(err, err_len, "is an SVG with a script, which is not allowed");
    if (find_ci(d, len, "<foreignObject"))
        return errmsg_fail(err, err_len,
                           "is an SVG with <foreignObject> (HTML content), which is not allowed");
    if (find_ci(d, len, "@import"))
        return errmsg_fail(err, err_len,
                           "is an SVG with an external reference (@import), which is not allowed");
    for (size_t i = 0; i + 2 < len; i++) {
        if (event_attribute_at(d, len, i))
            return errmsg_fail(err, err_len, "is an SVG with an event handler attribute (a script)");
        if (external_reference_at(d, len, i))
            return errmsg_fail(
                err, err_len,
                "is an SVG with an external reference (only \"#id\" and data: URIs are allowed)");
        /* A CSS escape can spell url( or @import past the checks above (u\72l(…)). */
        if (d[i] == '\\' && (isxdigit(d[i + 1]) || isalpha(d[i + 1]) || d[i + 1] == '('))
            return errmsg_fail(err, err_len,
                               "is an SVG with a backslash escape (CSS escapes are not allowed: write the "
                               "characters themselves)");
    }
    return 0;
}

int image_probe(const uint8_t *data, size_t len, const char **media_type, double *w_px, double *h_px,
                char *err, size_t err_len)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (len >= 8 && memcmp(data, png_sig, 8) == 0)
        *media_type = "image/png";
    else if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        *media_type = "image/jpeg";
    else if (looks_like_svg(data, len)) {
        *media_type = "image/svg+xml";
        if (svg_self_contained(data, len, err, err_len) != 0)
            return -1;
    } else
        return errmsg_fail(err, err_len, "is not a PNG, JPEG or SVG image");
    image_t *img = NULL;
    if (decode_image(data, len, &img, err, err_len) != 0)
        return -1;
    *w_px = img->width_px;
    *h_px = img->height_px;
    image_unref(img);
    return 0;
}

/* ---- sources ------------------------------------------------------------------------- */

static int too_big(const image_loader_t *l, char *err, size_t err_len)
{
    return errmsg_fail(err, err_len, "is larger than %zu bytes", l->max_bytes);
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62; /* also the URL-safe alphabet */
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Strict base64 (standard or URL-safe alphabet, optional padding, blanks ignored). */
static int base64_decode(const char *in, buf_t *out)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (isspace(*p))
            continue;
        if (*p == '=') {
            pad++;
            continue;
        }
        int v = b64_value(*p);
        if (v < 0 || pad)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (buf_append_char(out, (char)(acc >> bits & 0xFF)) != BUF_OK)
                return -2;
        }
    }
    if (pad > 2 || bits >= 6)
        return -1;
    return 0;
}

static int load_data_uri(image_loader_t *l, const char *src, buf_t *bytes, char *err, size_t err_len)
{
    const char *comma = strchr(src, ',');
    if (strncasecmp(src, "data:image/", 11) != 0 || !comma || comma - src < 18 ||
        strncasecmp(comma - 7, ";base64", 7) != 0)
        return errmsg_fail(err, err_len,
                           "is not a valid data URI (expected data:image/png, "
                           "image/jpeg or image/svg+xml with ;base64,)");
    size_t enc_len = strlen(comma + 1);
    if (enc_len / 4 * 3 > l->max_bytes + 3)
        return too_big(l, err, err_len);
    int rc = base64_decode(comma + 1, bytes);
    if (rc == -2)
        return too_big(l, err, err_len);
    if (rc != 0)
        return errmsg_fail(err, err_len, "is not a valid data URI: bad base64");
    return 0;
}

static bool asset_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > IMAGE_ASSET_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != ' ')
            return false;
    }
    return true;
}

/* Reads the regular file fd (closed here) into bytes, within bytes->max. */
static int read_asset_fd(image_loader_t *l, int fd, const char *name, buf_t *bytes, char *err, size_t err_len)
{
    int ret = -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errmsg_fail(err, err_len, "could not be read: no asset named \"%s\"", name);
        goto cleanup;
    }
    if ((uintmax_t)st.st_size > bytes->max) {
        too_big(l, err, err_len);
        goto cleanup;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        if (buf_append(bytes, chunk, (size_t)n) != BUF_OK) {
            too_big(l, err, err_len);
            goto cleanup;
        }
    }
    if (n < 0) {
        errmsg_fail(err, err_len, "could not be read: %s", strerror(errno));
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    return ret;
}

static int load_asset(image_loader_t *l, const char *name, buf_t *bytes, char *err, size_t err_len)
{
    if (!asset_name_ok(name))
        return errmsg_fail(err, err_len,
                           "is not a valid asset name (letters, digits, '.', '_', '-'; "
                           "no '/' and no leading '.')");
    if (!l->assets_dir)
        return errmsg_fail(err, err_len, "could not be read: no assets directory is configured");
    int dir = open(l->assets_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = dir < 0 ? -1 : openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (dir >= 0)
        close(dir);
    return read_asset_fd(l, fd, name, bytes, err, err_len);
}

/* The render's image asset that "asset:REF" names: by name first, then by id. */
static const engine_asset_t *project_asset(const image_loader_t *l, const char *ref)
{
    for (int by_id = 0; by_id < 2; by_id++)
        for (size_t i = 0; i < l->nproject_assets; i++) {
            const engine_asset_t *a = &l->project_assets[i];
            if (a->kind && !strcmp(a->kind, "image") && !strcmp(by_id ? a->id : a->name, ref))
                return a;
        }
    return NULL;
}

void image_loader_set_assets(image_loader_t *l, const engine_asset_t *assets, size_t n)
{
    l->project_assets = assets;
    l->nproject_assets = assets ? n : 0;
}

typedef struct {
    buf_t *bytes;
    bool over_cap;
} fetch_state_t;

/* Stops the transfer as soon as the body passes the cap. */
static size_t fetch_write(char *p, size_t size, size_t n, void *ud)
{
    fetch_state_t *st = ud;
    if (buf_append(st->bytes, p, size * n) != BUF_OK) {
        st->over_cap = true;
        return 0;
    }
    return size * n;
}

static int fetch_url(image_loader_t *l, const char *url, buf_t *bytes, char *err, size_t err_len)
{
    char uerr[ERRMSG_LEN];
    if (netguard_check_url(url, uerr, sizeof uerr) != 0)
        return errmsg_fail(err, err_len, "is not a valid image URL: %s", uerr);
    /* A fetch may use what is left of the render's time, never more: the render limit is the
     * promise made to the caller, the image timeout only a bound per image. */
    long timeout_ms = l->timeout_ms;
    bool cut_by_deadline = false;
    if (l->deadline_mono_ms) {
        int64_t left = l->deadline_mono_ms - time_mono_ms();
        if (left <= 0)
            return errmsg_fail(err, err_len, "could not be fetched: " IMAGE_DEADLINE_MSG);
        if (left < timeout_ms) {
            timeout_ms = (long)left;
            cut_by_deadline = true;
        }
    }
    CURL *c = l->curl;
    fetch_state_t st = {bytes, false};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_reset(c);
    l->guard.allow_private = l->allow_private;
    if (netguard_setup_curl(c, &l->guard) != 0)
        return errmsg_fail(err, err_len, "could not be fetched: HTTP client setup failed");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)l->max_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "craftkit/" CRAFTKIT_VERSION " (image fetch)");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL); /* no transparent decompression */
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* cerr goes out of scope */

    if (l->guard.refused)
        return errmsg_fail(err, err_len, "could not be fetched: " NETGUARD_REFUSED_MSG);
    if (st.over_cap || rc == CURLE_FILESIZE_EXCEEDED)
        return too_big(l, err, err_len);
    if (rc == CURLE_OPERATION_TIMEDOUT && cut_by_deadline)
        return errmsg_fail(err, err_len, "could not be fetched: " IMAGE_DEADLINE_MSG);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return errmsg_fail(err, err_len, "could not be fetched: timed out after %d ms", l->timeout_ms);
    if (rc != CURLE_OK)
        return errmsg_fail(err, err_len, "could not be fetched: %s", cerr[0] ? cerr : curl_easy_strerror(rc));
    if (status < 200 || status > 299)
        return errmsg_fail(err, err_len, "could not be fetched: HTTP %ld%s", status,
                           status >= 300 && status < 400 ? " (redirects are not followed)" : "");
    return 0;
}

/* ---- cache --------------------------------------------------------------------------- */

static cache_entry_t *cache_find(image_loader_t *l, const uint8_t key[CRYPTO_SHA256_LEN])
{
    int64_t now = time_mono_ms();
    for (int i = 0; i < IMAGE_CACHE_ENTRIES; i++) {
        cache_entry_t *e = &l->cache[i];
        if (!e->img || memcmp(e->key, key, CRYPTO_SHA256_LEN) != 0)
            continue;
        if (e->expires_ms && now >= e->expires_ms)
            return NULL; /* stale; replaced when the fresh copy is stored */
        e->last_used = ++l->tick;
        return e;
    }
    return NULL;
}

static void cache_drop(image_loader_t *l, cache_entry_t *e)
{
    l->cache_bytes -= e->img->mem_bytes;
    image_unref(e->img);
    memset(e, 0, sizeof *e);
}

static cache_entry_t *cache_lru(image_loader_t *l)
{
    cache_entry_t *victim = NULL;
    for (int i = 0; i < IMAGE_CACHE_ENTRIES; i++)
        if (l->cache[i].img && (!victim || l->cache[i].last_used < victim->last_used))
            victim = &l->cache[i];
    return victim;
}

static void cache_store(image_loader_t *l, const uint8_t key[CRYPTO_SHA256_LEN], image_t *img, bool expires)
{
    if (img->mem_bytes > IMAGE_CACHE_BYTES / 2)
        return;                                   /* one huge image must not flush everything else */
    for (int i = 0; i < IMAGE_CACHE_ENTRIES; i++) /* a stale copy of the same source */
        if (l->cache[i].img && memcmp(l->cache[i].key, key, CRYPTO_SHA256_LEN) == 0)
            cache_drop(l, &l->cache[i]);
    while (l->cache_bytes + img->mem_bytes > IMAGE_CACHE_BYTES)
        cache_drop(l, cache_lru(l));
    cache_entry_t *slot = NULL;
    for (int i = 0; i < IMAGE_CACHE_ENTRIES && !slot; i++)
        if (!l->cache[i].img)
            slot = &l->cache[i];
    if (!slot) {
        slot = cache_lru(l);
        cache_drop(l, slot);
    }
    memcpy(slot->key, key, CRYPTO_SHA256_LEN);
    image_ref(img);
    slot->img = img;
    slot->last_used = ++l->tick;
    slot->expires_ms = expires ? time_mono_ms() + IMAGE_CACHE_TTL_MS : 0;
    l->cache_bytes += img->mem_bytes;
}

/* ---- loader -------------------------------------------------------------------------- */

image_loader_t *image_loader_new(const image_loader_opts_t *opts)
{
    image_loader_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : IMAGE_DEFAULT_TIMEOUT_MS;
    l->max_bytes = opts && opts->max_bytes > 0 ? opts->max_bytes : IMAGE_DEFAULT_MAX_BYTES;
    l->allow_private = opts && opts->allow_private;
    l->curl = curl_easy_init();
    if (opts && opts->assets_dir)
        l->assets_dir = strdup(opts->assets_dir);
    if (!l->curl || (opts && opts->assets_dir && !l->assets_dir)) {
        image_loader_free(l);
        return NULL;
    }
    return l;
}

void image_loader_free(image_loader_t *l)
{
    if (!l)
        return;
    for (int i = 0; i < IMAGE_CACHE_ENTRIES; i++)
        if (l->cache[i].img)
            cache_drop(l, &l->cache[i]);
    if (l->curl)
        curl_easy_cleanup(l->curl);
    free(l->assets_dir);
    free(l);
}

void image_loader_set_deadline(image_loader_t *l, int64_t deadline_mono_ms)
{
    if (l)
        l->deadline_mono_ms = deadline_mono_ms > 0 ? deadline_mono_ms : 0;
}

void image_loader_set_budget(image_loader_t *l, size_t bytes)
{
    if (l) {
        l->budget = bytes;
        l->budget_used = 0;
        l->budget_epoch++;
    }
}

int image_check_draw(image_loader_t *l, const image_t *img, double w_pt, double h_pt, char *err,
                     size_t err_len)
{
    if (!l || !l->budget || !img->svg_filters)
        return 0;
    /* librsvg renders each filter primitive into image surfaces the size of the filter region
     * at the drawn size: a source, a result and a few intermediates of 4 bytes a pixel. */
    double need = w_pt * h_pt * 4 * IMAGE_SVG_FILTER_SURFACES;
    double left = (double)(l->budget - l->budget_used);
    if (need <= left)
        return 0;
    return errmsg_fail(err, err_len,
                       "is an SVG with filters drawn %.0fx%.0f pt: rasterising its filters would need about "
                       "%.0f MB, more than the %.0f MB left of the render's memory budget",
                       w_pt, h_pt, need / (1 << 20), left / (1 << 20));
}

/* Counts an image against the render's budget once per render (a logo on every row counts once). */
static int count_image(image_loader_t *l, image_t *img, char *err, size_t err_len)
{
    if (!l->budget || img->counted_in == l->budget_epoch)
        return 0;
    if (img->mem_bytes > l->budget - l->budget_used)
        return errmsg_fail(err, err_len,
                           "does not fit in the render's memory budget: it holds %zu MB decoded, %zu MB are "
                           "left for images",
                           img->mem_bytes >> 20, (l->budget - l->budget_used) >> 20);
    l->budget_used += img->mem_bytes;
    img->counted_in = l->budget_epoch;
    return 0;
}

int image_load(image_loader_t *l, const char *src, image_t **out, char *err, size_t err_len)
{
    *out = NULL;
    if (!l || !src || !*src)
        return errmsg_fail(err, err_len, "is not a valid image source: empty");
    uint8_t key[CRYPTO_SHA256_LEN];
    const engine_asset_t *pa = NULL;
    if (l->project_assets && strncmp(src, "asset:", 6) == 0) {
        /* The project's asset list decides what the name means; the bytes are cached by
         * content, so a re-uploaded name never shows an old picture. */
        if (!(pa = project_asset(l, src + 6)))
            return errmsg_fail(err, err_len, "could not be read: no image asset named \"%s\" in this project",
                               src + 6);
        char ck[80];
        snprintf(ck, sizeof ck, "asset-sha256:%s", pa->sha256 ? pa->sha256 : "");
        crypto_sha256(ck, strlen(ck), key);
    } else {
        crypto_sha256(src, strlen(src), key);
    }
    cache_entry_t *hit = cache_find(l, key);
    if (hit) {
        if (count_image(l, hit->img, err, err_len) != 0)
            return -1;
        image_ref(hit->img);
        *out = hit->img;
        return 0;
    }

    buf_t bytes;
    buf_init(&bytes, l->max_bytes);
    int rc;
    bool expires = true;
    if (strncasecmp(src, "data:", 5) == 0) {
        rc = load_data_uri(l, src, &bytes, err, err_len);
        expires = false;
    } else if (pa) {
        bytes.max = IMAGE_PROJECT_ASSET_MAX;
        rc = read_asset_fd(l, open(pa->path, O_RDONLY | O_CLOEXEC), src + 6, &bytes, err, err_len);
        expires = false;
    } else if (strncmp(src, "asset:", 6) == 0) {
        rc = load_asset(l, src + 6, &bytes, err, err_len);
    } else if (strncasecmp(src, "http://", 7) == 0 || strncasecmp(src, "https://", 8) == 0) {
        rc = fetch_url(l, src, &bytes, err, err_len);
    } else {
        rc = errmsg_fail(err, err_len,
                         "is not a valid image source (expected an http(s) URL, "
                         "a data:image/...;base64 URI or asset:NAME)");
    }
    image_t *img = NULL;
    decode_budget_left = l->budget ? l->budget - l->budget_used : SIZE_MAX;
    if (rc == 0)
        rc = decode_image((const uint8_t *)buf_cstr(&bytes), bytes.len, &img, err, err_len);
    decode_budget_left = SIZE_MAX;
    buf_free(&bytes);
    if (rc != 0)
        return -1;
    if (count_image(l, img, err, err_len) != 0) {
        image_unref(img);
        return -1;
    }
    cache_store(l, key, img, expires);
    *out = img;
    return 0;
}

/* ---- drawing ------------------------------------------------------------------------- */

/* Maps the stored sw×sh pixels to the displayed picture, for EXIF orientation o: where the
 * stored pixel (x,y) is seen. 2/4 mirror, 3 turns half, 6 a quarter clockwise, 8 counter-
 * clockwise, 5/7 are 6/8 mirrored. */
static void orientation_matrix(int o, double sw, double sh, cairo_matrix_t *m)
{
    switch (o) {
    case 2: cairo_matrix_init(m, -1, 0, 0, 1, sw, 0); break;
    case 3: cairo_matrix_init(m, -1, 0, 0, -1, sw, sh); break;
    case 4: cairo_matrix_init(m, 1, 0, 0, -1, 0, sh); break;
    case 5: cairo_matrix_init(m, 0, 1, 1, 0, 0, 0); break;
    case 6: cairo_matrix_init(m, 0, 1, -1, 0, sh, 0); break;
    case 7: cairo_matrix_init(m, 0, -1, -1, 0, sh, sw); break;
    case 8: cairo_matrix_init(m, 0, -1, 1, 0, 0, sw); break;
    default: cairo_matrix_init_identity(m); break;
    }
}

void image_draw(const image_t *img, cairo_t *cr, double x, double y, double w, double h, image_fit_t fit)
{
    if (!img || !cr || !isfinite(x) || !isfinite(y) || !isfinite(w) || !isfinite(h) || w <= 0 || h <= 0)
        return;
    double iw = img->width_px, ih = img->height_px;
    double sx = w / iw, sy = h / ih;
    if (fit == IMAGE_FIT_CONTAIN)
        sx = sy = fmin(sx, sy);
    else if (fit == IMAGE_FIT_COVER)
        sx = sy = fmax(sx, sy);
    double dx = x + (w - iw * sx) / 2, dy = y + (h - ih * sy) / 2;

    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h); /* cover overflows the box */
    cairo_clip(cr);
    cairo_translate(cr, dx, dy);
    cairo_scale(cr, sx, sy);
    if (img->kind == IMAGE_SVG) {
        RsvgRectangle viewport = {0, 0, iw, ih};
        rsvg_handle_render_document(img->svg, cr, &viewport, NULL);
    } else {
        double sw = cairo_image_surface_get_width(img->surface);
        double sh = cairo_image_surface_get_height(img->surface);
        cairo_matrix_t m;
        orientation_matrix(img->orientation, sw, sh, &m);
        cairo_transform(cr, &m);
        cairo_set_source_surface(cr, img->surface, 0, 0);
        /* PAD keeps scaled edges crisp on raster targets; vector targets get a plain image
         * (so a PDF embeds the JPEG bytes unchanged). */
        if (cairo_surface_get_type(cairo_get_target(cr)) == CAIRO_SURFACE_TYPE_IMAGE)
            cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
        cairo_rectangle(cr, 0, 0, sw, sh);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}
