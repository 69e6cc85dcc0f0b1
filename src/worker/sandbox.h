/*
 * sandbox — renders in a helper process that can be killed: the hard deadline and memory
 * budget of every server render (worker renders and previews).
 *
 * A sandbox_t owns one pre-started helper: the server's own binary re-executed
 * (/proc/self/exe render-helper …, posix_spawn; a fork without exec is unsafe once pango has
 * started its thread) with one end of a socketpair on fd 3. The parent sends a framed request
 * (render options, the template version id, the data as JSON text, and on a cache miss the
 * template's layout, pageConfig and manifest); the helper compiles templates once per version
 * (an LRU of SANDBOX_HELPER_CACHE entries), runs engine_render and answers status, page count,
 * error text and the output bytes.
 *
 * Limits enforced by the parent while it waits:
 *  - time: past the render's deadline (plus SANDBOX_DEADLINE_SLACK_MS for the engine's own
 *    check to answer first) the helper is killed with SIGKILL and the attempt fails with a
 *    message naming the limit;
 *  - memory: the helper's resident size (/proc/PID/statm, every SANDBOX_WATCH_MS) above its
 *    idle size plus the per-render budget, or all helpers together above the process-wide
 *    budget (the largest ones go first), kills it. The helper also sets RLIMIT_AS to its idle
 *    size plus the budget, so an allocation past it fails at once (not under AddressSanitizer,
 *    whose shadow memory needs terabytes of address space; there the RSS watch does it, against
 *    twice the budget plus ASan's 256 MB quarantine).
 * A killed or crashed helper is reaped at once and a new one started before the next render.
 * A pdf-overlay template renders with overlay_render (worker/overlay.h): for a PNG, poppler
 * parses the merged PDF with the client's base in it, which is why that happens only here;
 * the helper serves one request at a time on its main thread, the only one using poppler.
 *
 * Threads: a sandbox_t belongs to the thread that created it (it is spawned, used, respawned and
 * freed there; the helper's PR_SET_PDEATHSIG follows that thread). sandbox_kill_all and
 * sandbox_configure may be called from any thread.
 * Memory: sandbox_render fills out->data (malloc'd; engine_output_free releases it).
 */
#ifndef CRAFTKIT_WORKER_SANDBOX_H
#define CRAFTKIT_WORKER_SANDBOX_H

#include <craftkit/engine.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

#define SANDBOX_HELPER_CACHE 32          /* compiled templates kept by each helper */
#define SANDBOX_WATCH_MS 50              /* memory checks while a render runs */
#define SANDBOX_DEADLINE_SLACK_MS 500    /* the engine's own deadline check answers within it */
#define SANDBOX_START_TIMEOUT_MS 30000   /* a helper's start-up (fonts) */
#define SANDBOX_TEMPLATE_MAX (64u << 20) /* template source sent to a helper */

typedef struct sandbox sandbox_t;

/* The template a render uses: version_id names it in the helper's cache ("" = compile it for
 * this render only, e.g. an unsaved preview); the JSON source is sent on a cache miss. */
typedef struct {
    const char *version_id;
    const json_t *layout, *page_config, *manifest;
} sandbox_template_t;

typedef enum {
    SANDBOX_OK = 0,
    SANDBOX_FAILED = -1,  /* the render failed (message for the user in err) */
    SANDBOX_STOPPED = -2, /* the server is shutting down (sandbox_kill_all) */
} sandbox_status_t;

/* Process-wide limits and the helper's engine settings; call once before the first
 * sandbox_new (serve does, from the configuration). */
void sandbox_configure(const config_t *cfg);
/* Starts a helper (when that fails, it is logged and tried again before the next render).
 * NULL only when out of memory. */
sandbox_t *sandbox_new(void);
/* Closes the helper's socket (it exits), reaps it. NULL is fine. */
void sandbox_free(sandbox_t *sb);
/* Renders data with the template in the helper, killing it past opts->deadline_ms (which must
 * be set) or its memory budget. limit_ms is the time limit the deadline stands for (named in
 * the message of a render stopped by it). */
sandbox_status_t sandbox_render(sandbox_t *sb, const sandbox_template_t *tpl, const json_t *data,
                                const engine_render_opts_t *opts, int limit_ms, engine_output_t *out,
                                char *err, size_t err_len);
/* The same with the data as JSON text of data_len bytes, passed to the helper as it is (the
 * helper parses it): a worker's claim hands over the text it got from Postgres. */
sandbox_status_t sandbox_render_text(sandbox_t *sb, const sandbox_template_t *tpl, const char *data,
                                     size_t data_len, const engine_render_opts_t *opts, int limit_ms,
                                     engine_output_t *out, char *err, size_t err_len);
/* Kills every helper's render in progress and makes later renders answer SANDBOX_STOPPED
 * (shutdown past its grace time). Any thread. */
void sandbox_kill_all(void);
/* The helper's process id (0 while none runs); for benchmarks and tests. */
int sandbox_pid(sandbox_t *sb);
/* Kills the render in progress of this one sandbox (SANDBOX_STOPPED). Any thread. */
void sandbox_kill(sandbox_t *sb);

/* `craftkit render-helper …`: the helper's main loop on fd 3 (not for people). */
int sandbox_helper_main(int argc, char **argv);

#endif
