/*
 * webhook — what an outgoing webhook is made of: event names, the body, its signature and the
 * retry schedule. Pure functions; the delivery itself is worker/dispatcher.
 *
 * Signatures: x-craftkit-signature-v2 is the lowercase hex HMAC-SHA256 of
 * "<x-craftkit-timestamp>.<exact raw body>", keyed with the subscription's secret (the whole
 * "whsec_…" string), so a captured delivery cannot be replayed under a fresh timestamp. The
 * body-only x-craftkit-signature is still sent during a transition (docs/api.md).
 * During the 24 h after a secret rotation the previous secret signs too (…-previous headers),
 * so receivers can switch at their own pace. Inbound hooks accept the same two forms.
 * Threads: any. Memory: webhook_payload returns a malloc'd string the caller frees.
 * webhook_push_deliveries is the one function with I/O (Redis, and Postgres when Redis refuses).
 */
#ifndef CRAFTKIT_WEBHOOKS_WEBHOOK_H
#define CRAFTKIT_WEBHOOKS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "db/batches_repo.h"
#include "db/renders_repo.h"

#define WEBHOOK_EVENT_SUCCEEDED "render.succeeded"
#define WEBHOOK_EVENT_FAILED "render.failed"
#define WEBHOOK_EVENT_CANCELLED "render.cancelled"
#define WEBHOOK_EVENT_BATCH_COMPLETED "batch.completed" /* a batch settled, not failed (issue 22) */
#define WEBHOOK_EVENT_BATCH_FAILED "batch.failed"       /* a batch settled with no item succeeded */
#define WEBHOOK_EVENTS_MAX 5                            /* events a subscription may list */
#define WEBHOOK_EVENTS_TEXT_MAX 128 /* the Postgres array literal of WEBHOOK_EVENTS_MAX names */
#define WEBHOOK_USER_AGENT "Craftkit-Webhook/1.0"
#define WEBHOOK_BACKOFF_MAX_MS (6 * 60 * 60 * 1000)

/* True for an event a subscription may ask for. */
bool webhook_event_valid(const char *event);
/* Lowercase hex HMAC-SHA256 of body keyed with secret (out: 65 bytes). */
void webhook_sign(const char *secret, const char *body, size_t len, char out[65]);
/* Lowercase hex HMAC-SHA256 of timestamp + "." + body keyed with secret (out: 65 bytes). NULL
 * when out of memory. */
char *webhook_sign_timestamped(const char *secret, const char *timestamp, const char *body, size_t len,
                               char out[65]);
/* The body for event about render (docs/api.md, "Outgoing webhooks"): {event, renderId, templateId, status, downloadUrl,
 * errorMessage, createdAt, completedAt}; download_url may be NULL. */
char *webhook_payload(const char *event, const render_row_t *render, const char *download_url);
/* The body of batch.completed / batch.failed: {event, batchId, templateId, status, total,
 * succeeded, failed, cancelled, skipped, downloadUrl, createdAt, completedAt}; download_url (the
 * merged file's link) may be NULL. */
char *webhook_batch_payload(const char *event, const batch_row_t *batch, const char *download_url);
/* Delay before attempt failed_attempts+1 (base CRAFTKIT_WEBHOOK_BACKOFF_BASE_MS, doubling,
 * jittered, at most WEBHOOK_BACKOFF_MAX_MS). */
int webhook_retry_delay_ms(int base_ms, int failed_attempts);
/* Hands the deliveries a terminal transition created to the dispatchers (Redis) and marks them
 * queued. They were created unqueued, so when Redis refuses (or this process dies first) the
 * sweeper pushes them on its next pass. Logs failures. */
void webhook_push_deliveries(db_t *db, const render_deliveries_t *dl);

#endif
