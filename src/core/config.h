/*
 * config — every setting of the server, read once from the environment at start-up.
 *
 * config_load() validates each variable and fails with a message naming the bad one; the
 * server refuses to start then. config.c's settings[] table is the one home of every name,
 * default and range. After load the struct is read-only and shared by all threads
 * through config_get(). docs/operations.md lists every setting; keep the two in step.
 * Memory: strings point into the config's own storage and live until config_free().
 */
#ifndef CRAFTKIT_CORE_CONFIG_H
#define CRAFTKIT_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_INSTANCE_ID_MAX 48 /* leaves room for ":<worker n>" in a 64-char worker id */

typedef enum {
    STORAGE_LOCAL = 0,
    STORAGE_S3 = 1
} storage_kind_t;                                  /* the order of CRAFTKIT_STORAGE's choices */
enum { CONFIG_LOG_TEXT = 0, CONFIG_LOG_JSON = 1 }; /* the order of CRAFTKIT_LOG_FORMAT's */

typedef struct config {
    char *listen_host;          /* CRAFTKIT_LISTEN host part ("0.0.0.0") */
    int listen_port;            /* CRAFTKIT_LISTEN port part (8080) */
    char *public_url;           /* CRAFTKIT_PUBLIC_URL, no trailing slash */
    char *database_url;         /* DATABASE_URL (libpq conninfo or URI) */
    char *redis_url;            /* REDIS_URL: redis://host:port[/db] or unix:///path[?db=N] */
    char *admin_key;            /* CRAFTKIT_ADMIN_KEY; NULL = admin API disabled */
    int workers;                /* CRAFTKIT_WORKERS (default: online cores) */
    int http_threads;           /* CRAFTKIT_HTTP_THREADS: request handler threads (default 8) */
    int http_io_threads;        /* CRAFTKIT_HTTP_IO_THREADS: libmicrohttpd event threads (default 2) */
    size_t max_body;            /* CRAFTKIT_MAX_BODY bytes (default 10 MiB) */
    int connection_limit;       /* CRAFTKIT_CONNECTION_LIMIT (default 1000) */
    int connection_timeout;     /* CRAFTKIT_CONNECTION_TIMEOUT seconds (default 60) */
    int connections_per_ip;     /* CRAFTKIT_CONNECTIONS_PER_IP (default 128; 0 = no cap) */
    int header_timeout_ms;      /* CRAFTKIT_HEADER_TIMEOUT_MS: whole request head, not reset per byte */
    int body_timeout_ms;        /* CRAFTKIT_BODY_TIMEOUT_MS: whole request body (default 60000) */
    size_t body_buffer_max;     /* CRAFTKIT_BODY_BUFFER_MAX: body bytes buffered across connections */
    storage_kind_t storage;     /* CRAFTKIT_STORAGE local|s3 */
    char *data_dir;             /* CRAFTKIT_DATA_DIR (default ./var/data) */
    char *signing_secret;       /* CRAFTKIT_SIGNING_SECRET; NULL = generated and kept in data_dir */
    int download_ttl;           /* CRAFTKIT_DOWNLOAD_TTL seconds (default 86400) */
    char *s3_endpoint;          /* S3_ENDPOINT (e.g. https://s3.eu-west-1.amazonaws.com) */
    char *s3_region;            /* S3_REGION (default us-east-1) */
    char *s3_bucket;            /* S3_BUCKET */
    char *s3_access_key_id;     /* S3_ACCESS_KEY_ID */
    char *s3_secret_access_key; /* S3_SECRET_ACCESS_KEY */
    bool s3_force_path_style;   /* S3_FORCE_PATH_STYLE (default false) */
    char *s3_public_base_url;   /* S3_PUBLIC_BASE_URL; NULL = pre-signed GETs */
    char *
        s3_public_endpoint; /* S3_PUBLIC_ENDPOINT: the store as clients reach it (pre-signed links); NULL = S3_ENDPOINT */
    int s3_attempts;             /* S3_ATTEMPTS (default 3): tries per storage operation */
    int s3_attempt_timeout_ms;   /* S3_ATTEMPT_TIMEOUT_MS (default 20000): one try, connect to last byte */
    int s3_connect_timeout_ms;   /* S3_CONNECT_TIMEOUT_MS (default 5000) */
    int s3_total_timeout_ms;     /* S3_TOTAL_TIMEOUT_MS (default 60000): all tries and backoff */
    int s3_part_size_mb;         /* S3_PART_SIZE_MB (default 16): larger objects go up in parts */
    double rate_limit;           /* CRAFTKIT_RATE_LIMIT requests/s per project (default 50) */
    int rate_burst;              /* CRAFTKIT_RATE_BURST (default 100) */
    bool allow_private_urls;     /* CRAFTKIT_ALLOW_PRIVATE_URLS=1 */
    int webhook_backoff_base_ms; /* CRAFTKIT_WEBHOOK_BACKOFF_BASE_MS (default 30000) */
    int webhook_timeout_ms;      /* CRAFTKIT_WEBHOOK_TIMEOUT_MS (default 15000) */
    int hook_replay_window_s;    /* CRAFTKIT_HOOK_REPLAY_WINDOW_S: inbound x-craftkit-timestamp age (300) */
    bool hook_require_timestamp; /* CRAFTKIT_HOOK_REQUIRE_TIMESTAMP=1: refuse body-only hook signatures */
    int webhook_concurrency; /* CRAFTKIT_WEBHOOK_CONCURRENCY deliveries in flight (default 32; 0 = none here) */
    int render_timeout_ms;   /* CRAFTKIT_RENDER_TIMEOUT_MS (default 120000) */
    int render_backoff_base_ms; /* CRAFTKIT_RENDER_BACKOFF_BASE_MS (default 2000) */
    int render_memory_mb;       /* CRAFTKIT_RENDER_MEMORY_MB: one render's memory budget (default 512) */
    int render_memory_total_mb; /* CRAFTKIT_RENDER_MEMORY_TOTAL_MB: all renders at once (default 2048) */
    int render_grace_ms;        /* CRAFTKIT_RENDER_GRACE_MS: renders in hand at SIGTERM (default 30000) */
    int preview_concurrency;    /* CRAFTKIT_PREVIEW_CONCURRENCY: preview renderers (default 2) */
    int preview_queue;          /* CRAFTKIT_PREVIEW_QUEUE: previews waiting for one (default 16) */
    int preview_timeout_ms;     /* CRAFTKIT_PREVIEW_TIMEOUT_MS: a preview, waiting included (default 20000) */
    int sync_timeout_ms;        /* CRAFTKIT_SYNC_TIMEOUT_MS (default 30000) */
    int batch_max_items;        /* CRAFTKIT_BATCH_MAX_ITEMS: items per batch (default 10000) */
    int batch_group_ms;         /* CRAFTKIT_BATCH_GROUP_MS: longest wait of a group (default 250) */
    int image_timeout_ms;       /* CRAFTKIT_IMAGE_TIMEOUT_MS (default 10000) */
    size_t image_max_bytes;     /* CRAFTKIT_IMAGE_MAX_BYTES (default 5 MiB) */
    int sweep_interval_ms;      /* CRAFTKIT_SWEEP_INTERVAL_MS (default 5000) */
    int retention_days;         /* CRAFTKIT_RETENTION_DAYS (default 0: keep forever) */
    int heartbeat_ttl_s;        /* CRAFTKIT_HEARTBEAT_TTL (default 30) */
    int auth_cache_ms;          /* CRAFTKIT_AUTH_CACHE_MS (default 60000; 0 = look every key up) */
    int log_format;             /* CRAFTKIT_LOG_FORMAT: CONFIG_LOG_TEXT or CONFIG_LOG_JSON */
    char *instance_id;          /* CRAFTKIT_INSTANCE_ID (default hostname:pid); [A-Za-z0-9._:-]{1,48} */
    size_t asset_font_max_bytes;  /* CRAFTKIT_ASSET_FONT_MAX_BYTES: one uploaded font (default 20 MiB) */
    size_t asset_image_max_bytes; /* CRAFTKIT_ASSET_IMAGE_MAX_BYTES: one uploaded image (default 10 MiB) */
    size_t asset_pdf_max_bytes;   /* CRAFTKIT_ASSET_PDF_MAX_BYTES: one uploaded PDF (default 20 MiB) */
    char *
        asset_cache_dir; /* CRAFTKIT_ASSET_CACHE_DIR: local copies of assets, by sha256 (./var/asset-cache) */
    int assets_max_count; /* CRAFTKIT_ASSETS_MAX_COUNT: live assets per project (default 200) */
    size_t
        assets_max_total_bytes; /* CRAFTKIT_ASSETS_MAX_TOTAL_BYTES: their bytes per project (default 200 MiB) */
    size_t
        font_cache_bytes; /* CRAFTKIT_FONT_CACHE_BYTES: uploaded fonts kept parsed per render helper (64 MiB) */
} config_t;

/* Fills cfg from the environment. Returns 0, or -1 with a message in err. */
int config_load(config_t *cfg, char *err, size_t err_len);
void config_free(config_t *cfg);
/* Publishes cfg as the process-wide configuration (call once, before threads start). */
void config_set(const config_t *cfg);
/* The process-wide configuration; NULL before config_set(). */
const config_t *config_get(void);

#endif
