/*
 * xmlcheck — a small, safe well-formedness check for XML that craftkit embeds (the Factur-X
 * invoice), and the UTF-8 checks shared with attachment names.
 *
 * It is not a general XML parser: it knows no DTD at all, so a DOCTYPE (and with it every
 * entity declaration: XXE, "billion laughs") is refused outright, and only the five predefined
 * entities and character references are accepted. It checks UTF-8 and XML's character range,
 * tag nesting (≤ XMLCHECK_DEPTH_MAX), attribute syntax and uniqueness, comments, processing
 * instructions, CDATA, and an XML declaration whose encoding (if any) is UTF-8. It reports the
 * root element's local name and namespace URI (when declared on the root itself).
 *
 * Threads: any. Memory: nothing is allocated; results point into the caller's text.
 */
#ifndef CRAFTKIT_ENGINE_XMLCHECK_H
#define CRAFTKIT_ENGINE_XMLCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define XMLCHECK_DEPTH_MAX 256

typedef struct xmlcheck_root {
    const char *local; /* the root element's local name */
    size_t local_len;
    const char *ns; /* its namespace URI as written (no entities resolved), or NULL */
    size_t ns_len;
} xmlcheck_root_t;

/* 0 when text[0..len) is well-formed (root filled in), or -1 with "line N: what" in err. */
int xmlcheck_document(const char *text, size_t len, xmlcheck_root_t *root, char *err, size_t err_len);

/* Length of the UTF-8 sequence at p (≤ n bytes available) and its code point, or 0 when the
 * bytes are not valid UTF-8 (overlong forms, surrogates and values past U+10FFFF included). */
size_t xmlcheck_utf8(const unsigned char *p, size_t n, unsigned *cp);

/* Appends s as XML character data or attribute value (& < > " escaped; control characters
 * other than tab and newline, which XML 1.0 does not allow, dropped). With buf_put*: the
 * caller checks buf_error once the document is written. */
void xmlcheck_escape(buf_t *b, const char *s);

#endif
