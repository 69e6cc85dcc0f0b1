/*
 * storage — where rendered files live: local disk (default) or any S3-compatible store,
 * chosen by CRAFTKIT_STORAGE. One interface for the render workers, GET /v1/renders and /ready.
 *
 * Keys are built by the server (storage_render_key: renders/<project>/<render>/<filename>),
 * never taken from user input; every operation re-checks the key (segments of [A-Za-z0-9._-],
 * none empty or starting with '.'), so a file name can never leave its folder.
 *
 * Local: files under CRAFTKIT_DATA_DIR written atomically (localfs.h); download URLs are
 * {public}/files/<key>?expires=&signature= links served by the server's /files route
 * (download.h documents exactly what is signed). S3: see s3.h (SigV4, retries, pre-signed GETs
 * or S3_PUBLIC_BASE_URL).
 *
 * Threads: a storage_t is used by one thread at a time (the S3 backend owns a CURL handle);
 * create one per worker / HTTP thread. A local-backend storage_t is never modified after
 * storage_new(), so the storage_local_* route helpers may be called from any thread.
 * Memory: storage_free() releases everything; URLs returned are malloc'd (caller frees).
 */
#ifndef CRAFTKIT_STORAGE_STORAGE_H
#define CRAFTKIT_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "storage/download.h"
#include "storage/localfs.h"

#define STORAGE_FILENAME_MAX 120         /* characters (docs/api.md, options.filename) */
#define STORAGE_DISPLAY_FILENAME_MAX 480 /* bytes: 120 characters of up to 4 UTF-8 bytes */
#define STORAGE_KEY_MAX 1024             /* same cap as localfs */
#define STORAGE_NOT_FOUND (-2)           /* storage_get / storage_local_open: no such object */

typedef struct storage storage_t;

/* Fault-handling knobs; zero fields take the defaults below. */
typedef struct storage_options {
    int s3_attempts;           /* 3 */
    int s3_attempt_timeout_ms; /* 20000 */
    int s3_connect_timeout_ms; /* 5000 */
    int s3_total_timeout_ms;   /* 60000: a PUT never takes longer, retries included */
    int s3_backoff_base_ms;    /* 250 */
    int health_timeout_ms;     /* 2000 (S3 HEAD bucket for /ready) */
    size_t s3_part_size;       /* S3_PART_SIZE_MB: objects larger go up in parts (tests: any size) */
} storage_options_t;

/* Creates a backend from the loaded config (storage, data_dir, signing_secret, download_ttl,
 * s3_*, public_url). For local: creates data_dir, and loads or generates+persists the signing
 * secret (data_dir/.signing-secret, 0600) when cfg->signing_secret is NULL.
 * Returns NULL + err on failure. */
storage_t *storage_new(const config_t *cfg, char *err, size_t err_len);
/* Same with explicit fault-handling options (opts NULL = defaults). */
storage_t *storage_new_with(const config_t *cfg, const storage_options_t *opts, char *err, size_t err_len);
void storage_free(storage_t *s);
storage_kind_t storage_kind(const storage_t *s);

/* Stores bytes under key atomically; sha256_hex (65 bytes) gets the hex SHA-256.
 * 0, or -1 + err ("S3 PUT ... failed: HTTP 503 ... after 3 attempts", "disk full ..."). On
 * failure nothing is stored under key (a previous object, if any, is left as it was). */
int storage_put(storage_t *s, const char *key, const void *data, size_t len, const char *content_type,
                char *sha256_hex, char *err, size_t err_len);
/* The local store's puts whose sync is left to storage_sync_run. Zero-initialised = empty. */
typedef localfs_sync_t storage_sync_t;
/* storage_put, except that the local store leaves the put's fsyncs (two or three) to one
 * sync of the data directory's file system for all the puts of pending: the object is durable,
 * and may be recorded as stored, only after storage_sync_run(pending) returned 0 (before, a
 * crash can leave it missing or partly written under key). Meant for many puts in a row (a
 * worker's group of batch items). S3, or pending NULL: storage_put. */
int storage_put_deferred(storage_t *s, const char *key, const void *data, size_t len,
                         const char *content_type, char *sha256_hex, storage_sync_t *pending, char *err,
                         size_t err_len);
/* Syncs what pending's puts wrote (localfs_sync_run) and empties it. 0, or -1 + err (then
 * the objects put since the last run must not be relied on: store them again). */
int storage_sync_run(storage_t *s, storage_sync_t *pending, char *err, size_t err_len);
/* Reads a whole object into out (bounded by out->max). 0, STORAGE_NOT_FOUND, or -1 + err. */
int storage_get(storage_t *s, const char *key, buf_t *out, char *err, size_t err_len);
/* S3 only: copies an object into the file fd (a spool for streaming it on), at most max
 * bytes; *len gets its length. 0, STORAGE_NOT_FOUND, or -1 + err. */
int storage_get_fd(storage_t *s, const char *key, int fd, size_t max, size_t *len, char *err, size_t err_len);
/* Removes key; a missing object is success. 0 or -1 + err. */
int storage_delete(storage_t *s, const char *key, char *err, size_t err_len);
/* Absolute download URL for key, valid ttl seconds (<= 0: CRAFTKIT_DOWNLOAD_TTL; S3 caps it at
 * 7 days), saving as filename (sanitised here; NULL: the key's last segment); *url is malloc'd.
 * S3: a pre-signed GET with response-content-disposition (or S3_PUBLIC_BASE_URL/<key>).
 * Local: /files/<key>?expires=&signature=; the route names the download after the key's last
 * segment, which storage_render_key makes the render's file name, so filename is not needed. */
int storage_download_url(storage_t *s, const char *key, const char *filename, int ttl, char **url, char *err,
                         size_t err_len);
/* Same, signed as of now (tests use it to make links that are already expired). */
int storage_download_url_at(storage_t *s, const char *key, const char *filename, int ttl, time_t now,
                            char **url, char *err, size_t err_len);
/* Quick liveness check for /ready (local: data dir writable; S3: HEAD bucket, short timeout). */
int storage_health(storage_t *s, char *err, size_t err_len);

/* options.filename (docs/api.md): sanitise a user filename to [A-Za-z0-9._-]: each run of other bytes becomes one
 * '_', leading dots and other bytes are dropped, ".pdf" is appended if missing, at most 120
 * chars. Never "." / ".." / empty / only '_' and '.' (→ "<render_id>.pdf"); the fallback is
 * also used when filename is NULL ("download.pdf" when render_id is NULL or not a UUID too).
 * out_len >= STORAGE_FILENAME_MAX + 1 holds any result. Idempotent. */
void storage_sanitize_filename(const char *filename, const char *render_id, char *out, size_t out_len);
/* NULL when name (len bytes, UTF-8) may be a render's file name: 1-120 characters, no NUL;
 * else the message for the client. */
const char *storage_filename_problem(const char *name, size_t len);
/* The download name of a render (issue 16): the user's UTF-8 characters kept, path separators,
 * controls and invalid bytes replaced by '_', leading spaces and dots dropped, at most 120
 * characters, ".pdf" appended when the name has no extension (".<1-8 letters/digits>"). NULL
 * or nothing usable gives "<render_id>.pdf" as storage_sanitize_filename does. out_len >=
 * STORAGE_DISPLAY_FILENAME_MAX + 1. Idempotent. Storage keys never use this name. */
void storage_display_filename(const char *filename, const char *render_id, char *out, size_t out_len);
/* Builds "renders/<project_id>/<render_id>/<filename>" after checking both ids are canonical
 * UUIDs (written lowercase) and filename is already sanitised. 0 or -1. */
int storage_render_key(const char *project_id, const char *render_id, const char *filename, char *out,
                       size_t out_len);
/* True when key is one this module will store (see above). */
bool storage_key_valid(const char *key);

/* ---- per-thread backends for the server ----
 * storage_configure() runs once on the main thread before any other thread starts: it calls
 * curl_global_init, checks cfg by creating one backend (so the data dir and the signing secret
 * exist before the first request, and a bad setting stops start-up) and remembers cfg, which
 * must outlive every thread. storage_thread() then gives each thread its own backend, created
 * on first use and freed when the thread exits; NULL (logged) if it cannot be created. */
int storage_configure(const config_t *cfg, char *err, size_t err_len);
storage_t *storage_thread(void);
/* Releases the main thread's backend and curl's global state (at shutdown). */
void storage_shutdown(void);
/* For system_add_ready_check("storage", ...): storage_health() of this thread's backend. */
bool storage_ready_check(char *err, size_t err_len);

/* ---- local backend: what GET|HEAD /files/<key>?expires=&signature= needs ----
 * The route: verify (403 unless DOWNLOAD_LINK_OK) → open (404 when STORAGE_NOT_FOUND) →
 * If-None-Match (304) → If-Range/Range (206/416) → headers from download.h helpers.
 * Both return an error on an S3 backend. */
download_link_t storage_local_verify(const storage_t *s, const char *key, const char *filename,
                                     const char *expires, const char *signature, time_t now);
/* Opens data_dir/key for streaming (resolved strictly under data_dir, no symlinks followed).
 * *fd is the caller's to close. 0, STORAGE_NOT_FOUND, or -1 + err. */
int storage_local_open(const storage_t *s, const char *key, int *fd, struct stat *st, char *err,
                       size_t err_len);

#endif
