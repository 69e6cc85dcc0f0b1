#include "pdffix.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <zlib.h>

static void put(pdffix_builder_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data)
            abort();
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void putf(pdffix_builder_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    put(b, s, (size_t)n);
    free(s);
}

static void puts_(pdffix_builder_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void puts_(pdffix_builder_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    putf(b, fmt, ap);
    va_end(ap);
}

void pdffix_begin(pdffix_builder_t *b)
{
    memset(b, 0, sizeof *b);
    puts_(b, "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n");
}

int pdffix_obj(pdffix_builder_t *b, const char *fmt, ...)
{
    b->offsets[++b->n] = b->len;
    puts_(b, "%d 0 obj\n", b->n);
    va_list ap;
    va_start(ap, fmt);
    putf(b, fmt, ap);
    va_end(ap);
    puts_(b, "\nendobj\n");
    return b->n;
}

int pdffix_stream(pdffix_builder_t *b, const char *dict_extra, const void *data, size_t len)
{
    b->offsets[++b->n] = b->len;
    puts_(b, "%d 0 obj\n<< /Length %zu %s >>\nstream\n", b->n, len, dict_extra ? dict_extra : "");
    put(b, data, len);
    puts_(b, "\nendstream\nendobj\n");
    return b->n;
}

pdffix_t pdffix_end(pdffix_builder_t *b, int root)
{
    size_t xref = b->len;
    puts_(b, "xref\n0 %d\n0000000000 65535 f \n", b->n + 1);
    for (int i = 1; i <= b->n; i++)
        puts_(b, "%010zu 00000 n \n", b->offsets[i]);
    puts_(b, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%zu\n%%%%EOF\n", b->n + 1, root, xref);
    pdffix_t out = {b->data, b->len};
    b->data = NULL;
    return out;
}

static pdffix_t cairo_pages(int pages, double w, double h, const double (*sizes)[2])
{
    pdffix_t out = {0};
    cairo_surface_t *s = cairo_pdf_surface_create_for_stream(tu_bytes_append, &out, sizes ? sizes[0][0] : w,
                                                             sizes ? sizes[0][1] : h);
    cairo_t *cr = cairo_create(s);
    for (int i = 1; i <= pages; i++) {
        if (sizes) {
            w = sizes[i - 1][0];
            h = sizes[i - 1][1];
            cairo_pdf_surface_set_size(s, w, h);
        }
        char text[32];
        snprintf(text, sizeof text, "Page %d", i);
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, 24);
        cairo_move_to(cr, 72, 100);
        cairo_show_text(cr, text);
        cairo_rectangle(cr, 36, 36, w - 72, h - 72);
        cairo_stroke(cr);
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return out;
}

pdffix_t pdffix_cairo(int pages, double w, double h)
{
    return cairo_pages(pages, w, h, NULL);
}

pdffix_t pdffix_cairo_sizes(int pages, const double (*sizes)[2])
{
    return cairo_pages(pages, 0, 0, sizes);
}

pdffix_t pdffix_form(void)
{
    static const char page1[] = "BT /F1 14 Tf 72 720 Td (Application form) Tj ET\n"
                                "0.5 w 72 650 228 24 re S 72 600 18 18 re S\n";
    static const char page2[] = "BT /F1 14 Tf 72 770 Td (Rotated page) Tj ET\n";
    static const char on[] = "q 0 g 3 3 12 12 re f Q\n";
    pdffix_builder_t b;
    pdffix_begin(&b);
    /* 1 */ pdffix_obj(&b, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 6 0 R 7 0 R 8 0 R]"
                           " /DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv 9 0 R >> >> >> >>");
    /* 2 */ pdffix_obj(&b, "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>");
    /* 3 */ pdffix_obj(&b, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /CropBox [36 36 576 756]"
                           " /Resources << /Font << /F1 9 0 R >> >> /Contents 10 0 R"
                           " /Annots [5 0 R 6 0 R 7 0 R 14 0 R 15 0 R] >>");
    /* 4 */ pdffix_obj(&b, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Rotate 90"
                           " /Resources << /Font << /F1 9 0 R >> >> /Contents 11 0 R >>");
    /* 5 */ pdffix_obj(&b,
                       "<< /FT /Tx /T (name) /Type /Annot /Subtype /Widget /Rect [72 650 300 674] /P 3 0 R"
                       " /DA (/Helv 12 Tf 0 g) /F 4 >>");
    /* 6 */ pdffix_obj(
        &b, "<< /FT /Btn /T (agree) /Type /Annot /Subtype /Widget /Rect [72 600 90 618] /P 3 0 R"
            " /V /Off /AS /Off /AP << /N << /Yes 12 0 R /Off 13 0 R >> >> /MK << /CA (4) >> /F 4 >>");
    /* 7 */ pdffix_obj(&b, "<< /FT /Ch /Ff 131072 /T (color) /Opt [(Red) (Green) (Blue)] /Type /Annot"
                           " /Subtype /Widget /Rect [72 550 200 570] /P 3 0 R /DA (/Helv 10 Tf 0 g) /F 4 >>");
    /* 8 */ pdffix_obj(&b, "<< /FT /Btn /Ff 49152 /T (size) /Kids [14 0 R 15 0 R] /V /Off >>");
    /* 9 */ pdffix_obj(&b,
                       "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    /* 10 */ pdffix_stream(&b, NULL, page1, sizeof page1 - 1);
    /* 11 */ pdffix_stream(&b, NULL, page2, sizeof page2 - 1);
    /* 12 */ pdffix_stream(&b, "/Type /XObject /Subtype /Form /BBox [0 0 18 18]", on, sizeof on - 1);
    /* 13 */ pdffix_stream(&b, "/Type /XObject /Subtype /Form /BBox [0 0 18 18]", "", 0);
    /* 14 */ pdffix_obj(&b, "<< /Parent 8 0 R /Type /Annot /Subtype /Widget /Rect [72 500 86 514] /P 3 0 R"
                            " /AS /Off /AP << /N << /S 12 0 R /Off 13 0 R >> >> /F 4 >>");
    /* 15 */ pdffix_obj(&b, "<< /Parent 8 0 R /Type /Annot /Subtype /Widget /Rect [100 500 114 514] /P 3 0 R"
                            " /AS /Off /AP << /N << /L 12 0 R /Off 13 0 R >> >> /F 4 >>");
    return pdffix_end(&b, 1);
}

static char *temp_path(const char *suffix)
{
    static int seq;
    char *p = malloc(256);
    snprintf(p, 256, "/tmp/pdffix-%d-%d%s", (int)getpid(), ++seq, suffix);
    return p;
}

pdffix_t pdffix_gs(int pages)
{
    pdffix_t out = {0};
    char *ps = temp_path(".ps"), *pdf = temp_path(".pdf");
    FILE *f = fopen(ps, "w");
    if (!f)
        goto done;
    fprintf(f, "%%!PS\n/Helvetica findfont 20 scalefont setfont\n");
    for (int i = 1; i <= pages; i++)
        fprintf(f,
                "<< /PageSize [595 842] >> setpagedevice 72 770 moveto (GS page %d) show\n"
                "0.5 setlinewidth 36 36 523 770 rectstroke showpage\n",
                i);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile=%s %s 2>/dev/null", pdf, ps);
    if (system(cmd) == 0)
        out = pdffix_load(pdf);
done:
    unlink(ps);
    unlink(pdf);
    free(ps);
    free(pdf);
    return out;
}

char *pdffix_run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 16, n = 0, got;
    char *out = malloc(cap);
    while (p && out && (got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                break;
            out = bigger;
        }
    }
    if (out)
        out[n] = '\0';
    if (p)
        pclose(p);
    return out;
}

pdffix_t pdffix_qpdf(const pdffix_t *in, const char *args)
{
    pdffix_t out = {0};
    char *a = temp_path(".pdf"), *b = temp_path(".pdf");
    if (pdffix_save(in, a)) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "qpdf %s %s %s 2>/dev/null", a, args, b);
        int rc = system(cmd);
        if (rc == 0 || (WIFEXITED(rc) && WEXITSTATUS(rc) == 3)) /* 3: warnings */
            out = pdffix_load(b);
    }
    unlink(a);
    unlink(b);
    free(a);
    free(b);
    return out;
}

pdffix_t pdffix_bomb_stream(int mib)
{
    /* mib MiB of spaces (valid content), deflated: about 1 KiB per MiB */
    size_t cap = (size_t)mib * 1100 + 4096, chunk = 1 << 20;
    unsigned char *z = malloc(cap), *in = malloc(chunk);
    memset(in, ' ', chunk);
    z_stream zs = {0};
    deflateInit(&zs, 9);
    zs.next_out = z;
    zs.avail_out = (uInt)cap;
    for (int i = 0; i < mib; i++) {
        zs.next_in = in;
        zs.avail_in = (uInt)chunk;
        deflate(&zs, i + 1 == mib ? Z_FINISH : Z_NO_FLUSH);
    }
    size_t zlen = zs.total_out;
    deflateEnd(&zs);
    pdffix_builder_t b;
    pdffix_begin(&b);
    pdffix_obj(&b, "<< /Type /Catalog /Pages 2 0 R >>");
    pdffix_obj(&b, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    pdffix_obj(&b, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>");
    pdffix_stream(&b, "/Filter /FlateDecode", z, zlen);
    free(z);
    free(in);
    return pdffix_end(&b, 1);
}

pdffix_t pdffix_bomb_nesting(int depth)
{
    char *deep = malloc((size_t)depth * 2 + 1);
    for (int i = 0; i < depth; i++) {
        deep[i] = '[';
        deep[depth * 2 - 1 - i] = ']';
    }
    deep[depth * 2] = '\0';
    pdffix_builder_t b;
    pdffix_begin(&b);
    pdffix_obj(&b, "<< /Type /Catalog /Pages 2 0 R >>");
    pdffix_obj(&b, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    pdffix_obj(&b, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Deep %s >>", deep);
    free(deep);
    return pdffix_end(&b, 1);
}

pdffix_t pdffix_bomb_pages(long count, int real)
{
    pdffix_builder_t b;
    pdffix_begin(&b);
    pdffix_obj(&b, "<< /Type /Catalog /Pages 2 0 R >>");
    size_t kcap = (size_t)real * 12 + 16, k = 0;
    char *kids = malloc(kcap);
    kids[0] = '\0';
    for (int i = 0; i < real; i++)
        k += (size_t)snprintf(kids + k, kcap - k, "%d 0 R ", 3 + i);
    pdffix_obj(&b, "<< /Type /Pages /Kids [%s] /Count %ld >>", kids, count);
    free(kids);
    for (int i = 0; i < real; i++)
        pdffix_obj(&b, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>");
    return pdffix_end(&b, 1);
}

char *pdffix_tool(const char *file, const char *before, const char *after)
{
    size_t n = strlen(before) + strlen(file) + strlen(after) + 3;
    char *cmd = malloc(n);
    if (!cmd)
        return NULL;
    snprintf(cmd, n, "%s %s %s", before, file, after);
    char *out = pdffix_run(cmd);
    free(cmd);
    return out;
}

bool pdffix_save(const pdffix_t *pdf, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(pdf->data, 1, pdf->len, f) == pdf->len;
    return fclose(f) == 0 && ok;
}

pdffix_t pdffix_load(const char *path)
{
    pdffix_t out = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return out;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n > 0) {
        out.data = malloc((size_t)n);
        out.len = fread(out.data, 1, (size_t)n, f);
    }
    fclose(f);
    return out;
}

void pdffix_free(pdffix_t *pdf)
{
    free(pdf->data);
    pdf->data = NULL;
    pdf->len = 0;
}
