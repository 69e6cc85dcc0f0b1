-- Projects own everything else; API keys authenticate as a project.
CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    rate_limit  double precision CHECK (rate_limit > 0),   -- NULL: the server default
    rate_burst  integer CHECK (rate_burst > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
-- A slug is unique among live projects; deleting frees it.
CREATE UNIQUE INDEX projects_slug_live ON projects (slug) WHERE deleted_at IS NULL;

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    project_id   uuid NOT NULL REFERENCES projects (id),
    name         text NOT NULL DEFAULT '',
    prefix       text NOT NULL,                 -- display only, e.g. ck_live_aBcDe
    hash         text NOT NULL UNIQUE,          -- hex SHA-256 of the whole key; plaintext is never stored
    environment  text NOT NULL CHECK (environment IN ('live', 'test')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX api_keys_project ON api_keys (project_id, created_at);
