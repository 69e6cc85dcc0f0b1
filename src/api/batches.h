/*
 * batches (API) — POST /v1/templates/:slug/batches, GET /v1/batches[/:id] and
 * POST /v1/batches/:id/cancel (issue 22; docs/api.md, "Batches").
 *
 * A submission is: shape → (Idempotency-Key taken? replay or 409) → one rate-limit token →
 * resolve the version → check every item with the render's own check (api_render_check_data:
 * manifest, e-invoice, filename), problems at items.<index>.… → nothing created when any item
 * is invalid, unless options.skipInvalid → one transaction inserting the batch and its items
 * (multi-row INSERTs) → LPUSH of the ids onto the low-priority batch list (pipelined, 1,000
 * per push) → 202. Each item is an ordinary render; the worker settles the batch after its last
 * item (worker/render_job.h), the sweeper when that worker died first.
 * Threads: MHD pool threads. Memory: everything belongs to the request.
 */
#ifndef CRAFTKIT_API_BATCHES_H
#define CRAFTKIT_API_BATCHES_H

void api_batches_routes(void);

#endif
