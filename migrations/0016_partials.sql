-- The partial library (issue 19): a project's named partials, blocks that every template's
-- layout may use by name ({"type": "partial", "name": "letterhead"}), so that a company header
-- is written once. Saving a template version copies the library partials its layout uses into
-- that layout ("libraryPartials"), so that replacing or deleting one here changes no saved
-- version: only versions saved afterwards see the change. `partial` is `json` (not jsonb) so
-- that it comes back exactly as written, key order included.
CREATE TABLE partials (
    id           uuid PRIMARY KEY,
    project_id   uuid NOT NULL REFERENCES projects (id),
    name         text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    description  text CHECK (char_length(description) <= 280),
    partial      json NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, name)
);
-- Listing pages go by id, newest first.
CREATE INDEX partials_project_id ON partials (project_id, id DESC);
