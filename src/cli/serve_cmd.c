/* craftkit serve: wires every subsystem up in order and tears it down in reverse. */
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <craftkit/engine.h>

#include "api/api.h"
#include "api/listener.h"
#include "api/syncwait.h"
#include "auth/auth.h"
#include "auth/keycache.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "db/migrate.h"
#include "db/projects_repo.h"
#include "http/server.h"
#include "queue/redis.h"
#include "storage/storage.h"
#include "worker/compiled.h"
#include "worker/dispatcher.h"
#include "worker/pool.h"
#include "worker/previews.h"
#include "worker/sandbox.h"
#include "worker/sweeper.h"

#define SHUTDOWN_GRACE_MS 10000 /* in-flight HTTP requests */

/* Refuses to serve an unmigrated (or too new) database. */
static int check_schema(const config_t *cfg)
{
    char err[ERRMSG_LEN];
    db_t *db = cli_open_db(cfg);
    if (!db)
        return -1;
    int pending = migrate_pending(db, err, sizeof err);
    db_close(db);
    if (pending < 0) {
        fprintf(stderr, "craftkit serve: cannot read the schema version: %s\n", err);
        return -1;
    }
    if (pending > 0) {
        fprintf(stderr,
                "craftkit serve: the database has %d pending migration(s); run `craftkit migrate` first\n",
                pending);
        return -1;
    }
    return 0;
}

/* serve --migrate: the migrations craftkit migrate would apply (safe with several instances
 * starting at once: the runner takes an advisory lock). */
static int apply_migrations(const config_t *cfg)
{
    char err[ERRMSG_LEN];
    int applied = 0;
    db_t *db = cli_open_db(cfg);
    if (!db)
        return -1;
    int rc = migrate_apply(db, &applied, err, sizeof err);
    db_close(db);
    if (rc != 0)
        fprintf(stderr, "craftkit serve: migrate: %s\n", err);
    return rc;
}

int cli_serve(int argc, char **argv)
{
    bool migrate_first = argc == 2 && !strcmp(argv[1], "--migrate");
    if (argc != 1 && !migrate_first) {
        fprintf(stderr, "usage: craftkit serve [--migrate]   (settings come from the environment)\n");
        return CLI_USAGE;
    }
    config_t cfg;
    if (cli_load_config(&cfg) != 0)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    char err[ERRMSG_LEN];

    signal(SIGPIPE, SIG_IGN);
    /* Every thread inherits this mask, so only the sigwait below sees SIGTERM/SIGINT. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    redis_target_t target;
    if (redis_parse_url(cfg.redis_url, &target, err, sizeof err) != 0) {
        fprintf(stderr, "craftkit serve: %s\n", err);
        goto cleanup;
    }
    redis_configure(&target);
    db_configure(cfg.database_url);
    if ((migrate_first && apply_migrations(&cfg) != 0) || check_schema(&cfg) != 0)
        goto cleanup;

    /* Creates the data dir and the signing secret (local) or checks the S3 settings before
     * any thread starts; every thread then gets its own backend from storage_thread(). */
    if (storage_configure(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "craftkit serve: storage: %s\n", err);
        goto cleanup;
    }
    system_add_ready_check("storage", storage_ready_check);
    /* Fonts are loaded once here, before any thread renders (previews on HTTP threads). */
    if (engine_global_init() != 0) {
        fprintf(stderr, "craftkit serve: fontconfig could not be initialised\n");
        goto cleanup;
    }
    api_register_routes();
    keycache_configure(cfg.auth_cache_ms);
    projects_on_auth_changed(keycache_flush);
    server_set_auth(&(server_auth_t){
        .check_headers = auth_check_headers, .lookup = auth_lookup_project, .cached = auth_lookup_cached});
    /* Render helpers (worker/sandbox.h) start with the workers and the preview pool. */
    sandbox_configure(&cfg);
    /* Parked sync requests are answered before the server waits for in-flight requests; so are
     * parked previews (queued ones refused, running ones stopped). */
    server_on_shutdown(syncwait_shutdown);
    server_on_shutdown(previews_close);
    if (listener_start(err, sizeof err) != 0 || previews_start(&cfg, err, sizeof err) != 0 ||
        pool_start(&cfg, syncwait_fire, err, sizeof err) != 0 ||
        dispatcher_start(&cfg, err, sizeof err) != 0 || sweeper_start(&cfg, err, sizeof err) != 0 ||
        server_start(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "craftkit serve: %s\n", err);
        goto cleanup;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", server_port());
    char workers[16];
    snprintf(workers, sizeof workers, "%d", pool_size());
    log_event(LOG_INFO, "listening", "host", cfg.listen_host, "port", port, "public_url", cfg.public_url,
              "instance", cfg.instance_id, "workers", workers, NULL);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_event(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    server_stop(SHUTDOWN_GRACE_MS);
    rc = CLI_OK;
cleanup:
    /* Reverse order of start: HTTP (above), workers, sweeper, listener. Each is a no-op when it
     * never started. */
    pool_stop(cfg.render_grace_ms);
    previews_stop();
    dispatcher_stop();
    sweeper_stop();
    listener_stop();
    compiled_cache_clear();
    if (rc == CLI_OK)
        log_info("stopped");
    storage_shutdown();
    config_free(&cfg);
    return rc;
}
