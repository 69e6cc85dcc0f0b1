/*
 * sigv4 — AWS Signature Version 4 (AWS4-HMAC-SHA256): header signing and pre-signed URLs.
 *
 * One signer for everything S3 needs: s3.c signs PUT/GET/DELETE/HEAD requests with an
 * Authorization header and builds pre-signed GET URLs (query authentication) with it. It
 * follows the S3 flavour of the rules: each path segment is percent-encoded once (no double
 * encoding), query names and values are encoded with the RFC 3986 unreserved set and sorted,
 * header names are lowercased, values trimmed with inner runs of spaces collapsed.
 * tests/unit/test_sigv4.c checks it against AWS's published examples.
 *
 * Threads: every function is pure (no globals); call from any thread.
 * Memory: results are appended to caller-owned buf_t's; nothing else is allocated for the caller.
 */
#ifndef CRAFTKIT_STORAGE_SIGV4_H
#define CRAFTKIT_STORAGE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"

#define SIGV4_DATE_LEN 16        /* 20130524T000000Z */
#define SIGV4_MAX_EXPIRES 604800 /* pre-signed URLs live at most 7 days */
#define SIGV4_MAX_PARAMS 32      /* query parameters or headers per request */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Hex SHA-256 of the empty body (GET, HEAD, DELETE). */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct sigv4_param {
    const char *name;
    const char *value;
} sigv4_param_t;

typedef struct sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* STS token or NULL */
    const char *region;        /* "us-east-1" */
    const char *service;       /* "s3" */
} sigv4_creds_t;

typedef struct sigv4_request {
    const char *method;         /* "GET", "PUT", ... */
    const char *path;           /* absolute, NOT encoded: "/bucket/renders/a b.pdf" */
    const sigv4_param_t *query; /* NOT encoded; value NULL or "" is written "name=" */
    size_t n_query;
    const sigv4_param_t *headers; /* every header listed here is signed; names unique */
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD */
} sigv4_request_t;

/* Appends s percent-encoded: A-Z a-z 0-9 - _ . ~ are kept, '/' too when keep_slash, every
 * other byte becomes %XX (uppercase hex). Returns a BUF_* code. */
int sigv4_uri_encode(buf_t *out, const char *s, bool keep_slash);
/* Formats t (UTC) as 20130524T000000Z. */
void sigv4_format_date(time_t t, char out[SIGV4_DATE_LEN + 1]);

/* The canonical request, and (when signed_headers is not NULL) the "host;x-amz-date" list.
 * Returns 0, or -1 when a buffer cap is hit or there are too many params/headers. */
int sigv4_canonical_request(const sigv4_request_t *req, buf_t *out, buf_t *signed_headers);
/* kSigning = HMAC chain over "AWS4"+secret, date (YYYYMMDD), region, service, "aws4_request". */
void sigv4_signing_key(const char *secret, const char *date8, const char *region, const char *service,
                       uint8_t out[32]);
/* The string to sign for canonical_request at amz_date. */
int sigv4_string_to_sign(const char *canonical_request, const sigv4_creds_t *c, const char *amz_date,
                         buf_t *out);
/* Hex signature of req at amz_date; signed_headers as in sigv4_canonical_request. */
int sigv4_signature(const sigv4_request_t *req, const sigv4_creds_t *c, const char *amz_date, char sig[65],
                    buf_t *signed_headers);
/* The Authorization header value ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..."). req->headers must already hold host, x-amz-date and x-amz-content-sha256
 * (and x-amz-security-token when c->session_token is set). */
int sigv4_authorization(const sigv4_request_t *req, const sigv4_creds_t *c, const char *amz_date, buf_t *out);
/* Appends a pre-signed GET URL: origin ("https://host[:port]") + encoded path + query with
 * X-Amz-* parameters, extra (e.g. response-content-disposition) and X-Amz-Signature. host is
 * the Host header value the client will send (signed as the only header). expires is 1..7 days.
 * Returns 0 or -1. */
int sigv4_presign_get(const char *origin, const char *host, const char *path, const sigv4_param_t *extra,
                      size_t n_extra, const sigv4_creds_t *c, const char *amz_date, int expires, buf_t *url);

#endif
