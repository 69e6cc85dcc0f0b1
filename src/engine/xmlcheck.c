/* xmlcheck — XML well-formedness without a DTD (see xmlcheck.h). */
#include "engine/xmlcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct scan {
    const char *s, *p, *end;
    char *err;
    size_t err_len;
} scan_t;

size_t xmlcheck_utf8(const unsigned char *p, size_t n, unsigned *cp)
{
    if (n == 0)
        return 0;
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

void xmlcheck_escape(buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '&': buf_puts(b, "&amp;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                buf_putc(b, *s);
        }
    }
}

__attribute__((format(printf, 2, 3))) static int fail(scan_t *sc, const char *fmt, ...)
{
    int line = 1;
    for (const char *q = sc->s; q < sc->p && q < sc->end; q++)
        line += *q == '\n';
    int n = snprintf(sc->err, sc->err_len, "line %d: ", line);
    if (n >= 0 && (size_t)n < sc->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sc->err + n, sc->err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool at(const scan_t *sc, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(sc->end - sc->p) >= n && !memcmp(sc->p, lit, n);
}

static void skip_space(scan_t *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

static bool name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int name(scan_t *sc, const char **start, size_t *len)
{
    if (sc->p >= sc->end || !name_start((unsigned char)*sc->p))
        return fail(sc, "a name was expected");
    *start = sc->p;
    while (sc->p < sc->end && name_char((unsigned char)*sc->p))
        sc->p++;
    *len = (size_t)(sc->p - *start);
    return 0;
}

/* Past `close`, which must come before the end. */
static int until(scan_t *sc, const char *close, const char *what)
{
    const char *q = memmem(sc->p, (size_t)(sc->end - sc->p), close, strlen(close));
    if (!q)
        return fail(sc, "%s is not closed", what);
    sc->p = q + strlen(close);
    return 0;
}

/* A reference after '&': a predefined entity or a character reference. */
static int reference(scan_t *sc)
{
    static const char *const predefined[] = {"lt;", "gt;", "amp;", "apos;", "quot;"};
    sc->p++;
    for (size_t i = 0; i < sizeof predefined / sizeof predefined[0]; i++)
        if (at(sc, predefined[i])) {
            sc->p += strlen(predefined[i]);
            return 0;
        }
    if (at(sc, "#")) {
        sc->p++;
        bool hex = at(sc, "x");
        sc->p += hex;
        unsigned long v = 0;
        int digits = 0;
        for (; sc->p < sc->end && *sc->p != ';' && digits < 8; sc->p++, digits++) {
            char c = *sc->p;
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                return fail(sc, "a bad character reference");
            v = v * (hex ? 16 : 10) + (unsigned long)d;
        }
        bool ok = v == 0x9 || v == 0xa || v == 0xd || (v >= 0x20 && v <= 0xd7ff) ||
                  (v >= 0xe000 && v <= 0xfffd) || (v >= 0x10000 && v <= 0x10ffff);
        if (!digits || !at(sc, ";") || !ok)
            return fail(sc, "a bad character reference");
        sc->p++;
        return 0;
    }
    return fail(sc, "an undeclared entity reference (only &lt; &gt; &amp; &apos; &quot; and character "
                    "references are allowed)");
}

/* Character data up to the next '<' (or the end). */
static int chars(scan_t *sc)
{
    while (sc->p < sc->end && *sc->p != '<') {
        if (*sc->p == '&') {
            if (reference(sc) < 0)
                return -1;
        } else {
            sc->p++;
        }
    }
    return 0;
}

static int attr_value(scan_t *sc)
{
    if (sc->p >= sc->end || (*sc->p != '"' && *sc->p != '\''))
        return fail(sc, "an attribute value must be quoted");
    char q = *sc->p++;
    while (sc->p < sc->end && *sc->p != q) {
        if (*sc->p == '<')
            return fail(sc, "'<' in an attribute value");
        if (*sc->p == '&') {
            if (reference(sc) < 0)
                return -1;
        } else {
            sc->p++;
        }
    }
    if (sc->p >= sc->end)
        return fail(sc, "an attribute value is not closed");
    sc->p++;
    return 0;
}

typedef struct tag {
    const char *name;
    size_t len;
} tag_t;

#define ATTRS_MAX 64

/* A start tag after '<'; *empty for "/>". The root's namespace is looked up when root != NULL. */
static int start_tag(scan_t *sc, tag_t *t, bool *empty, xmlcheck_root_t *root)
{
    if (name(sc, &t->name, &t->len) < 0)
        return -1;
    tag_t attrs[ATTRS_MAX];
    int n = 0;
    const char *colon = memchr(t->name, ':', t->len);
    size_t plen = colon ? (size_t)(colon - t->name) : 0;
    for (;;) {
        const char *before = sc->p;
        skip_space(sc);
        if (at(sc, "/>") || at(sc, ">")) {
            *empty = at(sc, "/>");
            sc->p += *empty ? 2 : 1;
            return 0;
        }
        if (sc->p == before)
            return fail(sc, "a space, '>' or '/>' was expected in <%.*s>", (int)(t->len > 60 ? 60 : t->len),
                        t->name);
        tag_t a;
        if (name(sc, &a.name, &a.len) < 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (attrs[i].len == a.len && !memcmp(attrs[i].name, a.name, a.len))
                return fail(sc, "the attribute %.*s appears twice", (int)(a.len > 60 ? 60 : a.len), a.name);
        if (n == ATTRS_MAX)
            return fail(sc, "more than %d attributes on one element", ATTRS_MAX);
        attrs[n++] = a;
        skip_space(sc);
        if (!at(sc, "="))
            return fail(sc, "'=' was expected after an attribute name");
        sc->p++;
        skip_space(sc);
        const char *v = sc->p + 1;
        if (attr_value(sc) < 0)
            return -1;
        bool decl =
            colon ? a.len == 6 + plen && !memcmp(a.name, "xmlns:", 6) && !memcmp(a.name + 6, t->name, plen)
                  : a.len == 5 && !memcmp(a.name, "xmlns", 5);
        if (root && decl) {
            root->ns = v;
            root->ns_len = (size_t)(sc->p - 1 - v);
        }
    }
}

/* Comments, processing instructions and white space (outside the root element). */
static int misc(scan_t *sc)
{
    for (;;) {
        skip_space(sc);
        if (at(sc, "<!--")) {
            if (until(sc, "-->", "a comment") < 0)
                return -1;
        } else if (at(sc, "<?")) {
            if (until(sc, "?>", "a processing instruction") < 0)
                return -1;
        } else if (at(sc, "<!DOCTYPE") || at(sc, "<!ENTITY") || at(sc, "<!")) {
            return fail(sc, "a DOCTYPE or entity declaration is not allowed (no DTDs, no external entities)");
        } else {
            return 0;
        }
    }
}

static int xml_decl(scan_t *sc)
{
    if (!at(sc, "<?xml ") && !at(sc, "<?xml\t") && !at(sc, "<?xml\n") && !at(sc, "<?xml\r"))
        return 0;
    const char *d = sc->p;
    if (until(sc, "?>", "the XML declaration") < 0)
        return -1;
    size_t n = (size_t)(sc->p - d);
    const char *enc = memmem(d, n, "encoding", 8);
    if (!enc)
        return 0;
    const char *q = enc + 8;
    while (q < sc->p && (*q == ' ' || *q == '=' || *q == '"' || *q == '\''))
        q++;
    if (sc->p - q < 5 || strncasecmp(q, "utf-8", 5) || (q[5] != '"' && q[5] != '\''))
        return fail(sc, "the XML must be encoded in UTF-8 (its declaration names another encoding)");
    return 0;
}

static int check_chars(scan_t *sc)
{
    const unsigned char *p = (const unsigned char *)sc->s, *end = (const unsigned char *)sc->end;
    while (p < end) {
        unsigned cp = 0; /* xmlcheck_utf8 leaves it unset on invalid UTF-8 */
        size_t n = xmlcheck_utf8(p, (size_t)(end - p), &cp);
        bool ok = n && (cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
                        (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000);
        if (!ok) {
            sc->p = (const char *)p;
            return fail(sc, n ? "a character that XML does not allow (U+%04X)" : "the XML is not valid UTF-8",
                        cp);
        }
        p += n;
    }
    return 0;
}

/* The element tree from the root's start tag to its end tag. */
static int elements(scan_t *sc, xmlcheck_root_t *root)
{
    tag_t stack[XMLCHECK_DEPTH_MAX];
    int depth = 0;
    do {
        if (chars(sc) < 0)
            return -1;
        if (sc->p >= sc->end)
            return fail(sc, "the element <%.*s> is not closed",
                        (int)(stack[depth - 1].len > 60 ? 60 : stack[depth - 1].len), stack[depth - 1].name);
        if (at(sc, "<!--")) {
            if (until(sc, "-->", "a comment") < 0)
                return -1;
        } else if (at(sc, "<![CDATA[")) {
            if (until(sc, "]]>", "a CDATA section") < 0)
                return -1;
        } else if (at(sc, "<?")) {
            if (until(sc, "?>", "a processing instruction") < 0)
                return -1;
        } else if (at(sc, "<!")) {
            return fail(sc, "a declaration is not allowed inside an element");
        } else if (at(sc, "</")) {
            sc->p += 2;
            tag_t t;
            if (name(sc, &t.name, &t.len) < 0)
                return -1;
            skip_space(sc);
            if (depth == 0)
                return fail(sc, "an end tag without a start tag");
            const tag_t *open = &stack[depth - 1];
            if (!at(sc, ">") || t.len != open->len || memcmp(t.name, open->name, t.len))
                return fail(sc, "</%.*s> does not close <%.*s>", (int)(t.len > 60 ? 60 : t.len), t.name,
                            (int)(open->len > 60 ? 60 : open->len), open->name);
            sc->p++;
            depth--;
        } else {
            sc->p++;
            if (depth == XMLCHECK_DEPTH_MAX)
                return fail(sc, "the elements nest deeper than %d", XMLCHECK_DEPTH_MAX);
            bool empty = false, first = !root->local;
            tag_t *t = &stack[depth];
            if (start_tag(sc, t, &empty, first ? root : NULL) < 0)
                return -1;
            if (first) {
                const char *colon = memchr(t->name, ':', t->len);
                root->local = colon ? colon + 1 : t->name;
                root->local_len = t->len - (size_t)(root->local - t->name);
            }
            if (!empty)
                depth++;
        }
    } while (depth > 0);
    return 0;
}

int xmlcheck_document(const char *text, size_t len, xmlcheck_root_t *root, char *err, size_t err_len)
{
    scan_t sc = {.s = text, .p = text, .end = text + len, .err = err, .err_len = err_len};
    memset(root, 0, sizeof *root);
    if (check_chars(&sc) < 0)
        return -1;
    sc.p = text;
    if (at(&sc, "\xEF\xBB\xBF"))
        sc.p += 3;
    if (xml_decl(&sc) < 0 || misc(&sc) < 0)
        return -1;
    if (!at(&sc, "<") || at(&sc, "</"))
        return fail(&sc, "the root element was expected");
    if (elements(&sc, root) < 0)
        return -1;
    if (misc(&sc) < 0)
        return -1;
    if (sc.p != sc.end)
        return fail(&sc, "content after the root element");
    return 0;
}
