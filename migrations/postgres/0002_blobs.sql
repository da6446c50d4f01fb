-- Uploaded originals and extracted texts, when no object store is
-- configured: every replica reads them from here.
CREATE TABLE blobs (
    name text PRIMARY KEY,
    data bytea NOT NULL
);
