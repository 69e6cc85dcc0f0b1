-- Batches (issue 22): many renders of one template in one request. Each item is an ordinary
-- render row carrying batch_id, so every guarantee of renders holds for it; the batch row
-- holds what belongs to the whole (the request, its idempotency key, the settled outcome).
-- Counts are read from the items (renders_batch), never kept in step by hand.
CREATE TABLE batches (
    id               uuid PRIMARY KEY,             -- UUIDv7
    project_id       uuid NOT NULL REFERENCES projects (id),
    template_id      uuid NOT NULL REFERENCES templates (id),
    version_number   integer NOT NULL,
    test             boolean NOT NULL DEFAULT false,
    -- queued until settled; then succeeded | partially_failed | failed | cancelled, once
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'succeeded', 'partially_failed', 'failed', 'cancelled')),
    total            integer NOT NULL CHECK (total >= 0),
    invalid          json NOT NULL DEFAULT '[]',   -- skipInvalid: [{index, fieldErrors}] not created
    options          json NOT NULL DEFAULT '{}',
    idempotency_key  text,
    request_hash     text,                         -- sha256 of the canonical request
    cancelled_at     timestamptz,                  -- POST /v1/batches/:id/cancel
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz                   -- set exactly once, when the last item finished
);
CREATE UNIQUE INDEX batches_idempotency ON batches (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX batches_project_id ON batches (project_id, id DESC);
-- The sweeper settles batches whose last item finished without its worker settling them.
CREATE INDEX batches_open ON batches (created_at) WHERE completed_at IS NULL;

ALTER TABLE renders ADD COLUMN batch_id uuid REFERENCES batches (id);
ALTER TABLE renders ADD COLUMN batch_index integer;  -- the item's place in the request, from 0
-- GET /v1/renders?batch=, the counts of a batch, and settling it.
CREATE INDEX renders_batch ON renders (batch_id, batch_index) WHERE batch_id IS NOT NULL;

-- batch.completed / batch.failed deliveries name a batch instead of a render.
ALTER TABLE webhook_deliveries ALTER COLUMN render_id DROP NOT NULL;
ALTER TABLE webhook_deliveries ADD COLUMN batch_id uuid REFERENCES batches (id);
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_subject_check
    CHECK ((render_id IS NULL) <> (batch_id IS NULL));
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_batch_unique UNIQUE (subscription_id, batch_id, event);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_check
    CHECK (event IN ('render.succeeded', 'render.failed', 'render.cancelled', 'batch.completed', 'batch.failed'));
