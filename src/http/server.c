#include "http/server.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid7.h"
#include "http/http.h"
#include "core/metrics.h"
#include "http/router.h"

#define SERVER_MAX_SHUTDOWN_HOOKS 8
#define SERVER_CONNECTION_MEMORY (128 * 1024)
#define SERVER_HANDLER_DRAIN_MAX_MS 60000 /* after the grace period, for handlers still running */
#define SERVER_REAPER_TICK_MS 200
#define SERVER_MHD_LOG_PER_S 20 /* libmicrohttpd's own messages logged per second, at most */
/* Bodies of at least this size are mmap'd, so freeing one gives the memory back at once
 * (glibc's sliding threshold would otherwise move up and keep them in the heap). */
#define SERVER_MMAP_THRESHOLD (256 * 1024)
/* After a burst that buffered at least this much, malloc_trim once the buffers are gone. */
#define SERVER_TRIM_AFTER_BYTES (8 * 1024 * 1024)

/* Where a request is; see on_request(). */
enum { REQ_READING = 0, REQ_HANDLING, REQ_PARKED, REQ_ANSWERED, REQ_PRECHECK, REQ_PRECHECKED };

/* Where a connection is, for the reaper: reading a request head (from accept or the end of the
 * previous request), reading a body, or anything else (handled, parked, answering). Only the
 * first two have deadlines of ours; the rest is bounded by handlers and MHD's idle timeout. */
enum { CONN_HEAD = 0, CONN_BODY, CONN_BUSY, CONN_REAPED };

typedef struct conn_track {
    int fd;
    int phase;
    int64_t since_ms;
    struct conn_track *prev, *next;
} conn_track_t;

static struct MHD_Daemon *daemon_handle;
static size_t max_body;
static atomic_int active_requests;
static atomic_int suspended_requests; /* connections suspended by us: queued, in a handler or parked */

/* MHD_stop_daemon aborts the process when it finds a suspended connection, so once the server
 * has begun to stop no new request may be suspended: dispatch() and server_stop() share this
 * lock, so a request is either counted before the door closes (and drained) or answered 503
 * on the event thread without being suspended. */
static pthread_mutex_t suspend_mu = PTHREAD_MUTEX_INITIALIZER;
static bool suspend_closed;

/* Connection tracking (see conn_track_t): the list is changed by MHD's connection notices and
 * read by the reaper thread; the mutex also orders shutdown() before MHD's close() of the fd,
 * which comes after the CLOSED notice that unlinks the entry. */
static struct {
    pthread_mutex_t mu;
    conn_track_t *head;
    int64_t header_ms, body_ms;
    pthread_t reaper;
    bool reaper_running;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stop;
} track = {.mu = PTHREAD_MUTEX_INITIALIZER,
           .stop_mu = PTHREAD_MUTEX_INITIALIZER,
           .stop_cv = PTHREAD_COND_INITIALIZER};

/* Body bytes buffered across all connections, against CRAFTKIT_BODY_BUFFER_MAX. */
static atomic_size_t body_bytes;
static atomic_size_t body_bytes_peak; /* since the last trim */
static size_t body_budget;

/* The handler pool: MHD's event threads only read and write; handlers run here, taken from one
 * FIFO, so a slow handler never holds up the other connections of an event thread and the load
 * spreads evenly however the connections were distributed. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    http_req_t *head, *tail;
    bool stop;
    pthread_t *threads;
    int n;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static _Thread_local bool handler_parked; /* the running handler called http_suspend() */
static void (*shutdown_hooks[SERVER_MAX_SHUTDOWN_HOOKS])(void);
static int n_shutdown_hooks;
static int bound_port;
static server_auth_t authn; /* installed by serve: the auth layer is above this one */

void server_set_auth(const server_auth_t *auth)
{
    authn = *auth;
}

void server_on_shutdown(void (*fn)(void))
{
    if (n_shutdown_hooks < SERVER_MAX_SHUTDOWN_HOOKS)
        shutdown_hooks[n_shutdown_hooks++] = fn;
}

int server_port(void)
{
    return bound_port;
}

/* ---- connection tracking and the reaper ---- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_track_t *t = calloc(1, sizeof *t);
        if (!t || !ci) {
            free(t);
            *socket_context = NULL;
            return;
        }
        t->fd = ci->connect_fd;
        t->phase = CONN_HEAD;
        t->since_ms = time_mono_ms();
        pthread_mutex_lock(&track.mu);
        t->next = track.head;
        if (track.head)
            track.head->prev = t;
        track.head = t;
        pthread_mutex_unlock(&track.mu);
        *socket_context = t;
        return;
    }
    conn_track_t *t = *socket_context;
    if (!t)
        return;
    pthread_mutex_lock(&track.mu);
    if (t->prev)
        t->prev->next = t->next;
    else
        track.head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&track.mu);
    free(t);
    *socket_context = NULL;
}

/* Moves the connection of conn to phase, restarting its clock. */
static void track_phase(struct MHD_Connection *conn, int phase)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_track_t *t = ci ? ci->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&track.mu);
    if (t->phase != CONN_REAPED) {
        t->phase = phase;
        t->since_ms = time_mono_ms();
    }
    pthread_mutex_unlock(&track.mu);
}

/* Shuts down (never closes: the fd stays MHD's) every connection past its head or body
 * deadline; MHD then sees the end of the stream and closes it the usual way. */
static void reap_overdue(void)
{
    int64_t now = time_mono_ms();
    int heads = 0, bodies = 0;
    pthread_mutex_lock(&track.mu);
    for (conn_track_t *t = track.head; t; t = t->next) {
        bool over = (t->phase == CONN_HEAD && now - t->since_ms > track.header_ms) ||
                    (t->phase == CONN_BODY && now - t->since_ms > track.body_ms);
        if (!over)
            continue;
        *(t->phase == CONN_HEAD ? &heads : &bodies) += 1;
        t->phase = CONN_REAPED;
        shutdown(t->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&track.mu);
    if (heads)
        metrics_counter_add("craftkit_http_connections_reaped_total", "reason=\"header_timeout\"", heads);
    if (bodies)
        metrics_counter_add("craftkit_http_connections_reaped_total", "reason=\"body_timeout\"", bodies);
}

/* After a burst of large bodies, hands the freed heap back to the system once the buffers are
 * gone (big bodies are mmap'd anyway; this returns what smaller ones left in the arenas). */
static void trim_after_burst(void)
{
    if (atomic_load(&body_bytes_peak) < SERVER_TRIM_AFTER_BYTES || atomic_load(&body_bytes) > 0)
        return;
    atomic_store(&body_bytes_peak, 0);
    malloc_trim(0);
}

static void *reaper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&track.stop_mu);
    while (!track.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SERVER_REAPER_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&track.stop_cv, &track.stop_mu, &ts);
        if (track.stop)
            break;
        pthread_mutex_unlock(&track.stop_mu);
        reap_overdue();
        trim_after_burst();
        pthread_mutex_lock(&track.stop_mu);
    }
    pthread_mutex_unlock(&track.stop_mu);
    return NULL;
}

static void reaper_stop(void)
{
    if (!track.reaper_running)
        return;
    pthread_mutex_lock(&track.stop_mu);
    track.stop = true;
    pthread_cond_signal(&track.stop_cv);
    pthread_mutex_unlock(&track.stop_mu);
    pthread_join(track.reaper, NULL);
    track.reaper_running = false;
}

/* ---- the body budget ---- */

/* Takes n bytes from the process-wide body budget; false when they do not fit. */
static bool budget_take(size_t n)
{
    size_t now = atomic_fetch_add(&body_bytes, n) + n;
    if (now > body_budget) {
        atomic_fetch_sub(&body_bytes, n);
        return false;
    }
    size_t peak = atomic_load(&body_bytes_peak);
    while (now > peak && !atomic_compare_exchange_weak(&body_bytes_peak, &peak, now)) {
    }
    return true;
}

/* ---- request lifecycle ---- */

static bool request_id_acceptable(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HTTP_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

static http_req_t *req_new(struct MHD_Connection *conn, const char *url, const char *method)
{
    http_req_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->resp_fd = -1;
    req->started_mono_ms = time_mono_ms();
    buf_init(&req->body, max_body);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && request_id_acceptable(rid))
        snprintf(req->request_id, sizeof req->request_id, "%s", rid);
    else
        uuid7_new_str(req->request_id);
    atomic_fetch_add(&active_requests, 1);
    return req;
}

static void req_free(http_req_t *req)
{
    if (req->body_reserved)
        atomic_fetch_sub(&body_bytes, req->body_reserved);
    for (int i = 0; i < req->n_params; i++)
        free(req->param_values[i]);
    buf_free(&req->body);
    if (req->json)
        json_decref(req->json);
    free(req->resp_body);
    if (req->resp_fd >= 0)
        close(req->resp_fd);
    for (int i = 0; i < req->n_resp_headers; i++) {
        free(req->resp_headers[i][0]);
        free(req->resp_headers[i][1]);
    }
    if (req->handler_state && req->handler_state_free)
        req->handler_state_free(req->handler_state);
    free(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_req_t *req = *con_cls;
    track_phase(conn, CONN_HEAD); /* a kept-alive connection waits for its next request head */
    if (!req)
        return;
    /* A connection resumed by a handler can be closed by MHD (the client went away) without
     * our access handler seeing it again: the count of suspended requests is settled here. */
    if (req->suspend_counted) {
        req->suspend_counted = false;
        atomic_fetch_sub(&suspended_requests, 1);
    }
    int64_t dur = time_mono_ms() - req->started_mono_ms;
    const char *route = req->route ? req->route->pattern : "unmatched";
    metrics_http_observe(req->method, route, req->status, (double)dur / 1000.0);
    char status[8], duration[24];
    snprintf(status, sizeof status, "%d", req->status);
    snprintf(duration, sizeof duration, "%lld", (long long)dur);
    log_event(LOG_INFO, "request", "method", req->method, "path", router_log_path(req->path), "status",
              status, "duration_ms", duration, "request_id", req->request_id, "project",
              req->auth.project_id[0] ? req->auth.project_id : NULL, "aborted",
              toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : "true", NULL);
    req_free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&active_requests, 1);
}

static enum MHD_Result queue_response(http_req_t *req)
{
    struct MHD_Response *resp;
    if (req->status == 0)
        http_error(req, 500, "internal_error", "The handler did not answer", NULL);
    if (req->resp_fd >= 0) {
        resp = MHD_create_response_from_fd_at_offset64(req->resp_fd_len, req->resp_fd, req->resp_fd_offset);
        req->resp_fd = -1; /* MHD closes it now */
    } else {
        resp = MHD_create_response_from_buffer(req->resp_len, req->resp_body, MHD_RESPMEM_MUST_FREE);
        req->resp_body = NULL;
    }
    if (!resp)
        return MHD_NO;
    if (req->resp_type)
        MHD_add_response_header(resp, "Content-Type", req->resp_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    bool has_csp = false;
    for (int i = 0; i < req->n_resp_headers; i++) {
        MHD_add_response_header(resp, req->resp_headers[i][0], req->resp_headers[i][1]);
        has_csp |= !strcasecmp(req->resp_headers[i][0], "Content-Security-Policy");
    }
    /* A JSON answer is data, never a page: should a browser open one (an error under
     * /dashboard, a link pasted into a tab), nothing in it may run or be framed. Files and
     * PDFs keep no CSP so browser PDF viewers still work; the dashboard sets its own. */
    if (!has_csp && req->resp_type && !strncmp(req->resp_type, "application/json", 16))
        MHD_add_response_header(resp, "Content-Security-Policy", API_JSON_CSP);
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static bool is_body_method(const char *m)
{
    return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

/* Bodies are parsed as JSON whatever their Content-Type (curl -d sends
 * application/x-www-form-urlencoded, some clients text/plain or none): only a multipart body,
 * which cannot be JSON, is refused up front. */
static bool content_type_is_multipart(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, "multipart/", 10);
}

/* 503 when the body budget is used up; the client may simply retry. */
static void server_busy(http_req_t *req)
{
    http_add_header(req, "Retry-After", "1");
    metrics_counter_add("craftkit_http_body_budget_refused_total", NULL, 1);
    http_error(req, 503, "server_busy",
               "The server is reading too many request bodies at once; retry shortly", NULL);
}

/* Iterative depth check, so that hostile nesting cannot exhaust the stack later. */
static bool json_depth_ok(const json_t *root, int max_depth)
{
    typedef struct {
        const json_t *v;
        int depth;
    } item_t;
    size_t cap = 256, n = 0;
    item_t *stack = malloc(cap * sizeof *stack);
    bool ok = true;
    if (!stack)
        return false;
    stack[n++] = (item_t){root, 1};
    while (n > 0 && ok) {
        item_t it = stack[--n];
        if (!json_is_object(it.v) && !json_is_array(it.v))
            continue;
        if (it.depth > max_depth) {
            ok = false;
            break;
        }
        size_t count = json_is_object(it.v) ? json_object_size(it.v) : json_array_size(it.v);
        if (n + count > cap) {
            while (n + count > cap)
                cap *= 2;
            item_t *grown = realloc(stack, cap * sizeof *stack);
            if (!grown) {
                ok = false;
                break;
            }
            stack = grown;
        }
        if (json_is_object(it.v)) {
            const char *k;
            json_t *child;
            json_object_foreach((json_t *)it.v, k, child) stack[n++] = (item_t){child, it.depth + 1};
        } else {
            size_t i;
            json_t *child;
            json_array_foreach(it.v, i, child) stack[n++] = (item_t){child, it.depth + 1};
        }
    }
    free(stack);
    return ok;
}

/* Counts the Content-Length and Transfer-Encoding headers of a request. */
typedef struct {
    int n_cl, n_te;
    const char *cl, *te;
    bool cl_conflict;
} framing_t;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    framing_t *f = cls;
    if (!strcasecmp(key, "Content-Length")) {
        if (f->n_cl++ && strcmp(f->cl, value ? value : ""))
            f->cl_conflict = true;
        if (f->n_cl == 1)
            f->cl = value ? value : "";
    } else if (!strcasecmp(key, "Transfer-Encoding")) {
        if (f->n_te++ == 0)
            f->te = value ? value : "";
    }
    return MHD_YES;
}

/* How the body is framed (RFC 9112 §6): conflicting lengths, a length next to a transfer
 * coding, or any coding but chunked are refused before a byte of body is read, so that no
 * request is read "until close" and no two parsers can disagree on where it ends. Returns true
 * when it has answered. */
static bool check_framing(http_req_t *req)
{
    framing_t f = {0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.cl_conflict) {
        http_error(req, 400, "malformed_request", "The request has Content-Length headers that disagree",
                   NULL);
        return true;
    }
    if (f.n_te == 0) {
        req->has_body = f.cl && strtoull(f.cl, NULL, 10) > 0;
        return false;
    }
    const char *te = f.te;
    while (*te == ' ' || *te == '\t')
        te++;
    size_t n = strlen(te);
    while (n > 0 && (te[n - 1] == ' ' || te[n - 1] == '\t'))
        n--;
    if (f.n_te > 1 || n != 7 || strncasecmp(te, "chunked", 7) != 0) {
        http_error(req, 501, "not_implemented", "The only Transfer-Encoding accepted is chunked", NULL);
        return true;
    }
    if (f.n_cl) {
        http_error(req, 400, "malformed_request", "The request has both Content-Length and Transfer-Encoding",
                   NULL);
        return true;
    }
    req->has_body = true;
    return false;
}

/* First call: everything decidable from the request line and headers. Returns true when the
 * request was answered already. */
static bool check_headers(http_req_t *req)
{
    if (check_framing(req))
        return true;
    char allow[128];
    router_result_t rr = router_match(req->method, req->path, req, allow, sizeof allow);
    if (rr == ROUTER_NOT_FOUND) {
        http_error(req, 404, "not_found", "No route matches this path", NULL);
        return true;
    }
    if (rr == ROUTER_BAD_METHOD) {
        http_add_header(req, "Allow", allow);
        http_error(req, 405, "method_not_allowed", "This route does not accept this method", NULL);
        return true;
    }
    if (req->route->upload_max) /* nothing was read yet: the body's cap is the route's */
        buf_init(&req->body, req->route->upload_max);
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > req->body.max) {
        char msg[128];
        snprintf(msg, sizeof msg, "The body is larger than the limit of %zu bytes", req->body.max);
        http_error(req, 413, "payload_too_large", msg, NULL);
        return true;
    }
    if (is_body_method(req->method)) {
        const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Type");
        if (req->has_body && !req->route->upload_max && content_type_is_multipart(ct)) {
            http_error(req, 415, "unsupported_media_type",
                       "Multipart bodies are not accepted; send JSON with Content-Type: application/json",
                       NULL);
            return true;
        }
    }
    if (authn.check_headers(req))
        return true;
    /* A key the cache knows is decided here, on the event thread, without I/O. */
    if (req->route->auth == AUTH_PROJECT && authn.cached)
        req->auth_done = authn.cached(req);
    return false;
}

/* Starts reading the body: takes its announced length from the process-wide budget (a chunked
 * body takes its bytes as they come) and starts the body deadline. Returns true when it has
 * answered 503 instead. */
static bool begin_body(http_req_t *req)
{
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    size_t n = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
    if (n > 0) {
        if (!budget_take(n)) {
            server_busy(req);
            return true;
        }
        req->body_reserved = n;
    }
    track_phase(req->conn, CONN_BODY);
    return false;
}

/* Keeps a body chunk, within the request's cap and the process-wide budget. Past either, the
 * rest is read and dropped so the client still gets a clean answer (413 or 503). */
static void take_body_chunk(http_req_t *req, const char *data, size_t len)
{
    if (req->too_large || req->over_budget)
        return;
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
    if (!cl) { /* chunked: no reservation, so each chunk is taken as it comes */
        if (!budget_take(len)) {
            req->over_budget = true;
            buf_free(&req->body);
            return;
        }
        req->body_reserved += len;
    }
    if (buf_append(&req->body, data, len) != BUF_OK) {
        req->too_large = true;
        buf_free(&req->body);
    }
}

bool http_parse_json_body(http_req_t *req)
{
    if (req->body.len == 0) {
        http_error(req, 400, "invalid_json",
                   "The request body is empty; send a JSON object with Content-Type: application/json", NULL);
        return false;
    }
    json_error_t jerr;
    req->json = json_loadb(req->body.data, req->body.len, JSON_DECODE_ANY, &jerr);
    if (!req->json) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "The body is not valid JSON: %s (line %d, column %d); send JSON with Content-Type: "
                 "application/json",
                 errmsg_json(&jerr), jerr.line, jerr.column);
        http_error(req, 400, "invalid_json", msg, NULL);
        return false;
    }
    if (!json_depth_ok(req->json, HTTP_JSON_MAX_DEPTH)) {
        char msg[128];
        snprintf(msg, sizeof msg, "The body nests deeper than %d levels", HTTP_JSON_MAX_DEPTH);
        http_error(req, 400, "invalid_json", msg, NULL);
        return false;
    }
    return true;
}

static void finish_body(http_req_t *req)
{
    if (req->over_budget) {
        server_busy(req);
        return;
    }
    if (req->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "The body is larger than the limit of %zu bytes", req->body.max);
        http_error(req, 413, "payload_too_large", msg, NULL);
        return;
    }
    if (req->route->raw_body || req->body.len == 0)
        return;
    http_parse_json_body(req);
}

void http_suspend(http_req_t *req)
{
    /* The connection is suspended already (it was, to come here); it simply stays so until
     * http_resume(). Only the handler thread's own flag may be read after this point. */
    req->state = REQ_PARKED;
    handler_parked = true;
}

void http_resume(http_req_t *req)
{
    MHD_resume_connection(req->conn);
}

static void pool_push(http_req_t *req)
{
    pthread_mutex_lock(&pool.mu);
    req->next_work = NULL;
    if (pool.tail)
        pool.tail->next_work = req;
    else
        pool.head = req;
    pool.tail = req;
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
}

static http_req_t *pool_pop(void)
{
    pthread_mutex_lock(&pool.mu);
    while (!pool.head && !pool.stop)
        pthread_cond_wait(&pool.cv, &pool.mu);
    http_req_t *req = pool.head;
    if (req) {
        pool.head = req->next_work;
        if (!pool.head)
            pool.tail = NULL;
    }
    pthread_mutex_unlock(&pool.mu);
    return req;
}

/* Handler thread, before the body is read: the project key's database lookup and the route's
 * precheck. Answers the request when either refuses it. */
static void run_precheck(http_req_t *req)
{
    if (req->route->auth == AUTH_PROJECT && !req->auth_done) {
        if (authn.lookup(req))
            return;
        req->auth_done = true;
    }
    if (req->route->precheck)
        req->route->precheck(req);
}

static void *handler_main(void *arg)
{
    (void)arg;
    http_req_t *req;
    while ((req = pool_pop()) != NULL) {
        handler_parked = false;
        if (req->state == REQ_PRECHECK) {
            run_precheck(req);
            req->state = REQ_PRECHECKED;
            MHD_resume_connection(req->conn);
            continue;
        }
        /* A body-less request's key lookup runs here rather than on the event thread (it
         * needs the database); requests with a body were looked up before it was read. */
        if (req->route->auth != AUTH_PROJECT || req->resumed || req->auth_done || !authn.lookup(req))
            req->route->handler(req);
        if (handler_parked)
            continue; /* whoever resumes it owns it now */
        if (req->status == 0)
            http_error(req, 500, "internal_error", "The handler did not answer", NULL);
        req->state = REQ_ANSWERED;
        MHD_resume_connection(req->conn);
    }
    return NULL;
}

/* Event thread: suspends the connection and queues the request for a handler thread (its
 * handler, or with state REQ_PRECHECK its precheck). */
static enum MHD_Result dispatch(http_req_t *req, int state)
{
    pthread_mutex_lock(&suspend_mu);
    /* A parked request coming back keeps its count (it was never "not suspended" to us), so
     * the count cannot touch zero between its resume and its next suspension. */
    bool refused = suspend_closed && !req->suspend_counted;
    if (!refused && !req->suspend_counted) {
        req->suspend_counted = true;
        atomic_fetch_add(&suspended_requests, 1);
    }
    pthread_mutex_unlock(&suspend_mu);
    if (refused) {
        http_add_header(req, "Retry-After", "1");
        http_error(req, 503, "shutting_down", "The server is shutting down; nothing was done, retry shortly",
                   NULL);
        return queue_response(req);
    }
    req->state = state;
    track_phase(req->conn, CONN_BUSY);
    MHD_suspend_connection(req->conn);
    pool_push(req);
    return MHD_YES;
}

/* Event thread: the request is back from a handler thread; it is no longer suspended. */
static void resumed(http_req_t *req)
{
    if (req->suspend_counted) {
        req->suspend_counted = false;
        atomic_fetch_sub(&suspended_requests, 1);
    }
}

/* After the headers of a request with a body: a body is only read for a request that may
 * succeed. Unknown keys and hook tokens are refused first (on a handler thread when the
 * database must be asked), so that an unauthenticated client never has its body buffered. */
static enum MHD_Result before_body(http_req_t *req)
{
    bool precheck = req->route->precheck || (req->route->auth == AUTH_PROJECT && !req->auth_done);
    if (precheck)
        return dispatch(req, REQ_PRECHECK);
    if (begin_body(req))
        return queue_response(req);
    return MHD_YES;
}

/* The access handler, on MHD's event threads. A request goes READING (headers, then body) →
 * HANDLING (suspended, queued for or running in a handler thread) → ANSWERED (resumed; the
 * response is queued here) — or, when the handler parks it, PARKED (still suspended) until
 * http_resume() brings it back here to be handled again. A request with a body may first go
 * PRECHECK → PRECHECKED (suspended before its body, while its key or hook token is looked up);
 * MHD calls us again, still without body, once it is resumed. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_req_t *req = *con_cls;
    if (!req) {
        req = req_new(conn, url, method);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        if (check_headers(req))
            return queue_response(req);
        if (req->has_body)
            return before_body(req);
        track_phase(conn, CONN_BUSY);
        return MHD_YES;
    }
    if (req->state == REQ_PRECHECKED) {
        /* MHD calls again, without body, once resumed: answer now or start reading the body
         * (which is still to come, so this call is not the last one). */
        resumed(req);
        req->state = REQ_READING;
        if (req->status != 0 || begin_body(req)) {
            if (*upload_data_size)
                return MHD_NO; /* not expected: MHD calls again before any body; close */
            return queue_response(req);
        }
        if (*upload_data_size == 0)
            return MHD_YES;
    }
    if (*upload_data_size) {
        take_body_chunk(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (req->state) {
    case REQ_READING:
        track_phase(conn, CONN_BUSY);
        if (req->status == 0)
            finish_body(req);
        if (req->status != 0)
            return queue_response(req);
        if (req->route->inline_handler) {
            req->route->handler(req);
            return queue_response(req);
        }
        return dispatch(req, REQ_HANDLING);
    case REQ_PARKED:
        req->resumed = true; /* still counted as suspended: see dispatch() */
        return dispatch(req, REQ_HANDLING);
    case REQ_ANSWERED: resumed(req); return queue_response(req);
    default: return MHD_YES; /* not reached: a handled request is suspended */
    }
}

static int pool_start(int n, char *err, size_t err_len)
{
    pool.stop = false;
    pool.threads = calloc((size_t)n, sizeof *pool.threads);
    if (!pool.threads)
        return errmsg_fail(err, err_len, "out of memory");
    for (pool.n = 0; pool.n < n; pool.n++) {
        if (pthread_create(&pool.threads[pool.n], NULL, handler_main, NULL) != 0)
            return errmsg_fail(err, err_len, "cannot start HTTP handler thread %d", pool.n);
    }
    return 0;
}

/* Lets the handler threads finish what is queued, then joins them (per-thread resources are
 * freed by their key destructors as they exit). */
static void pool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.stop = true;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.n; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.n = 0;
}

/* MHD's own messages (malformed requests, resource errors) go through our log, so they are
 * escaped and in the configured format like every other line (raw, they broke JSON logs). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    /* At most SERVER_MHD_LOG_PER_S lines a second: an attack (thousands of refused
     * connections) must not flood the log. */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int64_t window;
    static int used, dropped;
    int64_t now_s = time_mono_ms() / 1000;
    int report = 0;
    pthread_mutex_lock(&mu);
    if (now_s != window) {
        report = dropped;
        window = now_s;
        used = dropped = 0;
    }
    bool drop = ++used > SERVER_MHD_LOG_PER_S;
    dropped += drop;
    pthread_mutex_unlock(&mu);
    if (report) {
        char n[16];
        snprintf(n, sizeof n, "%d", report);
        log_event(LOG_WARN, "libmicrohttpd", "suppressed", n, NULL);
    }
    if (drop)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_event(LOG_WARN, "libmicrohttpd", "message", msg, NULL);
}

/* Each connection is a descriptor: lift the soft limit to the hard one so the connection limit,
 * not the descriptor table, is what runs out first. */
static void raise_fd_limit(int connection_limit)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise the open-file limit: connections may fail before CRAFTKIT_CONNECTION_LIMIT");
    else if (rl.rlim_cur < (rlim_t)connection_limit + 256)
        log_warn("open-file limit %llu is low for CRAFTKIT_CONNECTION_LIMIT=%d",
                 (unsigned long long)rl.rlim_cur, connection_limit);
}

/* MHD's fatal errors abort the process (it cannot go on); say why in our log first, so a crash
 * report shows the reason rather than a bare exit status 134. */
static void on_mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    (void)cls;
    log_error("HTTP: libmicrohttpd fatal error at %s:%u: %s", file ? file : "?", line,
              reason ? reason : "(no reason given)");
    abort();
}

int server_start(const config_t *cfg, char *err, size_t err_len)
{
    max_body = cfg->max_body;
    if (!authn.check_headers || !authn.lookup)
        return errmsg_fail(err, err_len, "internal error: no authenticator installed (server_set_auth)");
    body_budget = cfg->body_buffer_max;
    track.header_ms = cfg->header_timeout_ms;
    track.body_ms = cfg->body_timeout_ms;
    track.stop = false;
    suspend_closed = false;
    MHD_set_panic_func(on_mhd_panic, NULL);
    raise_fd_limit(cfg->connection_limit);
    mallopt(M_MMAP_THRESHOLD, SERVER_MMAP_THRESHOLD);
    if (pool_start(cfg->http_threads, err, err_len) != 0)
        goto fail;
    if (pthread_create(&track.reaper, NULL, reaper_main, NULL) != 0) {
        errmsg_fail(err, err_len, "cannot start the HTTP connection reaper thread");
        goto fail;
    }
    track.reaper_running = true;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->listen_port)};
    if (inet_pton(AF_INET, cfg->listen_host, &addr.sin_addr) != 1) {
        errmsg_fail(err, err_len, "CRAFTKIT_LISTEN: \"%s\" is not an IPv4 address", cfg->listen_host);
        goto fail;
    }
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    daemon_handle = MHD_start_daemon(
        flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, NULL,
        /* first, so that MHD prints nothing itself */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_io_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_CONNECTION_MEMORY,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->connections_per_ip, MHD_OPTION_END);
    if (!daemon_handle) {
        errmsg_fail(err, err_len, "cannot listen on %s:%d (in use, or not permitted)", cfg->listen_host,
                    cfg->listen_port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
    bound_port = info ? info->port : cfg->listen_port;
    return 0;
fail:
    reaper_stop();
    pool_stop(); /* the handler threads started so far */
    return -1;
}

void server_stop(int grace_ms)
{
    if (!daemon_handle)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(daemon_handle);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    for (int i = 0; i < n_shutdown_hooks; i++)
        shutdown_hooks[i]();
    for (int waited = 0; waited < grace_ms && atomic_load(&active_requests) > 0; waited += 10)
        time_sleep_ms(10);
    pthread_mutex_lock(&suspend_mu);
    suspend_closed = true; /* from here on, requests that would be suspended are answered 503 */
    pthread_mutex_unlock(&suspend_mu);
    /* MHD aborts when stopped with suspended connections: handlers are bounded by their own
     * timeouts, so give those still running a while longer. */
    for (int waited = 0; waited < SERVER_HANDLER_DRAIN_MAX_MS && atomic_load(&suspended_requests) > 0;
         waited += 10)
        time_sleep_ms(10);
    pool_stop();
    if (atomic_load(&suspended_requests) > 0) {
        log_error("HTTP: %d request(s) still suspended at exit; leaving the daemon running",
                  atomic_load(&suspended_requests));
        daemon_handle = NULL;
        reaper_stop();
        return;
    }
    MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
    reaper_stop(); /* after the daemon: its last CLOSED notices have emptied the list */
}
