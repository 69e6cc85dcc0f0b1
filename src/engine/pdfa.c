/* pdfa — PDF/A-2b/3b, embedded files and Factur-X as an incremental update (see pdfa.h). */
#include "engine/pdfa.h"

#include <cairo.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/crypto.h"
#include "engine/engine_int.h"
#include "engine/xmlcheck.h"
#include "core/errmsg.h"

#define PDFA_OBJECTS_MAX 8388607 /* PDF/A's limit on indirect objects */
#define PDFA_DICT_SCAN 4096      /* bytes of an object searched for the end of its dictionary */

extern const unsigned char pdfa_srgb_icc[];
extern const size_t pdfa_srgb_icc_len;

/* ------------------------------------------------------------ the ICC profile, compressed once */

static unsigned char *icc_z;
static size_t icc_z_len;
static pthread_once_t icc_once = PTHREAD_ONCE_INIT;

static void icc_compress(void)
{
    uLongf n = compressBound(pdfa_srgb_icc_len);
    unsigned char *z = malloc(n);
    if (z && compress2(z, &n, pdfa_srgb_icc, pdfa_srgb_icc_len, 9) == Z_OK) {
        icc_z = z;
        icc_z_len = n;
    } else {
        free(z);
    }
}

/* ------------------------------------------------------------ reading cairo's file */

typedef struct xref {
    size_t *off; /* offset of object i (0 = free) */
    int size;    /* /Size of the trailer */
    int root, info;
    size_t startxref;
} xref_t;

static const char *find_last(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = n >= m ? n - m + 1 : 0; i-- > 0;)
        if (!memcmp(hay + i, needle, m))
            return hay + i;
    return NULL;
}

static int dict_int(const char *d, size_t n, const char *key, int *out)
{
    const char *p = memmem(d, n, key, strlen(key));
    if (!p)
        return -1;
    p += strlen(key);
    char *e;
    long v = strtol(p, &e, 10);
    if (e == p || v < 0 || v > PDFA_OBJECTS_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* Cairo 1.16 writes one classic cross-reference table ("xref\n0 N\n" + N entries) and a trailer
 * with /Size, /Root and /Info; anything else is refused rather than guessed at. */
static int read_xref(const char *pdf, size_t len, xref_t *x, char *err, size_t err_len)
{
    memset(x, 0, sizeof *x);
    const char *sx = find_last(pdf, len, "startxref");
    const char *tr = sx ? find_last(pdf, (size_t)(sx - pdf), "trailer") : NULL;
    if (!sx || !tr)
        goto bad;
    x->startxref = strtoul(sx + 9, NULL, 10);
    size_t tn = (size_t)(sx - tr);
    if (dict_int(tr, tn, "/Size ", &x->size) || dict_int(tr, tn, "/Root ", &x->root) ||
        dict_int(tr, tn, "/Info ", &x->info) || memmem(tr, tn, "/Encrypt", 8) || memmem(tr, tn, "/Prev", 5))
        goto bad;
    if (x->startxref + 4 > len || memcmp(pdf + x->startxref, "xref", 4))
        goto bad;
    const char *p = pdf + x->startxref + 4;
    while (*p == '\r' || *p == '\n')
        p++;
    char *e;
    long first = strtol(p, &e, 10), count = strtol(e, &e, 10);
    if (first != 0 || count != x->size || x->root >= x->size || x->info >= x->size)
        goto bad;
    while (*e == ' ' || *e == '\r' || *e == '\n')
        e++;
    if ((size_t)(e - pdf) + (size_t)count * 20 > (size_t)(tr - pdf))
        goto bad;
    x->off = calloc((size_t)count, sizeof *x->off);
    if (!x->off) {
        return errmsg_fail(err, err_len, "out of memory");
    }
    for (long i = 0; i < count; i++, e += 20)
        if (e[17] == 'n')
            x->off[i] = strtoul(e, NULL, 10);
    if (!x->off[x->root] || !x->off[x->info])
        goto bad;
    return 0;
bad:
    free(x->off);
    x->off = NULL;
    return errmsg_fail(err, err_len, "PDF/A: the PDF has a structure this engine did not expect");
}

/* Cairo 1.16 sometimes lists an object it never wrote, at another object's offset (a page
 * with a link). The update's xref repairs such entries: the object's real place when it is in
 * the file, else a free entry, so readers need not reconstruct the table. Returns how many
 * entries were bad; their numbers go to bad[] (up to max). */
static int xref_verify(const char *pdf, size_t len, xref_t *x, int *bad, int max)
{
    int n = 0;
    char head[24];
    for (int i = 1; i < x->size; i++) {
        if (!x->off[i])
            continue;
        int hl = snprintf(head, sizeof head, "%d 0 obj", i);
        if (x->off[i] + (size_t)hl < len && !memcmp(pdf + x->off[i], head, (size_t)hl))
            continue;
        hl = snprintf(head, sizeof head, "\n%d 0 obj\n", i);
        const char *p = memmem(pdf, len, head, (size_t)hl);
        x->off[i] = p ? (size_t)(p + 1 - pdf) : 0;
        if (n < max)
            bad[n] = i;
        n++;
    }
    return n;
}

/* The dictionary of object `num` that is not a stream: *d .. *d+*n is "<< ... >>". */
static int object_dict(const char *pdf, size_t len, const xref_t *x, int num, const char **d, size_t *n)
{
    size_t off = x->off[num];
    if (!off || off >= len)
        return -1;
    size_t window = len - off < PDFA_DICT_SCAN ? len - off : PDFA_DICT_SCAN;
    const char *o = pdf + off, *start = memmem(o, window, "<<", 2);
    const char *end = memmem(o, window, "endobj", 6);
    if (!start || !end || end < start)
        return -1;
    const char *close = find_last(start, (size_t)(end - start), ">>");
    if (!close)
        return -1;
    *d = start;
    *n = (size_t)(close + 2 - start);
    return 0;
}

/* ------------------------------------------------------------ writing */

typedef struct writer {
    buf_t *b;
    int next;  /* next new object number */
    int *nums; /* the objects written, for the xref */
    size_t *offs;
    int n, cap;
    bool failed;
} writer_t;

static void w_check(writer_t *w, int rc)
{
    if (rc != BUF_OK)
        w->failed = true;
}

#define W(w, ...) w_check((w), buf_printf((w)->b, __VA_ARGS__))

static void w_bytes(writer_t *w, const void *p, size_t n)
{
    w_check(w, buf_append(w->b, p, n));
}

/* Records object `num` at offset `off` for the update's xref ((size_t)-1: a free entry). */
static void w_entry(writer_t *w, int num, size_t off)
{
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        int *nums = realloc(w->nums, (size_t)cap * sizeof *nums);
        if (nums)
            w->nums = nums;
        size_t *offs = nums ? realloc(w->offs, (size_t)cap * sizeof *offs) : NULL;
        if (!offs) {
            w->failed = true;
            return;
        }
        w->offs = offs;
        w->cap = cap;
    }
    w->nums[w->n] = num;
    w->offs[w->n++] = off;
}

/* Starts indirect object `num` (recorded for the xref). */
static void w_begin(writer_t *w, int num)
{
    w_entry(w, num, w->b->len);
    W(w, "%d 0 obj\n", num);
}

/* A PDF text string: a literal for printable ASCII, else UTF-16BE with a BOM in hex. */
static void w_text(writer_t *w, const char *s)
{
    bool ascii = true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        ascii &= *p >= 0x20 && *p < 0x7f;
    if (ascii) {
        w_bytes(w, "(", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '(' || *p == ')' || *p == '\\')
                w_bytes(w, "\\", 1);
            w_bytes(w, p, 1);
        }
        w_bytes(w, ")", 1);
        return;
    }
    W(w, "<FEFF");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp = *p, extra = 0;
        if (cp >= 0xf0)
            cp &= 0x07, extra = 3;
        else if (cp >= 0xe0)
            cp &= 0x0f, extra = 2;
        else if (cp >= 0xc0)
            cp &= 0x1f, extra = 1;
        p++;
        for (unsigned i = 0; i < extra && (*p & 0xc0) == 0x80; i++)
            cp = (cp << 6) | (*p++ & 0x3f);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            W(w, "%04X%04X", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
        } else {
            W(w, "%04X", cp);
        }
    }
    W(w, ">");
}

static bool present(const char *s)
{
    return s && *s;
}

typedef struct fx_info {
    const char *level;    /* fx:ConformanceLevel */
    const char *filename; /* fx:DocumentFileName and the embedded file's name */
    engine_af_t relationship;
} fx_info_t;

static const fx_info_t fx_profiles[] = {
    [ENGINE_FX_MINIMUM] = {"MINIMUM", "factur-x.xml", ENGINE_AF_DATA},
    [ENGINE_FX_BASIC_WL] = {"BASIC WL", "factur-x.xml", ENGINE_AF_DATA},
    [ENGINE_FX_BASIC] = {"BASIC", "factur-x.xml", ENGINE_AF_ALTERNATIVE},
    [ENGINE_FX_EN16931] = {"EN 16931", "factur-x.xml", ENGINE_AF_ALTERNATIVE},
    [ENGINE_FX_EXTENDED] = {"EXTENDED", "factur-x.xml", ENGINE_AF_ALTERNATIVE},
    [ENGINE_FX_XRECHNUNG] = {"XRECHNUNG", "xrechnung.xml", ENGINE_AF_ALTERNATIVE},
};

static const char fx_ns[] = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";

static void xmp_fx_property(buf_t *x, const char *name, const char *description)
{
    buf_putf(x,
             "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>%s</pdfaProperty:name>"
             "<pdfaProperty:valueType>Text</pdfaProperty:valueType>"
             "<pdfaProperty:category>external</pdfaProperty:category>"
             "<pdfaProperty:description>%s</pdfaProperty:description></rdf:li>\n",
             name, description);
}

/* The Factur-X properties and their PDF/A extension-schema description (PDF/A requires every
 * property outside the predefined schemas to be described in the file itself). */
static void xmp_facturx(buf_t *x, const fx_info_t *fx)
{
    buf_putf(x,
             "<rdf:Description rdf:about=\"\" xmlns:fx=\"%s\">\n"
             "<fx:DocumentType>INVOICE</fx:DocumentType>\n"
             "<fx:DocumentFileName>%s</fx:DocumentFileName>\n"
             "<fx:Version>1.0</fx:Version>\n"
             "<fx:ConformanceLevel>%s</fx:ConformanceLevel>\n"
             "</rdf:Description>\n",
             fx_ns, fx->filename, fx->level);
    buf_putf(x,
             "<rdf:Description rdf:about=\"\" xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\" "
             "xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\" "
             "xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\n"
             "<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType=\"Resource\">\n"
             "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\n"
             "<pdfaSchema:namespaceURI>%s</pdfaSchema:namespaceURI>\n"
             "<pdfaSchema:prefix>fx</pdfaSchema:prefix>\n"
             "<pdfaSchema:property><rdf:Seq>\n",
             fx_ns);
    xmp_fx_property(x, "DocumentFileName", "The name of the embedded XML document");
    xmp_fx_property(x, "DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE");
    xmp_fx_property(x, "Version", "The actual version of the standard applying to the embedded XML document");
    xmp_fx_property(x, "ConformanceLevel", "The conformance level of the embedded XML document");
    buf_puts(x, "</rdf:Seq></pdfaSchema:property>\n</rdf:li></rdf:Bag></pdfaExtension:schemas>\n"
                "</rdf:Description>\n");
}

/* One property, when it has a value. */
static void xmp_prop(buf_t *x, const char *open, const char *value, const char *close)
{
    if (!present(value))
        return;
    buf_puts(x, open);
    xmlcheck_escape(x, value);
    buf_puts(x, close);
    buf_putc(x, '\n');
}

static void xmp_build(buf_t *x, int part, const pdfa_info_t *in, const char *producer, const char *date,
                      const char *doc_uuid, const fx_info_t *fx)
{
    buf_puts(x, "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");
    buf_putf(x,
             "<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n"
             "<pdfaid:part>%d</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n"
             "</rdf:Description>\n",
             part);
    buf_puts(x, "<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
                "<dc:format>application/pdf</dc:format>\n");
    xmp_prop(x, "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">", in->title,
             "</rdf:li></rdf:Alt></dc:title>");
    xmp_prop(x, "<dc:creator><rdf:Seq><rdf:li>", in->author, "</rdf:li></rdf:Seq></dc:creator>");
    xmp_prop(x, "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">", in->subject,
             "</rdf:li></rdf:Alt></dc:description>");
    buf_puts(x, "</rdf:Description>\n"
                "<rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n");
    xmp_prop(x, "<pdf:Producer>", producer, "</pdf:Producer>");
    xmp_prop(x, "<pdf:Keywords>", in->keywords, "</pdf:Keywords>");
    buf_puts(x, "</rdf:Description>\n"
                "<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n");
    xmp_prop(x, "<xmp:CreatorTool>", in->creator, "</xmp:CreatorTool>");
    buf_putf(x,
             "<xmp:CreateDate>%s</xmp:CreateDate>\n<xmp:ModifyDate>%s</xmp:ModifyDate>\n"
             "<xmp:MetadataDate>%s</xmp:MetadataDate>\n</rdf:Description>\n"
             "<rdf:Description rdf:about=\"\" xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">\n"
             "<xmpMM:DocumentID>uuid:%s</xmpMM:DocumentID>\n</rdf:Description>\n",
             date, date, date, doc_uuid);
    if (fx)
        xmp_facturx(x, fx);
    /* Padding lets an editor update the packet in place, as the XMP spec recommends. */
    buf_puts(x, "</rdf:RDF>\n</x:xmpmeta>\n");
    for (int i = 0; i < 8; i++)
        buf_puts(x, "                                                                \n");
    buf_puts(x, "<?xpacket end=\"w\"?>");
}

static void w_stream(writer_t *w, int num, const char *dict_extra, const void *data, size_t len, bool flate)
{
    w_begin(w, num);
    W(w, "<< /Length %zu%s%s >>\nstream\n", len, flate ? " /Filter /FlateDecode" : "", dict_extra);
    w_bytes(w, data, len);
    W(w, "\nendstream\nendobj\n");
}

static const char *const af_names[] = {
    [ENGINE_AF_UNSPECIFIED] = "Unspecified",
    [ENGINE_AF_ALTERNATIVE] = "Alternative",
    [ENGINE_AF_DATA] = "Data",
    [ENGINE_AF_SOURCE] = "Source",
    [ENGINE_AF_SUPPLEMENT] = "Supplement",
};

/* A PDF name for a MIME type: "text/xml" → /text#2Fxml. */
static void w_mime_name(writer_t *w, const char *mime)
{
    w_bytes(w, "/", 1);
    for (const unsigned char *p = (const unsigned char *)mime; *p; p++) {
        if (*p > 0x20 && *p < 0x7f && !strchr("#/()<>[]{}%", *p))
            w_bytes(w, p, 1);
        else
            W(w, "#%02X", *p);
    }
}

/* The embedded file stream and its file specification; returns the specification's number. */
static int w_attachment(writer_t *w, const engine_attachment_t *a, const char *date, int part)
{
    uLongf zn = compressBound(a->len);
    unsigned char *z = malloc(zn ? zn : 1);
    if (!z || compress2(z, &zn, a->data, a->len, 6) != Z_OK) {
        free(z);
        w->failed = true;
        return 0;
    }
    int stream = w->next++, spec = w->next++;
    w_begin(w, stream);
    W(w, "<< /Type /EmbeddedFile /Subtype ");
    w_mime_name(w, a->media_type);
    W(w, " /Params << /Size %zu /ModDate (%s) >> /Length %lu /Filter /FlateDecode >>\nstream\n", a->len, date,
      (unsigned long)zn);
    w_bytes(w, z, zn);
    W(w, "\nendstream\nendobj\n");
    free(z);
    w_begin(w, spec);
    W(w, "<< /Type /Filespec /F ");
    w_text(w, a->name);
    W(w, " /UF ");
    w_text(w, a->name);
    if (present(a->description)) {
        W(w, " /Desc ");
        w_text(w, a->description);
    }
    W(w, " /EF << /F %d 0 R /UF %d 0 R >>", stream, stream);
    if (part == 3)
        W(w, " /AFRelationship /%s", af_names[a->relationship]);
    W(w, " >>\nendobj\n");
    return spec;
}

/* The annotations cairo wrote (links), again with the Print flag that PDF/A requires. */
static void w_annotations(writer_t *w, const char *pdf, size_t len, const xref_t *x)
{
    for (int i = 1; i < x->size && !w->failed; i++) {
        size_t off = x->off[i];
        if (!off || off + 64 > len)
            continue;
        const char *o = pdf + off, *nl = memchr(o, '\n', 32);
        if (!nl || memcmp(nl + 1, "<< /Type /Annot", 15))
            continue;
        const char *d;
        size_t n;
        if (object_dict(pdf, len, x, i, &d, &n) < 0 || memmem(d, n, "\n   /F ", 7))
            continue;
        w_begin(w, i);
        w_bytes(w, d, n - 2);
        W(w, " /F 4 >>\nendobj\n");
    }
}

/* "/Interpolate true" in an image dictionary becomes spaces: PDF/A forbids it, absent means false. */
static void blank_interpolate(char *pdf, size_t len, const xref_t *x)
{
    for (int i = 1; i < x->size; i++) {
        size_t off = x->off[i];
        if (!off || off >= len)
            continue;
        size_t window = len - off < 1024 ? len - off : 1024;
        char *o = pdf + off, *st = memmem(o, window, "stream", 6);
        if (!st || !memmem(o, (size_t)(st - o), "/Subtype /Image", 15))
            continue;
        char *p = memmem(o, (size_t)(st - o), "/Interpolate true", 17);
        if (p)
            memset(p, ' ', 17);
    }
}

static void w_xref_and_trailer(writer_t *w, const xref_t *x, const char *id_hex)
{
    /* Sort the written objects by number, then one subsection per run of numbers. */
    for (int i = 1; i < w->n; i++)
        for (int j = i; j > 0 && w->nums[j - 1] > w->nums[j]; j--) {
            int tn = w->nums[j];
            w->nums[j] = w->nums[j - 1];
            w->nums[j - 1] = tn;
            size_t to = w->offs[j];
            w->offs[j] = w->offs[j - 1];
            w->offs[j - 1] = to;
        }
    size_t xref_at = w->b->len;
    W(w, "xref\n");
    for (int i = 0; i < w->n;) {
        int j = i;
        while (j + 1 < w->n && w->nums[j + 1] == w->nums[j] + 1)
            j++;
        W(w, "%d %d\n", w->nums[i], j - i + 1);
        for (int k = i; k <= j; k++)
            if (w->offs[k] == (size_t)-1)
                W(w, "0000000000 00001 f \n");
            else
                W(w, "%010zu 00000 n \n", w->offs[k]);
        i = j + 1;
    }
    W(w,
      "trailer\n<< /Size %d\n   /Root %d 0 R\n   /Info %d 0 R\n   /ID [<%s> <%s>]\n   /Prev %zu\n>>\n"
      "startxref\n%zu\n%%%%EOF\n",
      w->next, x->root, x->info, id_hex, id_hex, x->startxref, xref_at);
}

static void pdf_date(int64_t t, char out[32], char xmp[32])
{
    time_t ts = (time_t)t;
    struct tm tm;
    gmtime_r(&ts, &tm);
    strftime(out, 32, "D:%Y%m%d%H%M%S+00'00'", &tm);
    strftime(xmp, 32, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* Long because it is one incremental update of cairo's PDF, written in file order: the checks,
 * the embedded files, XMP metadata and output intent, the new catalog, the Info dictionary, the
 * repaired objects and the cross-reference section share one writer and the object numbers it
 * hands out; split up, most of them would be passed from piece to piece. */
int pdfa_finish(buf_t *pdf, engine_pdfa_t level, const pdfa_info_t *info, const engine_render_opts_t *opts,
                char *err, size_t err_len)
{
    int part = level == ENGINE_PDFA_3B ? 3 : level == ENGINE_PDFA_2B ? 2 : 0;
    const fx_info_t *fx =
        opts->facturx.profile > ENGINE_FX_NONE && opts->facturx.profile <= ENGINE_FX_XRECHNUNG
            ? &fx_profiles[opts->facturx.profile]
            : NULL;
    size_t nfiles = opts->nattachments + (fx ? 1 : 0);
    if (fx && part != 3) {
        return errmsg_fail(err, err_len, "Factur-X needs PDF/A-3b");
    }
    if (part == 2 && nfiles) {
        return errmsg_fail(err, err_len, "PDF/A-2b allows no embedded files; use PDF/A-3b");
    }
    if (nfiles > ENGINE_ATTACHMENTS_MAX + 1) {
        return errmsg_fail(err, err_len, "at most %d attachments", ENGINE_ATTACHMENTS_MAX);
    }
    if (!part && !nfiles && !present(info->lang))
        return 0;
    xref_t x;
    if (read_xref(pdf->data, pdf->len, &x, err, err_len) < 0)
        return -1;
    writer_t w = {.b = pdf, .next = x.size};
    const char *cat;
    size_t cat_n;
    int rc = -1;
    if (object_dict(pdf->data, pdf->len, &x, x.root, &cat, &cat_n) < 0 || memmem(cat, cat_n, "/Names", 6) ||
        memmem(cat, cat_n, "/Metadata", 9) || memmem(cat, cat_n, "/AF", 3) ||
        memmem(cat, cat_n, "/Lang", 5)) {
        errmsg_fail(err, err_len, "PDF/A: the PDF's catalog has a form this engine did not expect");
        goto done;
    }
    bool had_pagemode = memmem(cat, cat_n, "/PageMode", 9) != NULL;
    /* The catalog is copied before anything is appended (the buffer may move). */
    char *catalog = strndup(cat, cat_n - 2);
    if (!catalog) {
        errmsg_fail(err, err_len, "out of memory");
        goto done;
    }
    int bad[64];
    int nbad = xref_verify(pdf->data, pdf->len, &x, bad, 64);
    if (nbad > 64) {
        free(catalog);
        errmsg_fail(err, err_len, "PDF/A: the PDF's cross-reference table is damaged");
        goto done;
    }
    if (part)
        blank_interpolate(pdf->data, pdf->len, &x);

    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(pdf->data, pdf->len, digest);
    char id_hex[33], uuid[37];
    crypto_hex(digest, 16, id_hex);
    snprintf(uuid, sizeof uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", id_hex, id_hex + 8, id_hex + 12, id_hex + 16,
             id_hex + 20);
    char date[32], xmp_date[32];
    pdf_date(info->created, date, xmp_date);
    char producer[96];
    snprintf(producer, sizeof producer, "craftkit %s (cairo %s)", CRAFTKIT_VERSION, cairo_version_string());

    if (pdf->len && pdf->data[pdf->len - 1] != '\n')
        w_bytes(&w, "\n", 1);

    int specs[ENGINE_ATTACHMENTS_MAX + 1];
    const char *spec_names[ENGINE_ATTACHMENTS_MAX + 1];
    int nspecs = 0;
    for (size_t i = 0; i < opts->nattachments && !w.failed; i++) {
        spec_names[nspecs] = opts->attachments[i].name;
        specs[nspecs++] = w_attachment(&w, &opts->attachments[i], date, part);
    }
    if (fx) {
        engine_attachment_t a = {.name = fx->filename,
                                 .media_type = "text/xml",
                                 .description = "Factur-X/ZUGFeRD invoice",
                                 .data = (const unsigned char *)opts->facturx.xml,
                                 .len = opts->facturx.len,
                                 .relationship = fx->relationship};
        spec_names[nspecs] = fx->filename;
        specs[nspecs++] = w_attachment(&w, &a, date, part);
    }

    int meta = 0, intent = 0;
    if (part) {
        pthread_once(&icc_once, icc_compress);
        if (!icc_z) {
            errmsg_fail(err, err_len, "out of memory");
            free(catalog);
            goto done;
        }
        buf_t xmp;
        buf_init(&xmp, 1u << 20);
        xmp_build(&xmp, part, info, producer, xmp_date, uuid, fx);
        w_check(&w, buf_error(&xmp)); /* a cut packet would be invalid metadata: fail instead */
        meta = w.next++;
        w_stream(&w, meta, " /Type /Metadata /Subtype /XML", xmp.data, xmp.len, false);
        buf_free(&xmp);
        int icc = w.next++;
        w_stream(&w, icc, " /N 3", icc_z, icc_z_len, true);
        intent = w.next++;
        w_begin(&w, intent);
        W(&w,
          "<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1)"
          " /Info (sRGB IEC61966-2.1) /RegistryName (http://www.color.org) /DestOutputProfile %d 0 R >>\n"
          "endobj\n",
          icc);
        w_annotations(&w, pdf->data, pdf->len, &x);
    }

    /* The new catalog: cairo's entries, then ours. */
    w_begin(&w, x.root);
    w_bytes(&w, catalog, strlen(catalog));
    free(catalog);
    if (part)
        W(&w, "   /Metadata %d 0 R\n   /OutputIntents [ %d 0 R ]\n", meta, intent);
    if (present(info->lang)) {
        W(&w, "   /Lang ");
        w_text(&w, info->lang);
        W(&w, "\n");
    }
    if (nspecs) {
        /* A name tree's keys are sorted by their bytes. */
        int order[ENGINE_ATTACHMENTS_MAX + 1];
        for (int i = 0; i < nspecs; i++)
            order[i] = i;
        for (int i = 1; i < nspecs; i++)
            for (int j = i; j > 0 && strcmp(spec_names[order[j - 1]], spec_names[order[j]]) > 0; j--) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        W(&w, "   /Names << /EmbeddedFiles << /Names [");
        for (int i = 0; i < nspecs; i++) {
            W(&w, " ");
            w_text(&w, spec_names[order[i]]);
            W(&w, " %d 0 R", specs[order[i]]);
        }
        W(&w, " ] >> >>\n");
        if (part == 3) {
            W(&w, "   /AF [");
            for (int i = 0; i < nspecs; i++)
                W(&w, " %d 0 R", specs[i]);
            W(&w, " ]\n");
        }
        if (!had_pagemode)
            W(&w, "   /PageMode /UseAttachments\n");
    }
    W(&w, ">>\nendobj\n");

    /* The Info dictionary, matching the XMP entry for entry (a language alone leaves it). */
    if (part || nfiles) {
        w_begin(&w, x.info);
        W(&w, "<< /Producer ");
        w_text(&w, producer);
        const char *keys[] = {"Title", "Author", "Subject", "Keywords", "Creator"};
        const char *vals[] = {info->title, info->author, info->subject, info->keywords, info->creator};
        for (int i = 0; i < 5; i++)
            if (present(vals[i])) {
                W(&w, "\n   /%s ", keys[i]);
                w_text(&w, vals[i]);
            }
        W(&w, "\n   /CreationDate (%s)\n   /ModDate (%s)\n>>\nendobj\n", date, date);
    }
    for (int i = 0; i < nbad; i++) {
        bool written = false;
        for (int k = 0; k < w.n; k++)
            written |= w.nums[k] == bad[i];
        if (!written)
            w_entry(&w, bad[i], x.off[bad[i]] ? x.off[bad[i]] : (size_t)-1);
    }
    w_xref_and_trailer(&w, &x, id_hex);
    if (w.failed) {
        errmsg_fail(err, err_len, "the PDF would be larger than %u MB (or memory ran out)",
                    (unsigned)(ENGINE_OUTPUT_MAX >> 20));
        goto done;
    }
    rc = 0;
done:
    free(w.nums);
    free(w.offs);
    free(x.off);
    return rc;
}
