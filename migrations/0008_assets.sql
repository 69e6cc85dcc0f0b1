-- Brand assets: fonts and images a project uploads (POST /v1/assets) and its layouts use.
-- The bytes live in storage under assets/<project>/<id>; this row is the truth about them.
-- An upload is written in three steps so that nothing is ever half-stored: the row is inserted
-- as 'pending', the object is written, then the row becomes 'ready' (only those are listed or
-- used). 'gone' rows had their object removed. The object of a row that stays pending (a crash
-- in between), is deleted, or was replaced and no version uses it is removed by the project's
-- next upload or delete (db/assets_repo: assets_collect).
CREATE TABLE assets (
    id            uuid PRIMARY KEY,
    project_id    uuid NOT NULL REFERENCES projects (id),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    kind          text NOT NULL CHECK (kind IN ('font', 'image')),
    media_type    text NOT NULL,
    bytes         bigint NOT NULL CHECK (bytes > 0),
    sha256        text NOT NULL CHECK (char_length(sha256) = 64),
    storage_key   text NOT NULL,
    meta          json NOT NULL,                 -- font: {family, style, weight, stretch, glyphs}; image: {width, height}
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'gone')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    replaced_at   timestamptz,                   -- a later upload took the name (kept for published versions)
    deleted_at    timestamptz
);
-- A name is unique among a project's current assets; re-uploading it replaces the row.
CREATE UNIQUE INDEX assets_name_live ON assets (project_id, name)
    WHERE state = 'ready' AND deleted_at IS NULL AND replaced_at IS NULL;
CREATE INDEX assets_project_list ON assets (project_id, id DESC) WHERE deleted_at IS NULL AND replaced_at IS NULL;
CREATE INDEX assets_collectable ON assets (project_id) WHERE state <> 'gone' AND (state = 'pending' OR deleted_at IS NOT NULL OR replaced_at IS NOT NULL);

-- Which asset bytes a template version used (recorded when it is saved), so that a published
-- version keeps rendering with them after the name is re-uploaded, and DELETE can refuse.
CREATE TABLE template_version_assets (
    version_id  uuid NOT NULL REFERENCES template_versions (id),
    asset_id    uuid NOT NULL REFERENCES assets (id),
    PRIMARY KEY (version_id, asset_id)
);
CREATE INDEX template_version_assets_asset ON template_version_assets (asset_id);
