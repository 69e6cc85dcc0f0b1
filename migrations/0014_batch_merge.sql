-- Batches (issue 22), 0014: merged output (options.merge "pdf" | "zip"). Once every item of
-- such a batch is terminal, one worker claims the merge (merge_lease_until, counted in
-- merge_attempts), writes the merged file to storage under a key of its own
-- (batches/<project>/<batch>/merged.<ext>, so a retry overwrites rather than adds) and
-- records merge_key, or merge_error once BATCHMERGE_ATTEMPTS tries failed; only then is the
-- batch settled (completed_at, status, webhooks). A worker killed while merging leaves the
-- lease to expire and the sweeper's pass for open batches runs the merge again.
ALTER TABLE batches ADD COLUMN merge text NOT NULL DEFAULT 'none' CHECK (merge IN ('none', 'pdf', 'zip'));
ALTER TABLE batches ADD COLUMN merge_filename text;          -- the download name of the merged file
ALTER TABLE batches ADD COLUMN merge_key text;               -- set once the merged file is stored
ALTER TABLE batches ADD COLUMN merge_bytes bigint;
ALTER TABLE batches ADD COLUMN merge_pages integer;          -- "pdf": pages of the merged file
ALTER TABLE batches ADD COLUMN merge_error text;             -- set when the merge gave up
ALTER TABLE batches ADD COLUMN merge_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN merge_lease_until timestamptz; -- a worker is merging until then
