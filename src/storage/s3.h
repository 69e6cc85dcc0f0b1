/*
 * s3 — a small S3 client over libcurl for any S3-compatible store (AWS S3, MinIO, Cloudflare
 * R2, the test fake): PUT / GET / DELETE of objects, HEAD of the bucket, pre-signed GET URLs.
 *
 * Requests are signed with our own SigV4 signer (sigv4.h), not CURLOPT_AWS_SIGV4, so one
 * tested signer covers headers and pre-signed URLs and the curl 7.88 quirks (missing
 * x-amz-content-sha256, signed "Expect:") do not apply. Path-style
 * (endpoint/bucket/key) or virtual-host style (bucket.endpoint/key).
 * Upload integrity: the body's SHA-256 is sent as the signed x-amz-content-sha256 and its MD5 as
 * Content-MD5 (AWS, MinIO and R2 reject a body that does not match either), and a PUT only
 * counts when the store answers 200 with an ETag that, when it is a plain MD5 (single-part
 * upload without SSE-KMS, as on AWS, MinIO, R2 and the fake), equals the MD5 of what we sent.
 * Faults: network errors, timeouts, 5xx and 429 are retried with exponential backoff and
 * jitter (attempts, per-attempt and overall time limits in s3_config_t); 4xx are final.
 * Large objects (over part_size: merged batch files) go up as a multipart upload: initiate,
 * one UploadPart per slice (each checked like a single PUT and retried on its own), complete;
 * a failed upload is aborted (best effort: a bucket lifecycle rule
 * AbortIncompleteMultipartUpload removes what an abort could not, docs/operations.md). The
 * object appears under its key only when the upload completes, so a failure never leaves half
 * a file under the key.
 *
 * Threads: an s3_client_t owns a CURL easy handle: one client per thread, never shared.
 * curl_global_init() must have run before the first client is created (main does it).
 * Memory: the client copies its configuration; URLs returned are malloc'd (caller frees).
 */
#ifndef CRAFTKIT_STORAGE_S3_H
#define CRAFTKIT_STORAGE_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/buf.h"

#define S3_ERROR_BODY_MAX (64 * 1024) /* bytes of an error response we keep */
#define S3_URL_MAX 8192
#define S3_PART_DEFAULT ((size_t)16 << 20)
#define S3_PARTS_MAX 10000             /* S3's most parts per upload */
#define S3_UPLOAD_ID_MAX 1024          /* bytes of an UploadId we accept */
#define S3_COMPLETE_XML_MAX (1u << 20) /* the CompleteMultipartUpload body: 10,000 parts */

typedef struct s3_config {
    const char *endpoint; /* "https://s3.eu-west-1.amazonaws.com", no path */
    const char *region;   /* "us-east-1" (R2: "auto") */
    const char *bucket;
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;    /* NULL unless temporary (STS) credentials */
    bool force_path_style;        /* true: endpoint/bucket/key; false: bucket.endpoint/key */
    const char *public_base_url;  /* set: download URLs are <this>/<key>, never pre-signed */
    const char *presign_endpoint; /* pre-signed URLs use this scheme://host[:port]; NULL = endpoint */
    int attempts;                 /* tries per operation (default 3) */
    int attempt_timeout_ms;       /* one try, connect to last byte (default 20000) */
    int connect_timeout_ms;       /* TCP/TLS connect (default 5000) */
    int total_timeout_ms;         /* all tries and backoff together (default 60000) */
    int backoff_base_ms;          /* first backoff; doubles each retry, +-25% jitter (250) */
    int health_timeout_ms;        /* the single HEAD bucket of s3_health (default 2000) */
    size_t part_size;             /* objects larger go up in parts of this size (default 16 MiB;
                                     below S3's 5 MiB minimum only for tests against the fake) */
} s3_config_t;

typedef struct s3_client s3_client_t;

/* Validates cfg (endpoint scheme/host, bucket name, keys) and creates the client.
 * NULL + err on failure. Zero numeric fields take their defaults. */
s3_client_t *s3_client_new(const s3_config_t *cfg, char *err, size_t err_len);
void s3_client_free(s3_client_t *c);

/* PUT key; 0 or -1 + err ("S3 PUT renders/... failed: HTTP 503 SlowDown after 3 attempts").
 * len > part_size: a multipart upload (the object exists only once it completes). */
int s3_put(s3_client_t *c, const char *key, const void *data, size_t len, const char *content_type, char *err,
           size_t err_len);
/* GET key into out (bounded by out->max). 0, -2 when the object does not exist, or -1 + err. */
int s3_get(s3_client_t *c, const char *key, buf_t *out, char *err, size_t err_len);
/* GET key into the file fd (at its start; truncated again before each retry), at most max
 * bytes; *len gets the length written. 0, -2 when the object does not exist, or -1 + err.
 * Memory stays small whatever the object's size. */
int s3_get_fd(s3_client_t *c, const char *key, int fd, size_t max, size_t *len, char *err, size_t err_len);
/* DELETE key; a missing object is success. 0 or -1 + err. */
int s3_delete(s3_client_t *c, const char *key, char *err, size_t err_len);
/* One HEAD of the bucket within health_timeout_ms. 0 or -1 + err. */
int s3_health(s3_client_t *c, char *err, size_t err_len);
/* Download URL for key: the public URL when public_base_url is set, else a pre-signed GET
 * (signed at now, valid ttl seconds, clamped to 1..7 days) whose response carries
 * Content-Disposition: attachment; filename="<filename>" (filename must be sanitised; NULL =
 * no override). *url is malloc'd. 0 or -1 + err. */
int s3_download_url(s3_client_t *c, const char *key, const char *filename, int ttl, time_t now, char **url,
                    char *err, size_t err_len);

#endif
