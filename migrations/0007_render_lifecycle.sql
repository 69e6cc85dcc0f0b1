-- The whole life of a render (issue 16): deletion and retention keep a tombstone row, a
-- template version may name its files, a project may keep its files for fewer days, and
-- webhooks know the cancelled event.
ALTER TABLE renders ADD COLUMN deleted_at timestamptz;   -- DELETE /v1/renders/:id: file and data gone
ALTER TABLE renders ADD COLUMN expired_at timestamptz;   -- retention: file and data gone
-- The retention sweeper: terminal rows that still hold a file or data, oldest first.
CREATE INDEX renders_retention ON renders (created_at)
    WHERE deleted_at IS NULL AND expired_at IS NULL AND status IN ('succeeded', 'failed', 'cancelled');
-- GET /v1/renders?idempotencyKey= uses renders_idempotency; ?createdAfter/Before page by id.

-- A {{ }} template of the download name (e.g. "invoice-{{invoice.number}}.pdf"); NULL: <id>.pdf.
ALTER TABLE template_versions ADD COLUMN filename text CHECK (char_length(filename) BETWEEN 1 AND 500);

-- Days a project's render files and data are kept; NULL: CRAFTKIT_RETENTION_DAYS.
ALTER TABLE projects ADD COLUMN retention_days integer CHECK (retention_days BETWEEN 1 AND 36500);

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_check
    CHECK (event IN ('render.succeeded', 'render.failed', 'render.cancelled'));
