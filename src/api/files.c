/*
 * GET|HEAD /files/<key>?expires=&signature= — downloads of local storage (docs/api.md, "Downloads of local storage").
 *
 * The link is checked first (storage_local_verify: HMAC-SHA256 over "<key>\n<expires>", plus
 * "\n<filename>" when the link names the download, constant-time; tampered, malformed or expired → 403), then the file is opened strictly under
 * the data dir (no "..", no symlinks) and streamed by the server from the fd. Supports
 * If-None-Match (304), a single Range (206 / 416) guarded by If-Range, and sends ETag,
 * Accept-Ranges, Content-Disposition (RFC 6266, the link's filename or the key's last segment) and Content-Type. With S3 storage
 * the route answers 404: downloads go to the store directly.
 * Threads: MHD pool threads; each uses its own storage_thread() backend.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "http/router.h"
#include "storage/download.h"
#include "storage/storage.h"

static void forbidden(http_req_t *req, download_link_t why)
{
    if (why == DOWNLOAD_LINK_EXPIRED)
        http_error(req, 403, "link_expired",
                   "This download link has expired; fetch the render "
                   "again for a fresh one",
                   NULL);
    else
        http_error(req, 403, "invalid_signature", "This download link is not valid", NULL);
}

/* Sends 206 for [first, last] of fd, or 416 when the range cannot be served. */
static void respond_range(http_req_t *req, int fd, const struct stat *st, const char *type)
{
    uint64_t size = (uint64_t)st->st_size, first = 0, last = 0;
    char value[96];
    const char *range = http_header(req, "Range");
    const char *if_range = http_header(req, "If-Range");
    char etag[DOWNLOAD_ETAG_MAX];
    download_etag(st, etag);
    /* If-Range names the version the client has; another version gets the whole file. */
    download_range_t r = (if_range && !download_etag_match(if_range, etag, false))
                             ? DOWNLOAD_RANGE_NONE
                             : download_parse_range(range, size, &first, &last);
    if (r == DOWNLOAD_RANGE_UNSATISFIABLE) {
        close(fd);
        snprintf(value, sizeof value, "bytes */%" PRIu64, size);
        http_add_header(req, "Content-Range", value);
        http_error(req, 416, "range_not_satisfiable", "The requested range is outside the file", NULL);
        return;
    }
    if (r == DOWNLOAD_RANGE_PARTIAL) {
        snprintf(value, sizeof value, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        http_add_header(req, "Content-Range", value);
        http_respond_fd(req, 206, type, fd, first, last - first + 1);
        return;
    }
    http_respond_fd(req, 200, type, fd, 0, size);
}

static void files_get(http_req_t *req)
{
    const char *key = http_param(req, "*");
    storage_t *s = storage_thread();
    if (!s) {
        http_error(req, 503, "storage_unavailable", "Storage is not available", NULL);
        return;
    }
    if (storage_kind(s) != STORAGE_LOCAL) {
        http_error(req, 404, "not_found", "No route matches this path", NULL);
        return;
    }
    download_link_t v = storage_local_verify(s, key, http_query(req, "filename"), http_query(req, "expires"),
                                             http_query(req, "signature"), time(NULL));
    if (v != DOWNLOAD_LINK_OK) {
        log_event(LOG_INFO, "download refused", "reason", download_link_reason(v), "request_id",
                  req->request_id, NULL);
        forbidden(req, v);
        return;
    }
    int fd;
    struct stat st;
    char err[ERRMSG_LEN];
    int rc = storage_local_open(s, key, &fd, &st, err, sizeof err);
    if (rc == STORAGE_NOT_FOUND) {
        http_error(req, 404, "not_found", "This file does not exist (any more)", NULL);
        return;
    }
    if (rc != 0) {
        log_error("files: %s", err);
        http_error(req, 500, "internal_error", "The file could not be read", NULL);
        return;
    }
    char etag[DOWNLOAD_ETAG_MAX], disposition[DOWNLOAD_DISPOSITION_MAX];
    download_etag(&st, etag);
    const char *leaf = strrchr(key, '/'), *named = http_query(req, "filename");
    download_content_disposition(named ? named : leaf ? leaf + 1 : key, disposition, sizeof disposition);
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Accept-Ranges", "bytes");
    http_add_header(req, "Content-Disposition", disposition);
    /* The link itself is the credential: keep shared caches out of it. */
    http_add_header(req, "Cache-Control", "private, max-age=0, must-revalidate");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    if (download_etag_match(http_header(req, "If-None-Match"), etag, true)) {
        close(fd);
        http_respond_bytes(req, 304, NULL, "", 0);
        return;
    }
    respond_range(req, fd, &st, download_content_type(key));
}

void api_files_routes(void)
{
    router_add("GET", "/files/*", files_get, AUTH_NONE);
}
