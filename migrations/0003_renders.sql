-- Renders: the source of truth for the queue. Redis carries only ids; a conditional UPDATE
-- (queued -> rendering) decides which worker owns a render.
CREATE TABLE renders (
    id               uuid PRIMARY KEY,             -- UUIDv7
    project_id       uuid NOT NULL REFERENCES projects (id),
    template_id      uuid NOT NULL REFERENCES templates (id),
    version_id       uuid NOT NULL REFERENCES template_versions (id),
    version_number   integer NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'rendering', 'succeeded', 'failed', 'cancelled')),
    test             boolean NOT NULL DEFAULT false,
    data             json NOT NULL,                -- normalised data
    options          json NOT NULL DEFAULT '{}',
    idempotency_key  text,
    request_hash     text,                         -- sha256 of the canonical request, for key reuse checks
    source           text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'hook')),
    filename         text NOT NULL,
    storage_key      text,
    pages            integer,
    bytes            bigint,
    sha256           text,
    attempts         integer NOT NULL DEFAULT 0,
    lease_until      timestamptz,                  -- while rendering: when the claim expires
    worker_id        text,                         -- who holds the claim
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    enqueued_at      timestamptz,                  -- last push to Redis; NULL: due for the sweeper
    error_message    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz
);
CREATE UNIQUE INDEX renders_idempotency ON renders (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Keyset listing, newest first, optionally by status or template.
CREATE INDEX renders_project_id ON renders (project_id, id DESC);
-- The sweeper: queued rows that are due, rendering rows whose lease expired.
CREATE INDEX renders_sweep ON renders (status, next_attempt_at) WHERE status IN ('queued', 'rendering');
