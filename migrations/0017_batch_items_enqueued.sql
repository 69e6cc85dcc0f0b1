-- Batches (issue 22): one mark for "every item of this batch was pushed to Redis" instead of
-- setting renders.enqueued_at on each item (a 10,000-row UPDATE that rewrote every item and
-- its index entries: a third of Postgres' work in accepting a 10,000-item batch). The
-- accepting request sets it after its last push; an item that was never claimed and has no
-- enqueued_at of its own counts as pushed at this time (renders_sweep_pick_batch), so until it
-- is set — a crash between the commit and the pushes — the sweeper pushes the items.
ALTER TABLE batches ADD COLUMN items_enqueued_at timestamptz;
