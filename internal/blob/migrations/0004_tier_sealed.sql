-- The blob's explicitly set access tier (Hot, Cool, Cold, Archive); '' means inferred Hot.
ALTER TABLE blobs ADD COLUMN access_tier TEXT NOT NULL DEFAULT '';
-- Whether an append blob is sealed (Seal Append Blob): no more appends.
ALTER TABLE blobs ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
