-- 0019: deployments made elsewhere and only recorded here (Kudu's PUT
-- /api/deployments/{id} with a status body): history with no version.
ALTER TABLE deployments ADD COLUMN recorded INTEGER NOT NULL DEFAULT 0;
