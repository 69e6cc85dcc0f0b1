#include "worker/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "worker/overlay.h"

extern char **environ;

#define HELPER_FD 3
#define MSG_MAX (ENGINE_OUTPUT_MAX_BYTES + (1u << 20)) /* largest frame either way */
#define ENGINE_OUTPUT_MAX_BYTES (512u << 20)           /* engine_int.h ENGINE_OUTPUT_MAX */
#define AS_SLACK_BYTES (256L << 20) /* address space for threads and arenas beyond the budget */
#define FREE_WAIT_MS 5000           /* a helper's clean exit (leak check in sanitizer builds) */
#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer keeps freed memory in a quarantine (256 MB by default) and pads every
 * allocation: a sanitizer build's helper is measured against a looser bound. */
#define RSS_FACTOR 2
#define RSS_EXTRA_BYTES (256L << 20)
#else
#define RSS_FACTOR 1
#define RSS_EXTRA_BYTES 0L
#endif
#define TRIM_ABOVE_BYTES (32L << 20) /* heap growth after which a helper returns memory */

/* Fixed-size parts of the frames; both ends are the same binary, so native layout is fine. */
typedef struct {
    int32_t format, page, compression, has_watermark;
    double dpi;
    int64_t creation_time, deadline_ms;
    uint64_t image_budget;
    int32_t pdfa, facturx_profile, nattachments;
    int32_t has_assets, nassets; /* engine_render_opts_t.assets (non-NULL even when empty) */
} wire_opts_t;

#define ATTACHMENT_FIELDS 5 /* relationship, name, media type, description ("" = none), bytes */
#define ASSET_FIELDS 6      /* name, id, kind, sha256, path, family (the files stay on disk) */
#define WIRE_ASSETS_MAX 100000

typedef struct {
    int32_t rc; /* 0 ok, -1 failed, 1 the template is not cached: send it */
    int32_t pages;
} wire_status_t;

typedef struct {
    int64_t rss_bytes; /* resident size after start-up */
} wire_hello_t;

struct sandbox {
    struct sandbox *next; /* registry */
    pthread_mutex_t mu;   /* guards pid against a kill from another thread */
    pid_t pid;            /* 0: no helper running */
    int fd;               /* parent's end of the socketpair; -1 with no helper */
    long idle_rss;        /* the helper's resident bytes after start-up */
    atomic_long rss;      /* last observed while rendering; 0 idle */
    atomic_bool stop;     /* sandbox_kill: renders answer SANDBOX_STOPPED */
    int killed_why;       /* what the parent killed it for (KILL_*) */
};

enum { KILL_NONE = 0, KILL_TIME, KILL_MEMORY, KILL_TOTAL, KILL_STOP };

static struct {
    int memory_mb, total_mb;
    int image_timeout_ms;
    size_t image_max_bytes;
    bool allow_private_urls;
    size_t font_cache_bytes;
} limits = {512, 2048, 10000, 5u << 20, false, 0};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static sandbox_t *registry;
static atomic_bool all_stopped;

void sandbox_configure(const config_t *cfg)
{
    limits.memory_mb = cfg->render_memory_mb;
    limits.total_mb = cfg->render_memory_total_mb;
    limits.image_timeout_ms = cfg->image_timeout_ms;
    limits.image_max_bytes = cfg->image_max_bytes;
    limits.allow_private_urls = cfg->allow_private_urls;
    limits.font_cache_bytes = cfg->font_cache_bytes;
    atomic_store(&all_stopped, false);
}

/* ---- framing: u32 payload length, then fields of u32 length + bytes ---- */

typedef struct {
    const void *p;
    size_t n;
} field_t;

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

#define MAX_FIELDS 8

static int send_msg(int fd, const field_t *f, int nf)
{
    uint32_t lens[MAX_FIELDS], total = 0;
    struct iovec iov[1 + 2 * MAX_FIELDS];
    int n = 1;
    for (int i = 0; i < nf; i++) {
        lens[i] = (uint32_t)f[i].n;
        total += 4 + lens[i];
    }
    iov[0] = (struct iovec){&total, 4};
    for (int i = 0; i < nf; i++) {
        iov[n++] = (struct iovec){&lens[i], 4};
        if (f[i].n)
            iov[n++] = (struct iovec){(void *)f[i].p, f[i].n};
    }
    return write_all(fd, iov, n);
}

/* Splits a received payload into exactly nf fields (pointing into it); -1 when malformed. */
static int split_msg(const unsigned char *p, size_t len, field_t *f, int nf)
{
    size_t at = 0;
    for (int i = 0; i < nf; i++) {
        uint32_t n;
        if (len - at < 4)
            return -1;
        memcpy(&n, p + at, 4);
        at += 4;
        if (len - at < n)
            return -1;
        f[i] = (field_t){p + at, n};
        at += n;
    }
    return at == len ? 0 : -1;
}

/* Blocking read of exactly n bytes; 0, or -1 at EOF or on an error. */
static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* ---- the parent side ---- */

static long page_size(void)
{
    static long ps;
    if (!ps)
        ps = sysconf(_SC_PAGESIZE);
    return ps;
}

/* A field of /proc/PID/statm in bytes (0 size, 1 resident), or -1. Plain read(): this runs after
 * every render in the helper and every SANDBOX_WATCH_MS in the parent. */
static long statm_of(pid_t pid, int field)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    long v[2];
    if (sscanf(buf, "%ld %ld", &v[0], &v[1]) != 2)
        return -1;
    return v[field] * page_size();
}

/* Resident bytes of a process, or -1. */
static long rss_of(pid_t pid)
{
    return statm_of(pid, 1);
}

/* Kills the helper (once) for why; under sb->mu. */
static void kill_locked(sandbox_t *sb, int why)
{
    if (sb->pid > 0 && sb->killed_why == KILL_NONE) {
        sb->killed_why = why;
        kill(sb->pid, SIGKILL);
    }
}

/* Reaps the helper after it was killed or closed its end; the sandbox is then empty. */
static void reap(sandbox_t *sb)
{
    pthread_mutex_lock(&sb->mu);
    pid_t pid = sb->pid;
    if (pid > 0)
        kill(pid, SIGKILL);
    pthread_mutex_unlock(&sb->mu);
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    pthread_mutex_lock(&sb->mu);
    sb->pid = 0;
    pthread_mutex_unlock(&sb->mu);
    if (sb->fd >= 0)
        close(sb->fd);
    sb->fd = -1;
    atomic_store(&sb->rss, 0);
}

/* Reads one frame from the helper, watching the clock and memory. The payload is malloc'd.
 * 0, or -1 when the helper died, was killed (sb->killed_why says why) or broke the protocol. */
static int recv_msg(sandbox_t *sb, int64_t hard_deadline, bool watch, unsigned char **payload, size_t *len)
{
    unsigned char hdr[4];
    size_t got = 0, want = 4;
    unsigned char *buf = NULL;
    int64_t next_watch = time_mono_ms() + SANDBOX_WATCH_MS;
    *payload = NULL;
    for (;;) {
        int64_t now = time_mono_ms();
        if (now >= hard_deadline) {
            pthread_mutex_lock(&sb->mu);
            kill_locked(sb, KILL_TIME);
            pthread_mutex_unlock(&sb->mu);
            goto fail;
        }
        int wait = (int)(hard_deadline - now);
        if (watch && wait > SANDBOX_WATCH_MS)
            wait = SANDBOX_WATCH_MS;
        struct pollfd p = {.fd = sb->fd, .events = POLLIN};
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno != EINTR)
            goto fail;
        if (pr > 0) {
            ssize_t r = read(sb->fd, buf ? buf + got : hdr + got, want - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto fail;
            got += (size_t)r;
            if (got == want && !buf) {
                uint32_t n;
                memcpy(&n, hdr, 4);
                if (n > MSG_MAX || !(buf = malloc(n ? n : 1)))
                    goto fail;
                got = 0;
                want = n;
            }
            if (buf && got == want) {
                *payload = buf;
                *len = want;
                return 0;
            }
        }
        if (watch && time_mono_ms() >= next_watch) {
            next_watch = time_mono_ms() + SANDBOX_WATCH_MS;
            long rss = rss_of(sb->pid);
            if (rss > 0) {
                atomic_store(&sb->rss, rss);
                long over_own =
                    rss - sb->idle_rss - (long)limits.memory_mb * (1L << 20) * RSS_FACTOR - RSS_EXTRA_BYTES;
                long total = 0, busy = 0;
                pthread_mutex_lock(&registry_mu);
                for (sandbox_t *o = registry; o; o = o->next) {
                    long r = atomic_load(&o->rss);
                    total += r;
                    busy += r > 0;
                }
                pthread_mutex_unlock(&registry_mu);
                /* Over the process-wide budget: the helpers at or above the average give way. */
                bool over_total =
                    total > (long)limits.total_mb * (1L << 20) && busy > 0 && rss * busy >= total;
                if (over_own > 0 || over_total) {
                    pthread_mutex_lock(&sb->mu);
                    kill_locked(sb, over_own > 0 ? KILL_MEMORY : KILL_TOTAL);
                    pthread_mutex_unlock(&sb->mu);
                    goto fail;
                }
            }
        }
    }
fail:
    free(buf);
    return -1;
}

static int spawn(sandbox_t *sb, char *err, size_t err_len)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return errmsg_fail(err, err_len, "socketpair: %s", strerror(errno));
    /* The child's end goes to fd 3; keep it off 3 here so that dup2 clears its CLOEXEC. */
    int child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    close(sv[1]);
    if (child < 0) {
        close(sv[0]);
        return errmsg_fail(err, err_len, "fcntl: %s", strerror(errno));
    }
    char a_mem[24], a_timeout[24], a_max[24], a_private[4], a_parent[24], a_fonts[24];
    snprintf(a_mem, sizeof a_mem, "%d", limits.memory_mb);
    snprintf(a_timeout, sizeof a_timeout, "%d", limits.image_timeout_ms);
    snprintf(a_max, sizeof a_max, "%zu", limits.image_max_bytes);
    snprintf(a_private, sizeof a_private, "%d", limits.allow_private_urls ? 1 : 0);
    snprintf(a_parent, sizeof a_parent, "%d", (int)getpid());
    snprintf(a_fonts, sizeof a_fonts, "%zu", limits.font_cache_bytes);
    char *argv[] = {"craftkit", "render-helper", a_mem, a_timeout, a_max, a_private, a_parent, a_fonts, NULL};

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, child, HELPER_FD);
    posix_spawnattr_init(&at);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&at, &none); /* the server blocks SIGTERM in every thread */
    posix_spawnattr_setsigdefault(&at, &defaults);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(child);
    if (rc != 0) {
        close(sv[0]);
        return errmsg_fail(err, err_len, "cannot start a render helper: %s", strerror(rc));
    }
    pthread_mutex_lock(&sb->mu);
    sb->pid = pid;
    sb->killed_why = KILL_NONE;
    pthread_mutex_unlock(&sb->mu);
    sb->fd = sv[0];
    unsigned char *payload;
    size_t len;
    field_t f[1];
    wire_hello_t hello;
    if (recv_msg(sb, time_mono_ms() + SANDBOX_START_TIMEOUT_MS, false, &payload, &len) != 0) {
        reap(sb);
        return errmsg_fail(err, err_len, "a render helper did not start");
    }
    bool ok = split_msg(payload, len, f, 1) == 0 && f[0].n == sizeof hello;
    if (ok)
        memcpy(&hello, f[0].p, sizeof hello);
    free(payload);
    if (!ok) {
        reap(sb);
        return errmsg_fail(err, err_len, "a render helper answered nonsense at start");
    }
    sb->idle_rss = (long)hello.rss_bytes;
    return 0;
}

sandbox_t *sandbox_new(void)
{
    sandbox_t *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    pthread_mutex_init(&sb->mu, NULL);
    sb->fd = -1;
    char err[ERRMSG_LEN];
    if (spawn(sb, err, sizeof err) != 0)
        log_warn("%s (another try before the next render)", err);
    pthread_mutex_lock(&registry_mu);
    sb->next = registry;
    registry = sb;
    pthread_mutex_unlock(&registry_mu);
    return sb;
}

void sandbox_free(sandbox_t *sb)
{
    if (!sb)
        return;
    pthread_mutex_lock(&registry_mu);
    for (sandbox_t **p = &registry; *p; p = &(*p)->next)
        if (*p == sb) {
            *p = sb->next;
            break;
        }
    pthread_mutex_unlock(&registry_mu);
    if (sb->pid > 0) {
        /* EOF on its socket ends the helper cleanly (so sanitizer builds check it for leaks). */
        shutdown(sb->fd, SHUT_RDWR);
        for (int waited = 0; waited < FREE_WAIT_MS; waited += 10) {
            pid_t r = waitpid(sb->pid, NULL, WNOHANG);
            if (r == sb->pid || (r < 0 && errno != EINTR)) {
                pthread_mutex_lock(&sb->mu);
                sb->pid = 0;
                pthread_mutex_unlock(&sb->mu);
                break;
            }
            time_sleep_ms(10);
        }
    }
    reap(sb);
    pthread_mutex_destroy(&sb->mu);
    free(sb);
}

int sandbox_pid(sandbox_t *sb)
{
    pthread_mutex_lock(&sb->mu);
    int pid = (int)sb->pid;
    pthread_mutex_unlock(&sb->mu);
    return pid;
}

void sandbox_kill(sandbox_t *sb)
{
    atomic_store(&sb->stop, true);
    pthread_mutex_lock(&sb->mu);
    kill_locked(sb, KILL_STOP);
    pthread_mutex_unlock(&sb->mu);
}

void sandbox_kill_all(void)
{
    atomic_store(&all_stopped, true);
    pthread_mutex_lock(&registry_mu);
    for (sandbox_t *sb = registry; sb; sb = sb->next)
        sandbox_kill(sb);
    pthread_mutex_unlock(&registry_mu);
}

static bool stopped(sandbox_t *sb)
{
    return atomic_load(&all_stopped) || atomic_load(&sb->stop);
}

/* The message for a helper that is gone in the middle of a render. */
static sandbox_status_t lost(sandbox_t *sb, int limit_ms, char *err, size_t err_len)
{
    pthread_mutex_lock(&sb->mu);
    int why = sb->killed_why;
    pid_t pid = sb->pid;
    pthread_mutex_unlock(&sb->mu);
    int status = 0;
    if (pid > 0 && why == KILL_NONE) {
        /* It died by itself: say how. */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&sb->mu);
        sb->pid = 0;
        pthread_mutex_unlock(&sb->mu);
    }
    reap(sb);
    if (why == KILL_STOP || stopped(sb)) {
        errmsg_fail(err, err_len, "the render was stopped because the server is shutting down");
        return SANDBOX_STOPPED;
    }
    /* The next render finds a helper waiting (a failed start is tried again then). */
    char serr[ERRMSG_LEN];
    if (spawn(sb, serr, sizeof serr) != 0)
        log_warn("%s (another try before the next render)", serr);
    if (why == KILL_TIME)
        errmsg_fail(err, err_len, "rendering took longer than the time allowed (%d ms) and was stopped",
                    limit_ms);
    else if (why == KILL_MEMORY)
        errmsg_fail(
            err, err_len,
            "the render needed more memory than allowed (%d MB per render, CRAFTKIT_RENDER_MEMORY_MB) "
            "and was stopped",
            limits.memory_mb);
    else if (why == KILL_TOTAL)
        errmsg_fail(err, err_len,
                    "the server's memory budget for renders (%d MB, CRAFTKIT_RENDER_MEMORY_TOTAL_MB) ran out "
                    "while this render ran; it was stopped",
                    limits.total_mb);
    else if (WIFSIGNALED(status))
        errmsg_fail(
            err, err_len,
            "the render stopped unexpectedly (signal %d); it may have needed more memory than allowed "
            "(%d MB per render)",
            WTERMSIG(status), limits.memory_mb);
    else
        errmsg_fail(err, err_len,
                    "the render stopped unexpectedly; it may have needed more memory than allowed (%d MB per "
                    "render)",
                    limits.memory_mb);
    return SANDBOX_FAILED;
}

/* The attachments as one field: ATTACHMENT_FIELDS framed fields each. NULL when out of memory. */
static unsigned char *pack_attachments(const engine_render_opts_t *opts, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < opts->nattachments; i++) {
        const engine_attachment_t *a = &opts->attachments[i];
        n += 4 * ATTACHMENT_FIELDS + 4 + strlen(a->name) + strlen(a->media_type) +
             (a->description ? strlen(a->description) : 0) + a->len;
    }
    unsigned char *buf = malloc(n ? n : 1), *p = buf;
    if (!buf)
        return NULL;
    for (size_t i = 0; i < opts->nattachments; i++) {
        const engine_attachment_t *a = &opts->attachments[i];
        int32_t rel = a->relationship;
        const char *desc = a->description ? a->description : "";
        field_t f[ATTACHMENT_FIELDS] = {{&rel, 4},
                                        {a->name, strlen(a->name)},
                                        {a->media_type, strlen(a->media_type)},
                                        {desc, strlen(desc)},
                                        {a->data, a->len}};
        for (int k = 0; k < ATTACHMENT_FIELDS; k++) {
            uint32_t fl = (uint32_t)f[k].n;
            memcpy(p, &fl, 4);
            if (f[k].n)
                memcpy(p + 4, f[k].p, f[k].n);
            p += 4 + f[k].n;
        }
    }
    *len = n;
    return buf;
}

/* The brand assets as one field: ASSET_FIELDS framed strings each. NULL when out of memory. */
static unsigned char *pack_assets(const engine_render_opts_t *opts, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < opts->nassets; i++) {
        const engine_asset_t *a = &opts->assets[i];
        n += 4 * ASSET_FIELDS + strlen(a->name) + strlen(a->id) + strlen(a->kind) + strlen(a->sha256) +
             strlen(a->path) + (a->family ? strlen(a->family) : 0);
    }
    unsigned char *buf = malloc(n ? n : 1), *p = buf;
    if (!buf)
        return NULL;
    for (size_t i = 0; i < opts->nassets; i++) {
        const engine_asset_t *a = &opts->assets[i];
        const char *v[ASSET_FIELDS] = {a->name,   a->id,   a->kind,
                                       a->sha256, a->path, a->family ? a->family : ""};
        for (int k = 0; k < ASSET_FIELDS; k++) {
            uint32_t fl = (uint32_t)strlen(v[k]);
            memcpy(p, &fl, 4);
            memcpy(p + 4, v[k], fl);
            p += 4 + fl;
        }
    }
    *len = n;
    return buf;
}

static char *template_text(const sandbox_template_t *tpl)
{
    json_t *o = json_object();
    if (tpl->layout)
        json_object_set(o, "layout", (json_t *)tpl->layout);
    if (tpl->page_config)
        json_object_set(o, "pageConfig", (json_t *)tpl->page_config);
    if (tpl->manifest)
        json_object_set(o, "manifest", (json_t *)tpl->manifest);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Long because it is one exchange with the helper: pack the request, send it, read the answer
 * under the deadline and memory watch, and resend once with the whole template when the helper
 * does not have the version cached; the buffers it packs live across both rounds. */
sandbox_status_t sandbox_render_text(sandbox_t *sb, const sandbox_template_t *tpl, const char *data,
                                     size_t data_len, const engine_render_opts_t *opts, int limit_ms,
                                     engine_output_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (stopped(sb)) {
        errmsg_fail(err, err_len, "the render was stopped because the server is shutting down");
        return SANDBOX_STOPPED;
    }
    /* A helper started for this render (the last one was killed or died) starts the clock late:
     * its start-up is ours, not the render's, and on a busy machine it can take seconds. */
    int64_t deadline_ms = opts->deadline_ms;
    if (sb->pid <= 0) {
        int64_t spawn_started = time_mono_ms();
        if (spawn(sb, err, err_len) != 0)
            return SANDBOX_FAILED;
        deadline_ms += time_mono_ms() - spawn_started;
    }
    wire_opts_t wo = {.format = opts->format,
                      .page = opts->page,
                      .compression = opts->compression,
                      .has_watermark = opts->watermark != NULL,
                      .dpi = opts->dpi,
                      .creation_time = opts->creation_time,
                      .deadline_ms = deadline_ms,
                      .image_budget = (uint64_t)limits.memory_mb << 20,
                      .pdfa = opts->pdfa,
                      .facturx_profile = opts->facturx.profile,
                      .nattachments = (int32_t)opts->nattachments,
                      .has_assets = opts->assets != NULL,
                      .nassets = (int32_t)opts->nassets};
    const char *vid = tpl->version_id ? tpl->version_id : "";
    const char *fx = opts->facturx.profile != ENGINE_FX_NONE && opts->facturx.xml ? opts->facturx.xml : "";
    size_t fx_len = fx[0] ? opts->facturx.len : 0, att_len = 0;
    unsigned char *att = pack_attachments(opts, &att_len);
    size_t assets_len = 0;
    unsigned char *assets = pack_assets(opts, &assets_len);
    const char *wm = opts->watermark ? opts->watermark : "";
    char *tpl_text = vid[0] ? NULL : template_text(tpl);
    sandbox_status_t result = SANDBOX_FAILED;
    if (!att || !assets || (!vid[0] && !tpl_text)) {
        errmsg_fail(err, err_len, "out of memory");
        goto done;
    }
    for (int round = 0; round < 2; round++) {
        field_t req[8] = {{&wo, sizeof wo}, {vid, strlen(vid)},
                          {wm, strlen(wm)}, {tpl_text, tpl_text ? strlen(tpl_text) : 0},
                          {data, data_len}, {fx, fx_len},
                          {att, att_len},   {assets, assets_len}};
        unsigned char *payload = NULL;
        size_t len;
        atomic_store(&sb->rss, sb->idle_rss); /* busy from now on */
        if (send_msg(sb->fd, req, 8) != 0 ||
            recv_msg(sb, deadline_ms + SANDBOX_DEADLINE_SLACK_MS, true, &payload, &len) != 0) {
            result = lost(sb, limit_ms, err, err_len);
            goto done;
        }
        atomic_store(&sb->rss, 0);
        field_t f[3];
        wire_status_t st;
        if (split_msg(payload, len, f, 3) != 0 || f[0].n != sizeof st) {
            free(payload);
            reap(sb);
            errmsg_fail(err, err_len, "internal error: the render helper broke the protocol");
            goto done;
        }
        memcpy(&st, f[0].p, sizeof st);
        if (st.rc == 1 && round == 0 && !tpl_text) {
            free(payload);
            if (!(tpl_text = template_text(tpl))) {
                errmsg_fail(err, err_len, "out of memory");
                goto done;
            }
            continue;
        }
        if (st.rc != 0) {
            errmsg_fail(err, err_len, "%.*s", (int)f[1].n, (const char *)f[1].p);
            free(payload);
            goto done;
        }
        /* The output is the tail of the payload: move it to the front instead of copying. */
        memmove(payload, f[2].p, f[2].n);
        out->data = payload;
        out->len = f[2].n;
        out->pages = st.pages;
        result = SANDBOX_OK;
        break;
    }
done:
    atomic_store(&sb->rss, 0);
    free(att);
    free(assets);
    free(tpl_text);
    return result;
}

sandbox_status_t sandbox_render(sandbox_t *sb, const sandbox_template_t *tpl, const json_t *data,
                                const engine_render_opts_t *opts, int limit_ms, engine_output_t *out,
                                char *err, size_t err_len)
{
    char *text = json_dumps(data, JSON_COMPACT);
    if (!text) {
        memset(out, 0, sizeof *out);
        errmsg_fail(err, err_len, "out of memory");
        return SANDBOX_FAILED;
    }
    sandbox_status_t st = sandbox_render_text(sb, tpl, text, strlen(text), opts, limit_ms, out, err, err_len);
    free(text);
    return st;
}

/* ---- the helper ---- */

/* A field of this process's /proc/self/statm in bytes (0 size, 1 resident). */
static long self_statm(int field)
{
    return statm_of(getpid(), field);
}

typedef struct {
    char version_id[40];
    engine_template_t *t;
    overlay_t *ov; /* a pdf-overlay template's base and form filling, or NULL */
    unsigned long used;
} cached_t;

typedef struct {
    engine_ctx_t *ctx;
    long idle_rss;
    cached_t cache[SANDBOX_HELPER_CACHE];
    unsigned long clock;
} helper_t;

static engine_template_t *compile_text(const char *text, size_t len, overlay_t **ov, char *err,
                                       size_t err_len)
{
    *ov = NULL;
    json_error_t je;
    json_t *o = json_loadb(text, len, 0, &je);
    if (!o) {
        errmsg_fail(err, err_len, "internal error: template source: %s", je.text);
        return NULL;
    }
    json_t *issues = NULL, *layout = json_object_get(o, "layout");
    engine_template_t *t = NULL;
    /* The server compiled (and checked) this layout before sending it; its uploaded fonts come
     * with the render. */
    static const engine_compile_opts_t checked = {.skip_font_check = true};
    if (overlay_is(layout))
        *ov = overlay_compile(layout, json_object_get(o, "manifest"), &checked, &t, &issues, err, err_len);
    else
        t = engine_compile_ex(layout, json_object_get(o, "pageConfig"), json_object_get(o, "manifest"),
                              &checked, &issues, err, err_len);
    json_decref(issues);
    json_decref(o);
    return t;
}

/* The cached template of version_id (and its overlay in *ov), or NULL. */
static engine_template_t *cache_find(helper_t *h, const char *vid, size_t vlen, overlay_t **ov)
{
    *ov = NULL;
    for (int i = 0; i < SANDBOX_HELPER_CACHE; i++)
        if (h->cache[i].t && strlen(h->cache[i].version_id) == vlen &&
            !memcmp(h->cache[i].version_id, vid, vlen)) {
            h->cache[i].used = ++h->clock;
            *ov = h->cache[i].ov;
            return h->cache[i].t;
        }
    return NULL;
}

static void cache_put(helper_t *h, const char *vid, size_t vlen, engine_template_t *t, overlay_t *ov)
{
    int slot = 0;
    for (int i = 0; i < SANDBOX_HELPER_CACHE; i++) {
        if (!h->cache[i].t) {
            slot = i;
            break;
        }
        if (h->cache[i].used < h->cache[slot].used)
            slot = i;
    }
    engine_template_free(h->cache[slot].t);
    overlay_free(h->cache[slot].ov);
    snprintf(h->cache[slot].version_id, sizeof h->cache[slot].version_id, "%.*s", (int)vlen, vid);
    h->cache[slot].t = t;
    h->cache[slot].ov = ov;
    h->cache[slot].used = ++h->clock;
}

static int answer(int rc, int pages, const char *err, const engine_output_t *out)
{
    wire_status_t st = {.rc = rc, .pages = pages};
    field_t f[3] = {
        {&st, sizeof st}, {err, err ? strlen(err) : 0}, {out ? out->data : NULL, out ? out->len : 0}};
    return send_msg(HELPER_FD, f, 3);
}

/* Unpacks n attachments (pack_attachments) into a[]; their strings are malloc'd (free_attachments),
 * their bytes point into the field. -1 when malformed. */
static int unpack_attachments(const field_t *blob, int n, engine_attachment_t *a)
{
    field_t f[ENGINE_ATTACHMENTS_MAX * ATTACHMENT_FIELDS];
    if (n < 0 || n > ENGINE_ATTACHMENTS_MAX || split_msg(blob->p, blob->n, f, n * ATTACHMENT_FIELDS) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const field_t *g = &f[i * ATTACHMENT_FIELDS];
        int32_t rel;
        if (g[0].n != 4)
            return -1;
        memcpy(&rel, g[0].p, 4);
        a[i] = (engine_attachment_t){.name = strndup(g[1].p, g[1].n),
                                     .media_type = strndup(g[2].p, g[2].n),
                                     .description = g[3].n ? strndup(g[3].p, g[3].n) : NULL,
                                     .data = g[4].p,
                                     .len = g[4].n,
                                     .relationship = (engine_af_t)rel};
    }
    return 0;
}

static void free_attachments(engine_attachment_t *a, int n)
{
    for (int i = 0; i < n; i++) {
        free((char *)a[i].name);
        free((char *)a[i].media_type);
        free((char *)a[i].description);
    }
}

/* Unpacks n assets (pack_assets) into a freshly allocated array (free_assets). NULL when
 * malformed or out of memory; never NULL for n == 0. */
static engine_asset_t *unpack_assets(const field_t *blob, int n)
{
    if (n < 0 || n > WIRE_ASSETS_MAX)
        return NULL;
    field_t *f = malloc(((size_t)n * ASSET_FIELDS + 1) * sizeof *f);
    engine_asset_t *a = calloc((size_t)n + 1, sizeof *a);
    if (!f || !a || split_msg(blob->p, blob->n, f, n * ASSET_FIELDS) != 0) {
        free(f);
        free(a);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const field_t *g = &f[i * ASSET_FIELDS];
        a[i] = (engine_asset_t){.name = strndup(g[0].p, g[0].n),
                                .id = strndup(g[1].p, g[1].n),
                                .kind = strndup(g[2].p, g[2].n),
                                .sha256 = strndup(g[3].p, g[3].n),
                                .path = strndup(g[4].p, g[4].n),
                                .family = g[5].n ? strndup(g[5].p, g[5].n) : NULL};
    }
    free(f);
    return a;
}

static void free_assets(engine_asset_t *a, int n)
{
    for (int i = 0; a && i < n; i++) {
        free((char *)a[i].name);
        free((char *)a[i].id);
        free((char *)a[i].kind);
        free((char *)a[i].sha256);
        free((char *)a[i].path);
        free((char *)a[i].family);
    }
    free(a);
}

/* One request: 0 to go on, -1 to exit. */
static int helper_serve(helper_t *h, const unsigned char *payload, size_t len)
{
    field_t f[8];
    wire_opts_t wo;
    engine_attachment_t att[ENGINE_ATTACHMENTS_MAX];
    if (split_msg(payload, len, f, 8) != 0 || f[0].n != sizeof wo || f[1].n >= 40)
        return -1;
    memcpy(&wo, f[0].p, sizeof wo);
    char err[1024] = "";
    const char *vid = f[1].p;
    overlay_t *ov = NULL, *own_ov = NULL;
    engine_template_t *t = f[1].n ? cache_find(h, vid, f[1].n, &ov) : NULL, *own = NULL;
    if (!t && !f[3].n)
        return answer(1, 0, NULL, NULL);
    if (!t) {
        own = compile_text(f[3].p, f[3].n, &own_ov, err, sizeof err);
        if (!own)
            return answer(-1, 0, err, NULL);
        t = own;
        ov = own_ov;
        if (f[1].n) {
            cache_put(h, vid, f[1].n, own, own_ov);
            own = NULL;
            own_ov = NULL;
        }
    }
    memset(att, 0, sizeof att);
    if (unpack_attachments(&f[6], wo.nattachments, att) != 0) {
        free_attachments(att, ENGINE_ATTACHMENTS_MAX);
        engine_template_free(own);
        overlay_free(own_ov);
        return -1;
    }
    engine_asset_t *assets = unpack_assets(&f[7], wo.nassets);
    if (!assets) {
        free_attachments(att, wo.nattachments);
        engine_template_free(own);
        overlay_free(own_ov);
        return -1;
    }
    json_error_t je;
    json_t *data = json_loadb(f[4].p, f[4].n, 0, &je);
    char *wm = wo.has_watermark ? strndup(f[2].p, f[2].n) : NULL;
    engine_render_opts_t ro = {.format = (engine_format_t)wo.format,
                               .page = wo.page,
                               .dpi = wo.dpi,
                               .watermark = wm,
                               .creation_time = wo.creation_time,
                               .deadline_ms = wo.deadline_ms,
                               .compression = (engine_compression_t)wo.compression,
                               .pdfa = (engine_pdfa_t)wo.pdfa,
                               .attachments = att,
                               .nattachments = (size_t)wo.nattachments,
                               .facturx = {.profile = (engine_fx_profile_t)wo.facturx_profile,
                                           .xml = f[5].n ? (const char *)f[5].p : NULL,
                                           .len = f[5].n},
                               .image_budget_bytes = (size_t)wo.image_budget,
                               .assets = wo.has_assets ? assets : NULL,
                               .nassets = (size_t)wo.nassets};
    engine_output_t out = {0};
    int rc;
    if (!data || (wo.has_watermark && !wm)) {
        errmsg_fail(err, sizeof err, "internal error: the render data could not be read back");
        rc = answer(-1, 0, err, NULL);
    } else if ((ov ? overlay_render(h->ctx, t, ov, data, &ro, &out, err, sizeof err)
                   : engine_render(h->ctx, t, data, &ro, &out, err, sizeof err)) != 0) {
        rc = answer(-1, 0, err, NULL);
    } else {
        rc = answer(0, out.pages, NULL, &out);
    }
    engine_output_free(&out);
    engine_template_free(own);
    overlay_free(own_ov);
    json_decref(data);
    free(wm);
    free_attachments(att, wo.nattachments);
    free_assets(assets, wo.nassets);
    /* A render that grew the heap by a lot gives it back before waiting (trimming after every
     * render would cost more than a small render). */
    if (self_statm(1) > h->idle_rss + TRIM_ABOVE_BYTES)
        malloc_trim(0);
    return rc;
}

int sandbox_helper_main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "craftkit render-helper: started by craftkit serve only\n");
        return 2;
    }
    engine_ctx_opts_t eo = {.image_timeout_ms = atoi(argv[2]),
                            .image_max_bytes = (size_t)atol(argv[3]),
                            .allow_private_urls = atoi(argv[4]) != 0,
                            .font_cache_bytes = (size_t)atol(argv[6])};
    /* Dies with the thread that started it; and if that already happened, now. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)atol(argv[5]))
        return 1;
    /* Nothing of the server's but the socket (a descriptor without close-on-exec, such as a
     * listening socket, must not live on in a helper). */
    close_range(HELPER_FD + 1, ~0U, 0);
    /* The heap keeps what renders free (no trimming, no mmap per large buffer, which cost page
     * faults on every render); the explicit malloc_trim after a large render gives it back. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, (int)(TRIM_ABOVE_BYTES * 2));
    if (engine_global_init() != 0)
        return 1;
    helper_t h = {0};
    h.ctx = engine_ctx_new(&eo);
    int rc = 1;
    if (!h.ctx)
        goto done;
#ifndef __SANITIZE_ADDRESS__
    /* Past its idle size plus the budget an allocation fails at once; the parent's RSS watch is
     * the precise limit, this one stops a runaway before the watch's next look. */
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)(self_statm(0) + atol(argv[1]) * (1L << 20) + AS_SLACK_BYTES);
    setrlimit(RLIMIT_AS, &rl);
#endif
    h.idle_rss = self_statm(1);
    wire_hello_t hello = {.rss_bytes = h.idle_rss};
    field_t hf[1] = {{&hello, sizeof hello}};
    if (send_msg(HELPER_FD, hf, 1) != 0)
        goto done;
    for (;;) {
        uint32_t n;
        if (read_full(HELPER_FD, &n, 4) != 0) {
            rc = 0; /* the server closed the socket: a normal end */
            break;
        }
        unsigned char *payload = n <= MSG_MAX ? malloc(n ? n : 1) : NULL;
        if (!payload || read_full(HELPER_FD, payload, n) != 0) {
            free(payload);
            break;
        }
        int r = helper_serve(&h, payload, n);
        free(payload);
        if (r != 0)
            break;
    }
done:
    for (int i = 0; i < SANDBOX_HELPER_CACHE; i++) {
        engine_template_free(h.cache[i].t);
        overlay_free(h.cache[i].ov);
    }
    engine_ctx_free(h.ctx);
    engine_global_cleanup();
    return rc;
}
