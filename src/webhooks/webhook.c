#include "webhooks/webhook.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "core/crypto.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "db/webhooks_repo.h"
#include "queue/jobs.h"

bool webhook_event_valid(const char *event)
{
    return !strcmp(event, WEBHOOK_EVENT_SUCCEEDED) || !strcmp(event, WEBHOOK_EVENT_FAILED) ||
           !strcmp(event, WEBHOOK_EVENT_CANCELLED) || !strcmp(event, WEBHOOK_EVENT_BATCH_COMPLETED) ||
           !strcmp(event, WEBHOOK_EVENT_BATCH_FAILED);
}

void webhook_push_deliveries(db_t *db, const render_deliveries_t *dl)
{
    if (dl->n == 0)
        return;
    const char *ids[RENDER_DELIVERIES_MAX];
    for (int i = 0; i < dl->n; i++)
        ids[i] = dl->ids[i];
    char err[ERRMSG_LEN];
    if (jobs_enqueue_many(JOBS_QUEUE_WEBHOOKS, ids, dl->n, err, sizeof err) != 0)
        log_warn("cannot queue %d webhook deliveries (the sweeper will): %s", dl->n, err);
    else if (whdel_mark_enqueued(db, (char(*)[37])dl->ids, dl->n, 0, err, sizeof err) != 0)
        log_warn("cannot mark %d webhook deliveries queued (the sweeper will push them again): %s", dl->n,
                 err);
}

void webhook_sign(const char *secret, const char *body, size_t len, char out[65])
{
    crypto_hmac_sha256_hex(secret, strlen(secret), body, len, out);
}

char *webhook_sign_timestamped(const char *secret, const char *timestamp, const char *body, size_t len,
                               char out[65])
{
    size_t tl = strlen(timestamp);
    char *msg = malloc(tl + 1 + len + 1);
    if (!msg)
        return NULL;
    memcpy(msg, timestamp, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, len);
    crypto_hmac_sha256_hex(secret, strlen(secret), msg, tl + 1 + len, out);
    free(msg);
    return out;
}

char *webhook_payload(const char *event, const render_row_t *render, const char *download_url)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "renderId", json_string(render->id));
    json_object_set_new(o, "templateId", json_string(render->template_id));
    json_object_set_new(o, "status", json_string(render->status));
    json_object_set_new(o, "downloadUrl", download_url ? json_string(download_url) : json_null());
    json_object_set_new(o, "errorMessage",
                        render->has_error ? json_string(render->error_message) : json_null());
    json_object_set_new(o, "createdAt", json_string(render->created_at));
    json_object_set_new(o, "completedAt",
                        render->completed_at[0] ? json_string(render->completed_at) : json_null());
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

char *webhook_batch_payload(const char *event, const batch_row_t *batch, const char *download_url)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "batchId", json_string(batch->id));
    json_object_set_new(o, "templateId", json_string(batch->template_id));
    json_object_set_new(o, "status", json_string(batch->status));
    json_object_set_new(o, "total", json_integer(batch->total));
    json_object_set_new(o, "succeeded", json_integer(batch->succeeded));
    json_object_set_new(o, "failed", json_integer(batch->failed));
    json_object_set_new(o, "cancelled", json_integer(batch->cancelled));
    json_object_set_new(o, "skipped", json_integer((json_int_t)json_array_size(batch->invalid)));
    json_object_set_new(o, "downloadUrl", download_url ? json_string(download_url) : json_null());
    json_object_set_new(o, "createdAt", json_string(batch->created_at));
    json_object_set_new(o, "completedAt",
                        batch->completed_at[0] ? json_string(batch->completed_at) : json_null());
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

int webhook_retry_delay_ms(int base_ms, int failed_attempts)
{
    return backoff_delay_ms(base_ms, failed_attempts, WEBHOOK_BACKOFF_MAX_MS);
}
