/*
 * multipart — a small, bounded parser for multipart/form-data request bodies (RFC 7578), enough
 * for file uploads: each part's name, filename and Content-Type, and its bytes.
 *
 * The whole body is already in memory (capped by the route), so parts are views into it and
 * nothing is copied: at most MULTIPART_MAX_PARTS parts, each with at most MULTIPART_HEADERS_MAX
 * bytes of headers; anything else (no boundary, a missing closing boundary, headers without a
 * Content-Disposition: form-data name, more parts) is an error with a message for the client.
 * Threads: any (pure). Memory: parts point into body and live as long as it.
 */
#ifndef CRAFTKIT_HTTP_MULTIPART_H
#define CRAFTKIT_HTTP_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#define MULTIPART_MAX_PARTS 8
#define MULTIPART_HEADERS_MAX 4096
#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */
#define MULTIPART_NAME_MAX 128
#define MULTIPART_FILENAME_MAX 512

typedef struct multipart_part {
    char name[MULTIPART_NAME_MAX + 1];         /* form field name */
    char filename[MULTIPART_FILENAME_MAX + 1]; /* "" when the part has none */
    bool has_filename;                         /* the part is a file */
    char content_type[128];                    /* "" when not given */
    const char *data;                          /* into the body */
    size_t len;
} multipart_part_t;

/* True when content_type is multipart/form-data (parameters ignored). */
bool multipart_is_form_data(const char *content_type);
/* Parses body (len bytes) sent with content_type into parts[0..*n). 0, or -1 with err. */
int multipart_parse(const char *content_type, const char *body, size_t len, multipart_part_t *parts,
                    int max_parts, int *n, char *err, size_t err_len);

#endif
