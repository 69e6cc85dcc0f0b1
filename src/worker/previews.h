/*
 * previews — the small pool that renders previews: CRAFTKIT_PREVIEW_CONCURRENCY threads, each
 * owning a render helper process (worker/sandbox.h), fed by one FIFO of at most
 * CRAFTKIT_PREVIEW_QUEUE waiting jobs. Previews thus never run on an HTTP handler thread and
 * never on a render worker: a client sending expensive previews waits for its turn (or is
 * told to come back, 503) while every other request is answered as usual.
 *
 * The caller (api/templates) parks its HTTP request, submits a job whose done callback resumes
 * it, and answers from the job when its handler runs again. A job's deadline counts from its
 * submission: time spent waiting in the queue is part of the preview's time limit.
 *
 * Threads: previews_submit from any thread; previews_start/previews_stop on the main thread;
 * previews_close from any thread (a server shutdown hook). done is called on a pool thread (or,
 * for jobs refused at shutdown, on the thread calling previews_close); after it the pool never
 * touches the job again.
 * Memory: the caller owns the job (and its compiled reference and data) and, once done ran,
 * job->out (engine_output_free).
 */
#ifndef CRAFTKIT_WORKER_PREVIEWS_H
#define CRAFTKIT_WORKER_PREVIEWS_H

#include <craftkit/engine.h>
#include <jansson.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/errmsg.h"
#include "worker/compiled.h"

typedef enum {
    PREVIEW_QUEUED = 0,
    PREVIEW_DONE,     /* out holds the file */
    PREVIEW_FAILED,   /* err says why (the user's problem or a limit) */
    PREVIEW_TIMEOUT,  /* its deadline passed while it waited in the queue */
    PREVIEW_STOPPING, /* the server is shutting down */
} preview_state_t;

typedef struct preview_job {
    /* in */
    compiled_t *compiled;
    const json_t *data;
    engine_render_opts_t opts; /* deadline_ms: set by previews_submit */
    void (*done)(struct preview_job *job);
    void *arg;
    /* out */
    preview_state_t state;
    engine_output_t out;
    char err[ERRMSG_LEN];
    struct preview_job *next; /* the queue */
} preview_job_t;

int previews_start(const config_t *cfg, char *err, size_t err_len);
/* Queues the job. false (and nothing else happens) when the queue is full or closed. */
bool previews_submit(preview_job_t *job);
/* Refuses new jobs, answers the queued ones PREVIEW_STOPPING and kills the renders in
 * progress (they end PREVIEW_STOPPING at once). Safe to call twice. */
void previews_close(void);
/* previews_close, then joins the threads and frees the helpers. */
void previews_stop(void);

#endif
