-- Page blobs: the sequence number (x-ms-blob-sequence-number) of a page blob.
ALTER TABLE blobs ADD COLUMN sequence_number INTEGER NOT NULL DEFAULT 0;

-- The written pages of page blobs and of their snapshots: [start, stop)
-- with its bytes. Put Page trims or splits the rows it overlaps and adds
-- its own (cut at 64 KiB boundaries), so rows never overlap, and unwritten
-- pages (no row) read as zeros. gen names the Put Page that wrote the
-- bytes: the adjacent pieces of one write are listed as one page range,
-- and a snapshot diff tells pages rewritten since the snapshot from pages
-- that are unchanged. A rowid table: rows hold up to 64 KiB of data.
CREATE TABLE pages (
	account   TEXT NOT NULL,
	container TEXT NOT NULL,
	blob      TEXT NOT NULL,
	snapshot  TEXT NOT NULL,
	start     INTEGER NOT NULL,
	stop      INTEGER NOT NULL,
	gen       INTEGER NOT NULL,
	data      BLOB NOT NULL,
	PRIMARY KEY (account, container, blob, snapshot, start)
);
