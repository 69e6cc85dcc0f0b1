/*
 * webhooks_repo — webhook subscriptions, deliveries and their attempts in Postgres.
 *
 * Subscriptions belong to a project (another project's is REPO_NOT_FOUND) and are soft
 * deleted. A delivery is one (subscription, render, event); it is created by the statement
 * that makes the render terminal (renders_repo), claimed by a dispatcher with a conditional
 * UPDATE and a lease (so a delivery id in Redis twice is attempted once at a time), and every
 * attempt is recorded with its outcome in one statement. Its id is the x-craftkit-delivery-id
 * and never changes, also across retries and redeliveries.
 *
 * JSON results are new references in the API's shape. Threads: any, with the caller's db.
 */
#ifndef CRAFTKIT_DB_WEBHOOKS_REPO_H
#define CRAFTKIT_DB_WEBHOOKS_REPO_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "db/repo.h"

#define WEBHOOK_MAX_SUBSCRIPTIONS 100 /* per project: bounds the fan-out of one render */
#define WEBHOOK_URL_MAX 2048
#define WEBHOOK_SECRET_MAX 64
#define WEBHOOK_SNIPPET_MAX 1024 /* bytes of a receiver's answer kept per attempt */
#define WEBHOOK_ERROR_MAX 500
#define WEBHOOK_MAX_ATTEMPTS 6 /* 6 attempts in all, then abandoned (docs/api.md, "Deliveries") */
#define WEBHOOK_PREVIOUS_SECRET_HOURS 24
#define WEBHOOK_DELIVERIES_PAGE_MAX 100

/* Subscriptions. events_array is a Postgres array literal of validated event names, e.g.
 * "{render.succeeded,render.failed}". create and rotate return the secret in (*out)["secret"]
 * (the only time it is shown); REPO_CONFLICT from create: the project has
 * WEBHOOK_MAX_SUBSCRIPTIONS already. */
REPO_MUST_USE repo_status_t whsub_create(db_t *db, const char *project_id, const char *url,
                                         const char *events_array, bool active, const char *description,
                                         json_t **out, char *err, size_t err_len);
REPO_MUST_USE repo_status_t whsub_list(db_t *db, const char *project_id, json_t **out, char *err,
                                       size_t err_len);
REPO_MUST_USE repo_status_t whsub_get(db_t *db, const char *project_id, const char *id, json_t **out,
                                      char *err, size_t err_len);
/* NULL / negative = unchanged; clear_description sets it to null. */
REPO_MUST_USE repo_status_t whsub_update(db_t *db, const char *project_id, const char *id, const char *url,
                                         const char *events_array, int active, const char *description,
                                         bool clear_description, json_t **out, char *err, size_t err_len);
REPO_MUST_USE repo_status_t whsub_delete(db_t *db, const char *project_id, const char *id, json_t **out,
                                         char *err, size_t err_len);
/* A new secret; the old one keeps signing (second header) for WEBHOOK_PREVIOUS_SECRET_HOURS. */
REPO_MUST_USE repo_status_t whsub_rotate(db_t *db, const char *project_id, const char *id, json_t **out,
                                         char *err, size_t err_len);

/* One page of a subscription's deliveries, newest first, each with its attempts:
 * {"deliveries":[…],"nextCursor":…,"hasMore":…}. REPO_NOT_FOUND for an unknown subscription. */
REPO_MUST_USE repo_status_t whdel_list(db_t *db, const char *project_id, const char *sub_id,
                                       const char *cursor, int limit, json_t **out, char *err,
                                       size_t err_len);
/* Schedules one more attempt now (beyond the budget if it was used up) with a freshly built
 * body; fills *out with the delivery. REPO_NOT_FOUND when it is not this subscription's. */
REPO_MUST_USE repo_status_t whdel_redeliver(db_t *db, const char *project_id, const char *sub_id,
                                            const char *delivery_id, json_t **out, char *err, size_t err_len);
/* Records that these deliveries are in Redis. Deliveries are created (and redelivered) with
 * enqueued_at NULL, which the sweeper reads as "never pushed", and marked only after the push
 * went through: a crash or a refused push in between costs one sweep interval. Only rows still
 * pending with this many attempts (those of the push) are marked. 0 or -1. */
REPO_MUST_USE int whdel_mark_enqueued(db_t *db, char (*ids)[37], int n, int attempts, char *err,
                                      size_t err_len);

/* ---- dispatcher side ---- */

typedef struct whdel_claim {
    char id[37];
    char project_id[37];
    char render_id[37]; /* "" for a batch event */
    char batch_id[37];  /* "" for a render event */
    char event[24];
    char url[WEBHOOK_URL_MAX + 1];
    char secret[WEBHOOK_SECRET_MAX + 1];
    char previous_secret[WEBHOOK_SECRET_MAX + 1]; /* "" when none is in its grace period */
    bool subscription_live;                       /* false: paused or deleted since the delivery was made */
    int attempt; /* the number of this attempt (1-based, counting interrupted ones) */
    int max_attempts;
    char *payload; /* malloc'd; NULL until the first attempt built it */
} whdel_claim_t;

/* Claims a due delivery (pending and due, or delivering with an expired lease) for an attempt.
 * REPO_OK (release with whdel_claim_free), REPO_NOT_FOUND (nothing to do), REPO_ERROR. */
REPO_MUST_USE repo_status_t whdel_claim(db_t *db, const char *id, const char *worker_id, int lease_ms,
                                        whdel_claim_t *out, char *err, size_t err_len);
void whdel_claim_free(whdel_claim_t *c);
/* Stores the body of the first attempt (unless one is stored) and returns the stored one
 * (malloc'd) in *stored, so every attempt sends the same bytes. 0 or -1. */
REPO_MUST_USE int whdel_set_payload(db_t *db, const char *id, const char *payload, char **stored, char *err,
                                    size_t err_len);

typedef enum { WHDEL_DELIVERED, WHDEL_RETRY, WHDEL_ABANDONED } whdel_outcome_t;

typedef struct whdel_attempt {
    int64_t started_unix_ms;
    int duration_ms;
    int status_code;     /* -1: no HTTP answer */
    const char *error;   /* NULL when the receiver answered 2xx */
    const char *snippet; /* NULL or at most WEBHOOK_SNIPPET_MAX bytes (UTF-8 safe cut done here) */
} whdel_attempt_t;

/* Records the attempt and its outcome in one statement, while worker_id holds the claim.
 * retry_delay_ms is used for WHDEL_RETRY. 1, 0 (claim lost), -1 + err. */
REPO_MUST_USE int whdel_record(db_t *db, const char *id, const char *worker_id, int attempt,
                               const whdel_attempt_t *a, whdel_outcome_t outcome, int retry_delay_ms,
                               char *err, size_t err_len);
/* Hands a claimed delivery back without counting the attempt (no request was made: the
 * database failed while its body was being built), pending again in delay_ms and unqueued,
 * so the sweeper pushes it when due. 1, 0 (claim lost), -1 + err. */
REPO_MUST_USE int whdel_release(db_t *db, const char *id, const char *worker_id, int delay_ms, char *err,
                                size_t err_len);
/* The sweeper's pick, like renders_sweep_pick: due deliveries not in Redis. Count or -1. */
REPO_MUST_USE int whdel_sweep_pick(db_t *db, long long all_before_ms, char (*ids)[37], int max, char *err,
                                   size_t err_len);

#endif
