#include "http/multipart.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/errmsg.h"

bool multipart_is_form_data(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "multipart/form-data", 19) == 0 &&
           (ct[19] == '\0' || ct[19] == ';' || ct[19] == ' ');
}

/* The value of parameter name in a header value ("...; name=value" or name="value"), copied into
 * out; false when absent or too long. Quoted values may not contain quotes. */
static bool header_param(const char *value, size_t vlen, const char *name, char *out, size_t out_len)
{
    size_t nl = strlen(name);
    const char *end = value + vlen;
    for (const char *p = value; p < end; p++) {
        if (*p != ';')
            continue;
        const char *q = p + 1;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if ((size_t)(end - q) <= nl || strncasecmp(q, name, nl) != 0 || q[nl] != '=')
            continue;
        q += nl + 1;
        const char *v = q, *ve;
        if (q < end && *q == '"') {
            v = q + 1;
            ve = memchr(v, '"', (size_t)(end - v));
            if (!ve)
                return false;
        } else {
            ve = v;
            while (ve < end && *ve != ';' && *ve != ' ' && *ve != '\t')
                ve++;
        }
        if ((size_t)(ve - v) >= out_len)
            return false;
        memcpy(out, v, (size_t)(ve - v));
        out[ve - v] = '\0';
        return true;
    }
    return false;
}

/* Reads one part's header block [h, h + hlen) into part. */
static int part_headers(const char *h, size_t hlen, multipart_part_t *part, char *err, size_t err_len)
{
    bool disposition = false;
    const char *end = h + hlen;
    while (h < end) {
        const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
        const char *le = eol ? eol : end;
        const char *colon = memchr(h, ':', (size_t)(le - h));
        if (!colon)
            return errmsg_fail(err, err_len, "A part of the multipart body has a header line without ':'");
        size_t nlen = (size_t)(colon - h);
        const char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(le - v);
        if (nlen == 19 && !strncasecmp(h, "Content-Disposition", 19)) {
            if (vlen < 9 || strncasecmp(v, "form-data", 9) != 0)
                return errmsg_fail(err, err_len, "A part's Content-Disposition must be form-data");
            if (!header_param(v, vlen, "name", part->name, sizeof part->name) || !part->name[0])
                return errmsg_fail(err, err_len,
                                   "A part's Content-Disposition has no name (or one that is too long)");
            char fn[MULTIPART_FILENAME_MAX + 1];
            if (header_param(v, vlen, "filename", fn, sizeof fn)) {
                part->has_filename = true;
                snprintf(part->filename, sizeof part->filename, "%s", fn);
            } else if (memmem(v, vlen, "filename=", 9)) {
                return errmsg_fail(err, err_len, "A part's filename is longer than %d bytes",
                                   MULTIPART_FILENAME_MAX);
            }
            disposition = true;
        } else if (nlen == 12 && !strncasecmp(h, "Content-Type", 12)) {
            if (vlen >= sizeof part->content_type)
                return errmsg_fail(err, err_len, "A part's Content-Type is too long");
            memcpy(part->content_type, v, vlen);
            part->content_type[vlen] = '\0';
        }
        h = eol ? eol + 2 : end;
    }
    if (!disposition)
        return errmsg_fail(err, err_len,
                           "A part of the multipart body has no Content-Disposition: form-data header");
    return 0;
}

int multipart_parse(const char *content_type, const char *body, size_t len, multipart_part_t *parts,
                    int max_parts, int *n, char *err, size_t err_len)
{
    *n = 0;
    char boundary[MULTIPART_BOUNDARY_MAX + 3] = "--";
    if (!multipart_is_form_data(content_type))
        return errmsg_fail(err, err_len, "The body is not multipart/form-data");
    if (!header_param(content_type, strlen(content_type), "boundary", boundary + 2, sizeof boundary - 2) ||
        !boundary[2])
        return errmsg_fail(err, err_len,
                           "The multipart Content-Type has no boundary (or one longer than %d characters)",
                           MULTIPART_BOUNDARY_MAX);
    size_t blen = strlen(boundary);
    /* The first delimiter opens the body or follows a preamble line. */
    const char *p = NULL;
    if (len >= blen && memcmp(body, boundary, blen) == 0) {
        p = body;
    } else {
        char first[MULTIPART_BOUNDARY_MAX + 5];
        snprintf(first, sizeof first, "\r\n%s", boundary);
        p = memmem(body, len, first, blen + 2);
        if (p)
            p += 2;
    }
    if (!p)
        return errmsg_fail(err, err_len, "The multipart body does not contain its boundary");
    const char *end = body + len;
    char delim[MULTIPART_BOUNDARY_MAX + 5];
    snprintf(delim, sizeof delim, "\r\n%s", boundary);
    for (;;) {
        p += blen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return *n ? 0 : errmsg_fail(err, err_len, "The multipart body has no parts");
        while (p < end && (*p == ' ' || *p == '\t')) /* transport padding */
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return errmsg_fail(err, err_len, "The multipart body ends before its closing boundary");
        p += 2;
        if (*n >= max_parts)
            return errmsg_fail(err, err_len, "The multipart body has more than %d parts", max_parts);
        size_t window =
            (size_t)(end - p) < MULTIPART_HEADERS_MAX + 4 ? (size_t)(end - p) : MULTIPART_HEADERS_MAX + 4;
        const char *hend =
            (window >= 2 && p[0] == '\r' && p[1] == '\n') ? p : memmem(p, window, "\r\n\r\n", 4);
        if (!hend)
            return errmsg_fail(err, err_len,
                               "A part's headers are longer than %d bytes or the body ends inside them",
                               MULTIPART_HEADERS_MAX);
        multipart_part_t *part = &parts[*n];
        memset(part, 0, sizeof *part);
        if (part_headers(p, (size_t)(hend - p), part, err, err_len) != 0)
            return -1;
        const char *data = hend == p ? p + 2 : hend + 4;
        const char *next = memmem(data, (size_t)(end - data), delim, blen + 2);
        if (!next)
            return errmsg_fail(err, err_len, "The multipart body ends before its closing boundary");
        part->data = data;
        part->len = (size_t)(next - data);
        (*n)++;
        p = next + 2;
    }
}
