/*
 * download — the pure logic behind local-storage download links and the /files/<key> route:
 * link signing and verification, Range parsing, ETag and conditional headers,
 * Content-Disposition and Content-Type. No I/O, so all of it is unit-tested without a server.
 *
 * Link form:  {public_url}/files/<key>?expires=<unix seconds>&signature=<hex>[&filename=<name>]
 * What is signed: signature = lowercase hex of HMAC-SHA256(secret, "<key>\n<expires>"), or
 * "<key>\n<expires>\n<filename>" when the link names the download (UTF-8, percent-encoded in
 * the link, signed decoded), where
 * <key> is the object key exactly as in the path after "/files/" (e.g.
 * "renders/<project>/<render>/<filename>"; keys only use [A-Za-z0-9._/-], so the encoded and
 * decoded forms are the same) and <expires> is the decimal Unix time with no sign or leading
 * zeros. A link is valid while now <= expires. The key binds the link to one file, the expiry
 * to one lifetime; the public URL is not signed, so a link survives a change of host name or
 * a reverse proxy in front.
 *
 * Threads: any; pure functions. Memory: download_url() returns a malloc'd string (caller frees);
 * everything else writes to caller buffers.
 */
#ifndef CRAFTKIT_STORAGE_DOWNLOAD_H
#define CRAFTKIT_STORAGE_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define DOWNLOAD_SIGNATURE_LEN 64      /* hex chars */
#define DOWNLOAD_EXPIRES_MAX_DIGITS 12 /* enough until the year 33658 */
#define DOWNLOAD_ETAG_MAX 72           /* "ino-size-mtime" in hex, quoted, NUL */
#define DOWNLOAD_FILENAME_BYTES 480    /* 120 characters of up to 4 UTF-8 bytes */
#define DOWNLOAD_DISPOSITION_MAX 2048  /* attachment; filename="<120>"; filename*=UTF-8''<3 x 480> */
#define DOWNLOAD_HEADER_MAX 8192       /* longest Range / If-* header value we look at */
#define DOWNLOAD_FILENAME_MAX 120      /* characters in a file name (issue 16) */

typedef enum {
    DOWNLOAD_LINK_OK = 0,
    DOWNLOAD_LINK_MALFORMED,     /* expires/signature missing or not well formed */
    DOWNLOAD_LINK_BAD_SIGNATURE, /* tampered key or expiry, or another secret */
    DOWNLOAD_LINK_EXPIRED,
} download_link_t;

typedef enum {
    DOWNLOAD_RANGE_NONE = 0,      /* no usable Range header: send the whole file (200) */
    DOWNLOAD_RANGE_PARTIAL,       /* one satisfiable range: 206 with [*first, *last] */
    DOWNLOAD_RANGE_UNSATISFIABLE, /* 416 with "Content-Range: bytes * /size" (no space) */
} download_range_t;

/* signature of key + expires (+ filename unless NULL) under secret. */
void download_sign(const char *secret, const char *key, const char *filename, long long expires,
                   char sig[DOWNLOAD_SIGNATURE_LEN + 1]);
/* Builds the absolute link (key must be a valid storage key); filename (UTF-8, or NULL) names
 * the download. 0 or -1. */
int download_url(const char *public_url, const char *secret, const char *key, const char *filename,
                 long long expires, char **url);
/* Checks a link's query values (NULL when absent; filename decoded). The signature is compared
 * in constant time and checked before the expiry, so a forged link learns nothing. */
download_link_t download_verify(const char *secret, const char *key, const char *filename,
                                const char *expires, const char *signature, time_t now);
/* A short reason for logs ("link expired", ...). */
const char *download_link_reason(download_link_t v);

/* Parses a Range header (NULL = none) for a file of size bytes. Supports one range:
 * "bytes=a-b", "bytes=a-", "bytes=-n". Multiple ranges, other units or bad syntax are ignored
 * (whole file), as RFC 9110 allows. */
download_range_t download_parse_range(const char *header, uint64_t size, uint64_t *first, uint64_t *last);
/* A strong validator from inode, size and mtime (files are replaced by rename, never edited
 * in place, so any change gives a new one): "\"<ino>-<size>-<mtime ns>\"" in hex. */
void download_etag(const struct stat *st, char out[DOWNLOAD_ETAG_MAX]);
/* True when the If-None-Match / If-Range style header (a list of entity tags or "*") matches
 * etag. weak: If-None-Match comparison (W/ prefixes ignored); !weak: If-Range (strong). */
bool download_etag_match(const char *header, const char *etag, bool weak);
/* RFC 6266 "attachment; filename=\"<ASCII fallback>\"; filename*=UTF-8''<percent-encoded>" of a
 * UTF-8 name, cut at DOWNLOAD_FILENAME_MAX characters; always safe in a header. out_len:
 * DOWNLOAD_DISPOSITION_MAX. */
void download_content_disposition(const char *filename, char *out, size_t out_len);
/* Content-Type from the key's extension (application/pdf, image/png, ...; else
 * application/octet-stream). */
const char *download_content_type(const char *key);

#endif
