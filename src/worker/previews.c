#include "worker/previews.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/timeutil.h"
#include "worker/sandbox.h"

typedef struct {
    pthread_t thread;
    bool started;
    sandbox_t *sb; /* created, used and freed on the thread; set and cleared under mu */
} renderer_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static preview_job_t *head, *tail;
static int queued, queue_max, timeout_ms;
static bool closed;
static renderer_t *renderers;
static int n_renderers;

/* Publishes the renderer's sandbox (NULL: none) for previews_close, which kills it. */
static void set_sandbox(renderer_t *r, sandbox_t *sb)
{
    pthread_mutex_lock(&mu);
    r->sb = sb;
    pthread_mutex_unlock(&mu);
}

static void finish(preview_job_t *job, preview_state_t state)
{
    job->state = state;
    job->done(job); /* the job may be gone after this */
}

static preview_job_t *take(void)
{
    pthread_mutex_lock(&mu);
    while (!head && !closed)
        pthread_cond_wait(&cv, &mu);
    preview_job_t *job = head;
    if (job) {
        head = job->next;
        if (!head)
            tail = NULL;
        queued--;
    }
    pthread_mutex_unlock(&mu);
    return job;
}

static void run(renderer_t *r, preview_job_t *job)
{
    if (time_mono_ms() >= job->opts.deadline_ms) {
        errmsg_fail(job->err, sizeof job->err,
                    "the preview waited longer than its time limit for a free renderer");
        finish(job, PREVIEW_TIMEOUT);
        return;
    }
    sandbox_template_t tpl;
    compiled_sandbox_template(job->compiled, &tpl);
    sandbox_status_t st = SANDBOX_FAILED;
    errmsg_fail(job->err, sizeof job->err, "out of memory");
    if (r->sb)
        st = sandbox_render(r->sb, &tpl, job->data, &job->opts, timeout_ms, &job->out, job->err,
                            sizeof job->err);
    finish(job, st == SANDBOX_OK ? PREVIEW_DONE : st == SANDBOX_STOPPED ? PREVIEW_STOPPING : PREVIEW_FAILED);
}

static void *renderer_main(void *arg)
{
    renderer_t *r = arg;
    set_sandbox(r, sandbox_new());
    preview_job_t *job;
    while ((job = take()) != NULL)
        run(r, job);
    sandbox_t *sb = r->sb;
    set_sandbox(r, NULL);
    sandbox_free(sb);
    return NULL;
}

int previews_start(const config_t *cfg, char *err, size_t err_len)
{
    pthread_mutex_lock(&mu);
    closed = false;
    queue_max = cfg->preview_queue;
    timeout_ms = cfg->preview_timeout_ms;
    pthread_mutex_unlock(&mu);
    renderers = calloc((size_t)cfg->preview_concurrency, sizeof *renderers);
    if (!renderers)
        return errmsg_fail(err, err_len, "out of memory");
    n_renderers = cfg->preview_concurrency;
    for (int i = 0; i < n_renderers; i++) {
        if (pthread_create(&renderers[i].thread, NULL, renderer_main, &renderers[i]) != 0) {
            errmsg_fail(err, err_len, "cannot start preview renderer %d", i);
            previews_stop();
            return -1;
        }
        renderers[i].started = true;
    }
    return 0;
}

bool previews_submit(preview_job_t *job)
{
    job->state = PREVIEW_QUEUED;
    job->next = NULL;
    job->opts.deadline_ms = time_mono_ms() + timeout_ms;
    pthread_mutex_lock(&mu);
    /* Every renderer busy and queue_max waiting: refuse rather than pile up. */
    bool ok = !closed && renderers && queued < queue_max + n_renderers;
    if (ok) {
        if (tail)
            tail->next = job;
        else
            head = job;
        tail = job;
        queued++;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

void previews_close(void)
{
    pthread_mutex_lock(&mu);
    closed = true;
    preview_job_t *jobs = head;
    head = tail = NULL;
    queued = 0;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    while (jobs) {
        preview_job_t *next = jobs->next;
        errmsg_fail(jobs->err, sizeof jobs->err, "the server is shutting down");
        finish(jobs, PREVIEW_STOPPING);
        jobs = next;
    }
    /* Renders in progress: the helpers' sockets are only read by their own threads, so a kill
     * is the way to end them now. */
    pthread_mutex_lock(&mu);
    for (int i = 0; renderers && i < n_renderers; i++)
        if (renderers[i].sb)
            sandbox_kill(renderers[i].sb);
    pthread_mutex_unlock(&mu);
}

void previews_stop(void)
{
    if (!renderers)
        return;
    previews_close();
    for (int i = 0; i < n_renderers; i++)
        if (renderers[i].started)
            pthread_join(renderers[i].thread, NULL);
    free(renderers);
    renderers = NULL;
    n_renderers = 0;
}
