-- Blob soft delete (softdelete.go). A soft-deleted blob or snapshot keeps
-- its row, content, extents and pages under its own key, with the time it
-- was deleted (unix ns; 0 = live) and the time its retention ends
-- (deleted_time plus the policy's Days in effect when it was deleted), after
-- which it is removed for good. A name has at most one base row (snapshot
-- ''), live or soft-deleted: a write over a soft-deleted base first turns it
-- into a soft-deleted snapshot (as Azure keeps the prior state of an
-- overwritten blob), so the key stays unique.
ALTER TABLE blobs ADD COLUMN deleted_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blobs ADD COLUMN delete_expiry INTEGER NOT NULL DEFAULT 0;
CREATE INDEX blobs_delete_expiry ON blobs (delete_expiry) WHERE deleted_time > 0;

-- Find Blobs by Tags finds live base blobs only: soft-deleting a base blob
-- drops its entries and undeleting it restores them.
CREATE TRIGGER blob_tags_soft_delete AFTER UPDATE OF deleted_time ON blobs WHEN NEW.snapshot = '' BEGIN
	DELETE FROM blob_tags WHERE account = NEW.account AND container = NEW.container AND name = NEW.name;
	INSERT INTO blob_tags (account, container, name, key, value)
		SELECT NEW.account, NEW.container, NEW.name, j.key, j.value FROM json_each(NEW.tags) AS j WHERE NEW.deleted_time = 0;
END;
