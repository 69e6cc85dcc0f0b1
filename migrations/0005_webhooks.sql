-- Outgoing webhooks: subscriptions, one delivery per (subscription, render, event), and every
-- attempt of a delivery. Deliveries are created in the same statement that makes a render
-- terminal, so none is lost between the two; Redis only carries delivery ids.

-- Time-ordered ids made in SQL (Postgres 15 has no uuidv7()): 48 bits of Unix milliseconds,
-- then the random bits of a v4 UUID with the version nibble set to 7.
CREATE FUNCTION craftkit_uuid7() RETURNS uuid AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$ LANGUAGE sql VOLATILE;

CREATE TABLE webhook_subscriptions (
    id                        uuid PRIMARY KEY,
    project_id                uuid NOT NULL REFERENCES projects (id),
    url                       text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    events                    text[] NOT NULL,
    active                    boolean NOT NULL DEFAULT true,
    description               text CHECK (char_length(description) <= 280),
    secret                    text NOT NULL,
    previous_secret           text,                -- still signs (second header) until previous_expires_at
    previous_expires_at       timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    deleted_at                timestamptz
);
CREATE INDEX webhook_subscriptions_project ON webhook_subscriptions (project_id, id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT craftkit_uuid7(),  -- the x-craftkit-delivery-id, stable across retries
    subscription_id  uuid NOT NULL REFERENCES webhook_subscriptions (id),
    project_id       uuid NOT NULL REFERENCES projects (id),
    render_id        uuid NOT NULL REFERENCES renders (id),
    event            text NOT NULL CHECK (event IN ('render.succeeded', 'render.failed')),
    payload          text,                       -- the exact body sent; built at the first attempt
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivering', 'delivered', 'abandoned')),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 6,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    enqueued_at      timestamptz,                -- last push to Redis; NULL: due for the sweeper
    lease_until      timestamptz,                -- while delivering
    worker_id        text,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    completed_at     timestamptz,
    UNIQUE (subscription_id, render_id, event)
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id DESC);
CREATE INDEX webhook_deliveries_sweep ON webhook_deliveries (status, next_attempt_at)
    WHERE status IN ('pending', 'delivering');

CREATE TABLE webhook_attempts (
    delivery_id       uuid NOT NULL REFERENCES webhook_deliveries (id),
    number            integer NOT NULL,
    started_at        timestamptz NOT NULL,
    duration_ms       integer NOT NULL,
    status_code       integer,                   -- NULL: no HTTP answer (timeout, refused, ...)
    error             text,
    response_snippet  text,                      -- at most the first 1 KB of the answer
    PRIMARY KEY (delivery_id, number)
);
