-- Block blobs committed by Put Block List keep their staged blocks' files
-- as extents, in order, instead of a copy of them in one file (content.go).
-- blobs.extents counts a blob's extents; 0 means its content is in its
-- file or inline.
ALTER TABLE blobs ADD COLUMN extents INTEGER NOT NULL DEFAULT 0;
CREATE TABLE extents (
	account   TEXT NOT NULL,
	container TEXT NOT NULL,
	name      TEXT NOT NULL,
	snapshot  TEXT NOT NULL,
	off       INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	file      TEXT NOT NULL,
	PRIMARY KEY (account, container, name, snapshot, off)
) WITHOUT ROWID;
CREATE UNIQUE INDEX extents_file ON extents (file);
