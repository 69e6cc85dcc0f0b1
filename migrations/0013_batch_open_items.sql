-- Batches (issue 22), 0013 (0011/0012 are reserved for the fonts and partials work): the open
-- items of a batch, so that the check "is this batch done?" run after every item costs one
-- index probe instead of a scan of the batch's items (which made a 10,000-item batch
-- quadratic: 61 renders/s in bench/api/run.sh PHASES=batch).
CREATE INDEX renders_batch_open ON renders (batch_id)
    WHERE batch_id IS NOT NULL AND status IN ('queued', 'rendering');
