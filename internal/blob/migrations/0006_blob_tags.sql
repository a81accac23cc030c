-- Blob index tags. The blob's (or snapshot's) tags are a JSON object in its
-- row, read with the row; blob_tags indexes the tags of base blobs for Find
-- Blobs by Tags. Triggers keep the index equal to the rows, whichever
-- statement writes them (INSERT OR REPLACE, UPDATE OF tags, DELETE), so no
-- code path can forget it. INSERT OR REPLACE fires no DELETE trigger for the
-- row it replaces, so the INSERT trigger drops the old entries first.
--
-- This migration is independent of 0005 (page blobs, another branch): the
-- runner applies every file not yet recorded, in name order, so a database
-- that has 0006 without 0005 takes 0005 later.
ALTER TABLE blobs ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';

CREATE TABLE blob_tags (
	account   TEXT NOT NULL,
	container TEXT NOT NULL,
	name      TEXT NOT NULL,
	key       TEXT NOT NULL,
	value     TEXT NOT NULL,
	PRIMARY KEY (account, container, name, key)
) WITHOUT ROWID;
-- Equality on a tag: rows of one key and value, in (container, name) order.
CREATE INDEX blob_tags_by_value ON blob_tags (account, key, value, container, name);
-- A range on a tag: rows of one key in (container, name) order, the value
-- compared in the index.
CREATE INDEX blob_tags_by_name ON blob_tags (account, key, container, name, value);

CREATE TRIGGER blob_tags_insert AFTER INSERT ON blobs WHEN NEW.snapshot = '' BEGIN
	DELETE FROM blob_tags WHERE account = NEW.account AND container = NEW.container AND name = NEW.name;
	INSERT INTO blob_tags (account, container, name, key, value)
		SELECT NEW.account, NEW.container, NEW.name, j.key, j.value FROM json_each(NEW.tags) AS j;
END;

CREATE TRIGGER blob_tags_update AFTER UPDATE OF tags ON blobs WHEN NEW.snapshot = '' BEGIN
	DELETE FROM blob_tags WHERE account = NEW.account AND container = NEW.container AND name = NEW.name;
	INSERT INTO blob_tags (account, container, name, key, value)
		SELECT NEW.account, NEW.container, NEW.name, j.key, j.value FROM json_each(NEW.tags) AS j;
END;

CREATE TRIGGER blob_tags_delete AFTER DELETE ON blobs WHEN OLD.snapshot = '' BEGIN
	DELETE FROM blob_tags WHERE account = OLD.account AND container = OLD.container AND name = OLD.name;
END;
