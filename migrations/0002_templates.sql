-- Templates and their immutable versions. Manifests and layouts are stored as `json` (not
-- jsonb) so they come back exactly as the user wrote them, key order included.
CREATE TABLE templates (
    id               uuid PRIMARY KEY,
    project_id       uuid NOT NULL REFERENCES projects (id),
    slug             text NOT NULL,
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    description      text CHECK (char_length(description) <= 280),
    current_version  integer,                      -- latest published version number; NULL: none
    inbound_token    text NOT NULL UNIQUE,
    inbound_secret   text NOT NULL,
    inbound_enforce  boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);
-- A slug is unique among a project's live templates; deleting a template frees its slug.
CREATE UNIQUE INDEX templates_slug_live ON templates (project_id, slug) WHERE deleted_at IS NULL;
CREATE INDEX templates_project_updated ON templates (project_id, updated_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE template_versions (
    id            uuid PRIMARY KEY,
    template_id   uuid NOT NULL REFERENCES templates (id),
    number        integer NOT NULL CHECK (number >= 1),
    manifest      json NOT NULL,
    layout        json NOT NULL,
    page_config   json,
    json_schema   json NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,                     -- NULL: a draft (publish: false)
    UNIQUE (template_id, number)
);
