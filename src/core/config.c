#include "core/config.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errmsg.h"

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

/* How a setting's text becomes a field of config_t. */
typedef enum {
    SET_STR,    /* char *; min = shortest length; flags below */
    SET_INT,    /* int in [min, max] */
    SET_SIZE,   /* size_t in [min, max] */
    SET_NUM,    /* double in [min, max] */
    SET_BOOL,   /* bool: 1/0, true/false, yes/no */
    SET_CHOICE, /* int: the index of the value in choices ("local|s3") */
} setting_kind_t;

enum {
    SET_URL = 1,         /* SET_STR: must start with http:// or https:// */
    SET_NO_SLASH = 2,    /* SET_STR: trailing slashes removed */
    SET_REDIS_URL = 4,   /* SET_STR: redis:// or unix:// */
    SET_CORES = 8,       /* SET_INT: unset → the number of online cores */
    SET_INSTANCE = 16,   /* SET_STR: an instance id (A-Z a-z 0-9 . _ : -, CONFIG_INSTANCE_ID_MAX) */
    SET_OWN_PARSER = 32, /* read after the table by its own code (CRAFTKIT_LISTEN); field unused */
};

typedef struct setting {
    const char *name;
    setting_kind_t kind;
    const char *def; /* the default, written as in the environment; NULL = unset (or derived) */
    double min, max;
    size_t field; /* offsetof(config_t, ...) */
    int flags;
    const char *choices; /* SET_CHOICE */
} setting_t;

_Static_assert(sizeof(storage_kind_t) == sizeof(int), "SET_CHOICE fields are ints");
#define F(f) offsetof(config_t, f)
#define MIB (1024.0 * 1024.0)

/* Every setting, its default and its range, in one place. docs/operations.md documents each with
 * its default and range: the docs.settings test (tests/docs/check_settings.py) reads this table,
 * so keep its rows in this form. Derived defaults: CRAFTKIT_PUBLIC_URL is http://localhost:<port>,
 * CRAFTKIT_INSTANCE_ID is <hostname>:<pid>, CRAFTKIT_WORKERS the number of online cores. */
static const setting_t settings[] = {
    {"CRAFTKIT_LISTEN", SET_STR, "0.0.0.0:8080", 1, 0, 0, SET_OWN_PARSER, NULL},
    {"CRAFTKIT_PUBLIC_URL", SET_STR, NULL, 0, 0, F(public_url), SET_URL | SET_NO_SLASH, NULL},
    {"DATABASE_URL", SET_STR, "postgresql:///craftkit", 1, 0, F(database_url), 0, NULL},
    {"REDIS_URL", SET_STR, "redis://127.0.0.1:6379", 1, 0, F(redis_url), SET_REDIS_URL, NULL},
    {"CRAFTKIT_ADMIN_KEY", SET_STR, NULL, 16, 0, F(admin_key), 0, NULL},
    {"CRAFTKIT_WORKERS", SET_INT, NULL, 0, 256, F(workers), SET_CORES, NULL},
    {"CRAFTKIT_HTTP_THREADS", SET_INT, "8", 1, 256, F(http_threads), 0, NULL},
    {"CRAFTKIT_HTTP_IO_THREADS", SET_INT, "2", 1, 64, F(http_io_threads), 0, NULL},
    {"CRAFTKIT_MAX_BODY", SET_SIZE, "10485760", 1024, 1024 * MIB, F(max_body), 0, NULL},
    {"CRAFTKIT_CONNECTION_LIMIT", SET_INT, "1000", 4, 100000, F(connection_limit), 0, NULL},
    {"CRAFTKIT_CONNECTION_TIMEOUT", SET_INT, "60", 1, 3600, F(connection_timeout), 0, NULL},
    {"CRAFTKIT_CONNECTIONS_PER_IP", SET_INT, "128", 0, 100000, F(connections_per_ip), 0, NULL},
    {"CRAFTKIT_HEADER_TIMEOUT_MS", SET_INT, "15000", 100, 600000, F(header_timeout_ms), 0, NULL},
    {"CRAFTKIT_BODY_TIMEOUT_MS", SET_INT, "60000", 100, 3600000, F(body_timeout_ms), 0, NULL},
    /* at least CRAFTKIT_MAX_BODY: checked in config_load */
    {"CRAFTKIT_BODY_BUFFER_MAX", SET_SIZE, "268435456", 1024, 65536 * MIB, F(body_buffer_max), 0, NULL},
    {"CRAFTKIT_STORAGE", SET_CHOICE, "local", 0, 0, F(storage), 0, "local|s3"},
    {"CRAFTKIT_DATA_DIR", SET_STR, "./var/data", 1, 0, F(data_dir), SET_NO_SLASH, NULL},
    {"CRAFTKIT_SIGNING_SECRET", SET_STR, NULL, 16, 0, F(signing_secret), 0, NULL},
    /* Pre-signed SigV4 URLs cannot live longer than 7 days. */
    {"CRAFTKIT_DOWNLOAD_TTL", SET_INT, "86400", 1, 604800, F(download_ttl), 0, NULL},
    {"S3_ENDPOINT", SET_STR, NULL, 0, 0, F(s3_endpoint), SET_URL | SET_NO_SLASH, NULL},
    {"S3_REGION", SET_STR, "us-east-1", 1, 0, F(s3_region), 0, NULL},
    {"S3_BUCKET", SET_STR, NULL, 1, 0, F(s3_bucket), 0, NULL},
    {"S3_ACCESS_KEY_ID", SET_STR, NULL, 1, 0, F(s3_access_key_id), 0, NULL},
    {"S3_SECRET_ACCESS_KEY", SET_STR, NULL, 1, 0, F(s3_secret_access_key), 0, NULL},
    {"S3_PUBLIC_BASE_URL", SET_STR, NULL, 0, 0, F(s3_public_base_url), SET_URL | SET_NO_SLASH, NULL},
    {"S3_PUBLIC_ENDPOINT", SET_STR, NULL, 0, 0, F(s3_public_endpoint), SET_URL, NULL},
    {"S3_FORCE_PATH_STYLE", SET_BOOL, "false", 0, 0, F(s3_force_path_style), 0, NULL},
    {"S3_ATTEMPTS", SET_INT, "3", 1, 10, F(s3_attempts), 0, NULL},
    {"S3_ATTEMPT_TIMEOUT_MS", SET_INT, "20000", 100, 600000, F(s3_attempt_timeout_ms), 0, NULL},
    {"S3_CONNECT_TIMEOUT_MS", SET_INT, "5000", 100, 600000, F(s3_connect_timeout_ms), 0, NULL},
    {"S3_TOTAL_TIMEOUT_MS", SET_INT, "60000", 100, 3600000, F(s3_total_timeout_ms), 0, NULL},
    {"S3_PART_SIZE_MB", SET_INT, "16", 5, 5120, F(s3_part_size_mb), 0, NULL},
    {"CRAFTKIT_RATE_LIMIT", SET_NUM, "50", 1e-6, 1e6, F(rate_limit), 0, NULL},
    {"CRAFTKIT_RATE_BURST", SET_INT, "100", 1, 1000000, F(rate_burst), 0, NULL},
    {"CRAFTKIT_ALLOW_PRIVATE_URLS", SET_BOOL, "false", 0, 0, F(allow_private_urls), 0, NULL},
    {"CRAFTKIT_WEBHOOK_BACKOFF_BASE_MS", SET_INT, "30000", 1, 3600000, F(webhook_backoff_base_ms), 0, NULL},
    {"CRAFTKIT_WEBHOOK_CONCURRENCY", SET_INT, "32", 0, 1000, F(webhook_concurrency), 0, NULL},
    {"CRAFTKIT_WEBHOOK_TIMEOUT_MS", SET_INT, "15000", 100, 120000, F(webhook_timeout_ms), 0, NULL},
    {"CRAFTKIT_HOOK_REPLAY_WINDOW_S", SET_INT, "300", 1, 86400, F(hook_replay_window_s), 0, NULL},
    {"CRAFTKIT_HOOK_REQUIRE_TIMESTAMP", SET_BOOL, "false", 0, 0, F(hook_require_timestamp), 0, NULL},
    {"CRAFTKIT_RENDER_TIMEOUT_MS", SET_INT, "120000", 100, 3600000, F(render_timeout_ms), 0, NULL},
    {"CRAFTKIT_RENDER_BACKOFF_BASE_MS", SET_INT, "2000", 1, 600000, F(render_backoff_base_ms), 0, NULL},
    /* the render sandbox (worker/sandbox, worker/previews) */
    {"CRAFTKIT_RENDER_MEMORY_MB", SET_INT, "512", 64, 65536, F(render_memory_mb), 0, NULL},
    {"CRAFTKIT_RENDER_MEMORY_TOTAL_MB", SET_INT, "2048", 64, 1048576, F(render_memory_total_mb), 0, NULL},
    {"CRAFTKIT_RENDER_GRACE_MS", SET_INT, "30000", 0, 3600000, F(render_grace_ms), 0, NULL},
    {"CRAFTKIT_PREVIEW_CONCURRENCY", SET_INT, "2", 1, 64, F(preview_concurrency), 0, NULL},
    {"CRAFTKIT_PREVIEW_QUEUE", SET_INT, "16", 0, 10000, F(preview_queue), 0, NULL},
    {"CRAFTKIT_PREVIEW_TIMEOUT_MS", SET_INT, "20000", 100, 600000, F(preview_timeout_ms), 0, NULL},
    {"CRAFTKIT_SYNC_TIMEOUT_MS", SET_INT, "30000", 100, 300000, F(sync_timeout_ms), 0, NULL},
    {"CRAFTKIT_BATCH_MAX_ITEMS", SET_INT, "10000", 1, 100000, F(batch_max_items), 0, NULL},
    {"CRAFTKIT_BATCH_GROUP_MS", SET_INT, "250", 0, 60000, F(batch_group_ms), 0, NULL},
    {"CRAFTKIT_IMAGE_TIMEOUT_MS", SET_INT, "10000", 100, 120000, F(image_timeout_ms), 0, NULL},
    {"CRAFTKIT_IMAGE_MAX_BYTES", SET_SIZE, "5242880", 1024, 100 * MIB, F(image_max_bytes), 0, NULL},
    {"CRAFTKIT_SWEEP_INTERVAL_MS", SET_INT, "5000", 50, 600000, F(sweep_interval_ms), 0, NULL},
    {"CRAFTKIT_RETENTION_DAYS", SET_INT, "0", 0, 36500, F(retention_days), 0, NULL},
    {"CRAFTKIT_HEARTBEAT_TTL", SET_INT, "30", 2, 3600, F(heartbeat_ttl_s), 0, NULL},
    {"CRAFTKIT_AUTH_CACHE_MS", SET_INT, "60000", 0, 3600000, F(auth_cache_ms), 0, NULL},
    {"CRAFTKIT_LOG_FORMAT", SET_CHOICE, "text", 0, 0, F(log_format), 0, "text|json"},
    {"CRAFTKIT_INSTANCE_ID", SET_STR, NULL, 1, 0, F(instance_id), SET_INSTANCE, NULL},
    {"CRAFTKIT_ASSET_FONT_MAX_BYTES", SET_SIZE, "20971520", 1024, 256 * MIB, F(asset_font_max_bytes), 0,
     NULL},
    {"CRAFTKIT_ASSET_IMAGE_MAX_BYTES", SET_SIZE, "10485760", 1024, 256 * MIB, F(asset_image_max_bytes), 0,
     NULL},
    {"CRAFTKIT_ASSET_PDF_MAX_BYTES", SET_SIZE, "20971520", 1024, 256 * MIB, F(asset_pdf_max_bytes), 0, NULL},
    {"CRAFTKIT_ASSET_CACHE_DIR", SET_STR, "./var/asset-cache", 1, 0, F(asset_cache_dir), SET_NO_SLASH, NULL},
    {"CRAFTKIT_ASSETS_MAX_COUNT", SET_INT, "200", 1, 100000, F(assets_max_count), 0, NULL},
    {"CRAFTKIT_ASSETS_MAX_TOTAL_BYTES", SET_SIZE, "209715200", 1024, 65536 * MIB, F(assets_max_total_bytes),
     0, NULL},
    {"CRAFTKIT_FONT_CACHE_BYTES", SET_SIZE, "67108864", MIB, 4096 * MIB, F(font_cache_bytes), 0, NULL},
};

#undef F
#undef MIB

static bool instance_id_valid(const char *s);

/* A whole number in [lo, hi] (which are exact in a double up to 2^53). */
static int parse_whole(const setting_t *s, const char *v, long long *out, char *err, size_t err_len)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v || (double)n < s->min || (double)n > s->max)
        return errmsg_fail(err, err_len, "%s must be an integer from %.0f to %.0f (got \"%s\")", s->name,
                           s->min, s->max, v);
    *out = n;
    return 0;
}

/* A bound as a person writes it: 0.000001, 1000000 (no exponent, no trailing zeros). */
static void plain_number(double d, char *out, size_t len)
{
    snprintf(out, len, "%.6f", d);
    char *dot = strchr(out, '.');
    if (!dot)
        return;
    char *end = out + strlen(out);
    while (end > dot && (end[-1] == '0' || end[-1] == '.'))
        *--end = '\0';
}

static int parse_number(const setting_t *s, const char *v, double *out, char *err, size_t err_len)
{
    char *end;
    double d = strtod(v, &end);
    if (*end || end == v || !(d >= s->min) || d > s->max) {
        char lo[48], hi[48];
        plain_number(s->min, lo, sizeof lo);
        plain_number(s->max, hi, sizeof hi);
        return errmsg_fail(err, err_len, "%s must be a number from %s to %s (got \"%s\")", s->name, lo, hi,
                           v);
    }
    *out = d;
    return 0;
}

static int parse_flag(const setting_t *s, const char *v, bool *out, char *err, size_t err_len)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
        *out = true;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
        *out = false;
    else
        return errmsg_fail(err, err_len, "%s must be 1/0, true/false or yes/no (got \"%s\")", s->name, v);
    return 0;
}

static int parse_choice(const setting_t *s, const char *v, int *out, char *err, size_t err_len)
{
    int i = 0;
    size_t n = strlen(v);
    for (const char *c = s->choices; *c; i++) {
        size_t len = strcspn(c, "|");
        if (len == n && !strncmp(c, v, n)) {
            *out = i;
            return 0;
        }
        c += len + (c[len] == '|');
    }
    char alts[96] = "";
    size_t o = 0;
    for (const char *c = s->choices; *c && o + 8 < sizeof alts; c++)
        o += (size_t)snprintf(alts + o, sizeof alts - o, *c == '|' ? " or " : "%c", *c);
    return errmsg_fail(err, err_len, "%s must be %s (got \"%s\")", s->name, alts, v);
}

static int check_string(const setting_t *s, char *v, char *err, size_t err_len)
{
    if (strlen(v) < (size_t)s->min)
        return errmsg_fail(err, err_len, "%s must be at least %.0f characters", s->name, s->min);
    if ((s->flags & SET_URL) && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
        return errmsg_fail(err, err_len, "%s must start with http:// or https:// (got \"%s\")", s->name, v);
    if ((s->flags & SET_REDIS_URL) && strncmp(v, "redis://", 8) != 0 && strncmp(v, "unix://", 7) != 0)
        return errmsg_fail(err, err_len, "%s must start with redis:// or unix:// (got \"%s\")", s->name, v);
    if ((s->flags & SET_INSTANCE) && !instance_id_valid(v))
        return errmsg_fail(err, err_len,
                           "%s must be 1 to %d characters of A-Z a-z 0-9 . _ : - (got \"%.80s\")", s->name,
                           CONFIG_INSTANCE_ID_MAX, v);
    if (s->flags & SET_NO_SLASH) {
        size_t n = strlen(v);
        while (n > 0 && v[n - 1] == '/')
            v[--n] = '\0';
    }
    return 0;
}

/* Stores the setting's value (from the environment, else its default) into cfg. */
static int load_setting(config_t *cfg, const setting_t *s, char *err, size_t err_len)
{
    const char *v = env(s->name);
    if (!v)
        v = s->def;
    void *field = (char *)cfg + s->field;
    if (s->flags & SET_OWN_PARSER)
        return 0;
    if (!v) {
        if (s->flags & SET_CORES) {
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            *(int *)field = cores < 1 ? 1 : (int)(cores > s->max ? s->max : cores);
        }
        return 0; /* zeroed: NULL string */
    }
    long long n = 0; /* set by parse_whole when it succeeds */
    switch (s->kind) {
    case SET_STR: {
        char *copy = strdup(v);
        if (!copy)
            return errmsg_fail(err, err_len, "out of memory");
        *(char **)field = copy; /* config_free releases it even when the check fails */
        return check_string(s, copy, err, err_len);
    }
    case SET_INT:
        if (parse_whole(s, v, &n, err, err_len) != 0)
            return -1;
        *(int *)field = (int)n;
        return 0;
    case SET_SIZE:
        if (parse_whole(s, v, &n, err, err_len) != 0)
            return -1;
        *(size_t *)field = (size_t)n;
        return 0;
    case SET_NUM: return parse_number(s, v, (double *)field, err, err_len);
    case SET_BOOL: return parse_flag(s, v, (bool *)field, err, err_len);
    case SET_CHOICE: return parse_choice(s, v, (int *)field, err, err_len);
    }
    return 0;
}

/* CRAFTKIT_LISTEN: "port", ":port" or "host:port". */
static int parse_listen(config_t *cfg, char *err, size_t err_len)
{
    const char *v = env("CRAFTKIT_LISTEN");
    if (!v)
        v = settings[0].def;
    const char *colon = strrchr(v, ':');
    const char *port = colon ? colon + 1 : v;
    char *end;
    long n = strtol(port, &end, 10);
    if (*port == '\0' || *end || n < 0 || n > 65535)
        return errmsg_fail(err, err_len, "CRAFTKIT_LISTEN must be host:port or port (got \"%s\")", v);
    cfg->listen_port = (int)n;
    if (colon && colon != v)
        cfg->listen_host = strndup(v, (size_t)(colon - v));
    else
        cfg->listen_host = strdup("0.0.0.0");
    return 0;
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
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (load_setting(cfg, &settings[i], err, err_len) != 0)
            goto fail;
    if (parse_listen(cfg, err, err_len) != 0)
        goto fail;
    if (cfg->body_buffer_max < cfg->max_body) {
        errmsg_fail(err, err_len, "CRAFTKIT_BODY_BUFFER_MAX (%zu) must be at least CRAFTKIT_MAX_BODY (%zu)",
                    cfg->body_buffer_max, cfg->max_body);
        goto fail;
    }
    if (!cfg->public_url) {
        char tmp[128];
        snprintf(tmp, sizeof tmp, "http://localhost:%d", cfg->listen_port);
        cfg->public_url = strdup(tmp);
    }
    if (cfg->storage == STORAGE_S3) {
        const char *missing = !cfg->s3_endpoint            ? "S3_ENDPOINT"
                              : !cfg->s3_bucket            ? "S3_BUCKET"
                              : !cfg->s3_access_key_id     ? "S3_ACCESS_KEY_ID"
                              : !cfg->s3_secret_access_key ? "S3_SECRET_ACCESS_KEY"
                                                           : NULL;
        if (missing) {
            errmsg_fail(err, err_len, "%s is required when CRAFTKIT_STORAGE=s3", missing);
            goto fail;
        }
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
    free(cfg->listen_host);
    cfg->listen_host = NULL;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const setting_t *s = &settings[i];
        if (s->kind == SET_STR && !(s->flags & SET_OWN_PARSER)) {
            char **field = (char **)((char *)cfg + s->field);
            free(*field);
            *field = NULL;
        }
    }
}
