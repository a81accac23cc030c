-- 0003: each piece of a deployment log entry's details keeps the time it
-- arrived, so that Kudu's /log/{entry} gives every line of a build its own
-- log_time. Rows written before have none (0: the entry's time applies).
ALTER TABLE deployment_log_details ADD COLUMN time INTEGER NOT NULL DEFAULT 0;
