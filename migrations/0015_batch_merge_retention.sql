-- Batches (issue 22), 0015: retention of the merged file. Once a settled batch's completed_at
-- is older than its project's retention_days (else CRAFTKIT_RETENTION_DAYS; 0 = forever), the
-- sweeper deletes the merged object from storage and sets merge_expired_at (merge_key stays,
-- as a render's storage_key does); the batch then shows no downloadUrl and its download
-- answers 410. The mark and the delete share one transaction that commits after the delete,
-- so a crash in between leaves the row unmarked and the next pass deletes again.
ALTER TABLE batches ADD COLUMN merge_expired_at timestamptz;
-- The retention sweeper: settled batches that still hold a merged file, oldest first.
CREATE INDEX batches_merge_retention ON batches (completed_at)
    WHERE merge_key IS NOT NULL AND merge_expired_at IS NULL AND completed_at IS NOT NULL;
