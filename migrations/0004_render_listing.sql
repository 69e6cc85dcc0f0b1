-- GET /v1/renders filters by template or status and pages newest first by id (UUIDv7).
CREATE INDEX renders_project_template ON renders (project_id, template_id, id DESC);
CREATE INDEX renders_project_status ON renders (project_id, status, id DESC);
