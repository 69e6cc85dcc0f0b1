#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const config_t *config_current;

void config_set(const config_t *cfg)
{
    config_current = cfg;
}

const config_t *config_get(void)
{
    return config_current;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

static char *dup_env(const char *name, const char *fallback)
{
    const char *v = env(name);
    if (!v)
        v = fallback;
    return v ? strdup(v) : NULL;
}

/* Parses an integer setting in [lo, hi]; -1 with a message on a bad value. */
static int parse_long(const char *name, long fallback, long lo, long hi, long *out, char *err, size_t err_len)
{
    const char *v = env(name);
    if (!v) {
        *out = fallback;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < lo || n > hi) {
        snprintf(err, err_len, "%s must be an integer from %ld to %ld (got \"%s\")", name, lo, hi, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_int(const char *name, int fallback, int lo, int hi, int *out, char *err, size_t err_len)
{
    long n;
    if (parse_long(name, fallback, lo, hi, &n, err, err_len) != 0)
        return -1;
    *out = (int)n;
    return 0;
}

static int parse_bool(const char *name, bool fallback, bool *out, char *err, size_t err_len)
{
    const char *v = env(name);
    if (!v) {
        *out = fallback;
        return 0;
    }
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = false;
        return 0;
    }
    snprintf(err, err_len, "%s must be 1/0, true/false or yes/no (got \"%s\")", name, v);
    return -1;
}

/* CRAFTKIT_LISTEN: "port", ":port" or "host:port". */
static int parse_listen(config_t *cfg, char *err, size_t err_len)
{
    const char *v = env("CRAFTKIT_LISTEN");
    if (!v)
        v = "0.0.0.0:8080";
    const char *colon = strrchr(v, ':');
    const char *port = colon ? colon + 1 : v;
    char *end;
    long n = strtol(port, &end, 10);
    if (*port == '\0' || *end || n < 0 || n > 65535) {
        snprintf(err, err_len, "CRAFTKIT_LISTEN must be host:port or port (got \"%s\")", v);
        return -1;
    }
    cfg->listen_port = (int)n;
    if (colon && colon != v)
        cfg->listen_host = strndup(v, (size_t)(colon - v));
    else
        cfg->listen_host = strdup("0.0.0.0");
    return 0;
}

static int check_url(const char *name, const char *v, char *err, size_t err_len)
{
    if (v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
        snprintf(err, err_len, "%s must start with http:// or https:// (got \"%s\")", name, v);
        return -1;
    }
    return 0;
}

static void strip_trailing_slash(char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
}

static bool instance_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

/* Worker ids are "<instance id>:<n>" and must fit the job lists' id alphabet and length. */
static bool instance_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CONFIG_INSTANCE_ID_MAX)
        return false;
    for (; *s; s++)
        if (!instance_char_ok(*s))
            return false;
    return true;
}

int config_load(config_t *cfg, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof *cfg);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    long max_body, image_max;

    if (parse_listen(cfg, err, err_len) != 0)
        goto fail;
    cfg->public_url = dup_env("CRAFTKIT_PUBLIC_URL", NULL);
    if (!cfg->public_url) {
        char tmp[128];
        snprintf(tmp, sizeof tmp, "http://localhost:%d", cfg->listen_port);
        cfg->public_url = strdup(tmp);
    }
    if (check_url("CRAFTKIT_PUBLIC_URL", cfg->public_url, err, err_len) != 0)
        goto fail;
    strip_trailing_slash(cfg->public_url);
    cfg->database_url = dup_env("DATABASE_URL", "postgresql:///craftkit");
    cfg->redis_url = dup_env("REDIS_URL", "redis://127.0.0.1:6379");
    if (strncmp(cfg->redis_url, "redis://", 8) != 0 && strncmp(cfg->redis_url, "unix://", 7) != 0) {
        snprintf(err, err_len, "REDIS_URL must start with redis:// or unix:// (got \"%s\")", cfg->redis_url);
        goto fail;
    }
    cfg->admin_key = dup_env("CRAFTKIT_ADMIN_KEY", NULL);
    if (cfg->admin_key && strlen(cfg->admin_key) < 16) {
        snprintf(err, err_len, "CRAFTKIT_ADMIN_KEY must be at least 16 characters");
        goto fail;
    }
    if (parse_int("CRAFTKIT_WORKERS", (int)cores, 0, 256, &cfg->workers, err, err_len) ||
        parse_int("CRAFTKIT_HTTP_THREADS", 8, 1, 256, &cfg->http_threads, err, err_len) ||
        parse_int("CRAFTKIT_HTTP_IO_THREADS", 2, 1, 64, &cfg->http_io_threads, err, err_len) ||
        parse_long("CRAFTKIT_MAX_BODY", 10L * 1024 * 1024, 1024, 1024L * 1024 * 1024, &max_body, err,
                   err_len) ||
        parse_int("CRAFTKIT_CONNECTION_LIMIT", 1000, 4, 100000, &cfg->connection_limit, err, err_len) ||
        parse_int("CRAFTKIT_CONNECTION_TIMEOUT", 60, 1, 3600, &cfg->connection_timeout, err, err_len))
        goto fail;
    cfg->max_body = (size_t)max_body;

    const char *storage = env("CRAFTKIT_STORAGE");
    if (!storage || !strcmp(storage, "local")) {
        cfg->storage = STORAGE_LOCAL;
    } else if (!strcmp(storage, "s3")) {
        cfg->storage = STORAGE_S3;
    } else {
        snprintf(err, err_len, "CRAFTKIT_STORAGE must be local or s3 (got \"%s\")", storage);
        goto fail;
    }
    cfg->data_dir = dup_env("CRAFTKIT_DATA_DIR", "./var/data");
    strip_trailing_slash(cfg->data_dir);
    cfg->signing_secret = dup_env("CRAFTKIT_SIGNING_SECRET", NULL);
    if (cfg->signing_secret && strlen(cfg->signing_secret) < 16) {
        snprintf(err, err_len, "CRAFTKIT_SIGNING_SECRET must be at least 16 characters");
        goto fail;
    }
    cfg->s3_endpoint = dup_env("S3_ENDPOINT", NULL);
    cfg->s3_region = dup_env("S3_REGION", "us-east-1");
    cfg->s3_bucket = dup_env("S3_BUCKET", NULL);
    cfg->s3_access_key_id = dup_env("S3_ACCESS_KEY_ID", NULL);
    cfg->s3_secret_access_key = dup_env("S3_SECRET_ACCESS_KEY", NULL);
    cfg->s3_public_base_url = dup_env("S3_PUBLIC_BASE_URL", NULL);
    cfg->s3_public_endpoint = dup_env("S3_PUBLIC_ENDPOINT", NULL);
    strip_trailing_slash(cfg->s3_public_base_url);
    strip_trailing_slash(cfg->s3_endpoint);
    if (check_url("S3_ENDPOINT", cfg->s3_endpoint, err, err_len) ||
        check_url("S3_PUBLIC_BASE_URL", cfg->s3_public_base_url, err, err_len) ||
        check_url("S3_PUBLIC_ENDPOINT", cfg->s3_public_endpoint, err, err_len) ||
        parse_bool("S3_FORCE_PATH_STYLE", false, &cfg->s3_force_path_style, err, err_len) ||
        parse_int("S3_ATTEMPTS", 3, 1, 10, &cfg->s3_attempts, err, err_len) ||
        parse_int("S3_ATTEMPT_TIMEOUT_MS", 20000, 100, 600000, &cfg->s3_attempt_timeout_ms, err, err_len) ||
        parse_int("S3_CONNECT_TIMEOUT_MS", 5000, 100, 600000, &cfg->s3_connect_timeout_ms, err, err_len) ||
        parse_int("S3_TOTAL_TIMEOUT_MS", 60000, 100, 3600000, &cfg->s3_total_timeout_ms, err, err_len))
        goto fail;
    if (cfg->storage == STORAGE_S3) {
        const char *missing = !cfg->s3_endpoint            ? "S3_ENDPOINT"
                              : !cfg->s3_bucket            ? "S3_BUCKET"
                              : !cfg->s3_access_key_id     ? "S3_ACCESS_KEY_ID"
                              : !cfg->s3_secret_access_key ? "S3_SECRET_ACCESS_KEY"
                                                           : NULL;
        if (missing) {
            snprintf(err, err_len, "%s is required when CRAFTKIT_STORAGE=s3", missing);
            goto fail;
        }
    }
    /* Pre-signed SigV4 URLs cannot live longer than 7 days. */
    if (parse_int("CRAFTKIT_DOWNLOAD_TTL", 86400, 1, 604800, &cfg->download_ttl, err, err_len))
        goto fail;

    const char *rl = env("CRAFTKIT_RATE_LIMIT");
    cfg->rate_limit = 50;
    if (rl) {
        char *end;
        cfg->rate_limit = strtod(rl, &end);
        if (*end || end == rl || !(cfg->rate_limit >= 1e-6) || cfg->rate_limit > 1e6) {
            snprintf(err, err_len,
                     "CRAFTKIT_RATE_LIMIT must be a number from 0.000001 to 1000000 (got \"%s\")", rl);
            goto fail;
        }
    }
    if (parse_int("CRAFTKIT_RATE_BURST", 100, 1, 1000000, &cfg->rate_burst, err, err_len) ||
        parse_bool("CRAFTKIT_ALLOW_PRIVATE_URLS", false, &cfg->allow_private_urls, err, err_len) ||
        parse_int("CRAFTKIT_WEBHOOK_BACKOFF_BASE_MS", 30000, 1, 3600000, &cfg->webhook_backoff_base_ms, err,
                  err_len) ||
        parse_int("CRAFTKIT_WEBHOOK_CONCURRENCY", 32, 0, 1000, &cfg->webhook_concurrency, err, err_len) ||
        parse_int("CRAFTKIT_WEBHOOK_TIMEOUT_MS", 15000, 100, 120000, &cfg->webhook_timeout_ms, err,
                  err_len) ||
        parse_int("CRAFTKIT_RENDER_TIMEOUT_MS", 120000, 100, 3600000, &cfg->render_timeout_ms, err,
                  err_len) ||
        parse_int("CRAFTKIT_RENDER_BACKOFF_BASE_MS", 2000, 1, 600000, &cfg->render_backoff_base_ms, err,
                  err_len) ||
        parse_int("CRAFTKIT_SYNC_TIMEOUT_MS", 30000, 100, 300000, &cfg->sync_timeout_ms, err, err_len) ||
        parse_int("CRAFTKIT_IMAGE_TIMEOUT_MS", 10000, 100, 120000, &cfg->image_timeout_ms, err, err_len) ||
        parse_long("CRAFTKIT_IMAGE_MAX_BYTES", 5L * 1024 * 1024, 1024, 100L * 1024 * 1024, &image_max, err,
                   err_len) ||
        parse_int("CRAFTKIT_SWEEP_INTERVAL_MS", 5000, 50, 600000, &cfg->sweep_interval_ms, err, err_len) ||
        parse_int("CRAFTKIT_HEARTBEAT_TTL", 30, 2, 3600, &cfg->heartbeat_ttl_s, err, err_len) ||
        parse_int("CRAFTKIT_AUTH_CACHE_MS", 60000, 0, 3600000, &cfg->auth_cache_ms, err, err_len))
        goto fail;
    cfg->image_max_bytes = (size_t)image_max;

    const char *fmt = env("CRAFTKIT_LOG_FORMAT");
    if (fmt && strcmp(fmt, "text") && strcmp(fmt, "json")) {
        snprintf(err, err_len, "CRAFTKIT_LOG_FORMAT must be text or json (got \"%s\")", fmt);
        goto fail;
    }
    cfg->log_json = fmt && !strcmp(fmt, "json");

    cfg->instance_id = dup_env("CRAFTKIT_INSTANCE_ID", NULL);
    if (cfg->instance_id && !instance_id_valid(cfg->instance_id)) {
        snprintf(err, err_len,
                 "CRAFTKIT_INSTANCE_ID must be 1 to %d characters of A-Z a-z 0-9 . _ : - (got \"%.80s\")",
                 CONFIG_INSTANCE_ID_MAX, cfg->instance_id);
        goto fail;
    }
    if (!cfg->instance_id) {
        /* hostname:pid, with the host name cut to what worker ids allow. */
        char host[HOST_NAME_MAX + 1] = "localhost", tmp[HOST_NAME_MAX + 32];
        gethostname(host, sizeof host - 1);
        host[CONFIG_INSTANCE_ID_MAX - 12] = '\0';
        for (char *p = host; *p; p++)
            if (!instance_char_ok(*p))
                *p = '-';
        snprintf(tmp, sizeof tmp, "%s:%d", host[0] ? host : "localhost", (int)getpid());
        cfg->instance_id = strdup(tmp);
    }
    return 0;

fail:
    config_free(cfg);
    return -1;
}

void config_free(config_t *cfg)
{
    char **strs[] = {&cfg->listen_host,        &cfg->public_url,         &cfg->database_url,
                     &cfg->redis_url,          &cfg->admin_key,          &cfg->data_dir,
                     &cfg->signing_secret,     &cfg->s3_endpoint,        &cfg->s3_region,
                     &cfg->s3_bucket,          &cfg->s3_access_key_id,   &cfg->s3_secret_access_key,
                     &cfg->s3_public_base_url, &cfg->s3_public_endpoint, &cfg->instance_id};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}
