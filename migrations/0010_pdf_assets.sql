-- PDF assets (issue 20): a project uploads the base PDF of a pdf-overlay template through
-- POST /v1/assets like its fonts and images; it is stored as kind 'pdf' (meta: pages, size and
-- rotation of page 1, form field count, encryption, version).
ALTER TABLE assets DROP CONSTRAINT assets_kind_check;
ALTER TABLE assets ADD CONSTRAINT assets_kind_check CHECK (kind IN ('font', 'image', 'pdf'));
