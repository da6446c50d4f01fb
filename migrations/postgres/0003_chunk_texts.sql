-- The keyword index of scale-out mode: each chunk's heading and text as a
-- tsvector (English stemming), searched with PostgreSQL full text search.
CREATE TABLE chunk_texts (
    chunk_id    text PRIMARY KEY,
    document_id text NOT NULL,
    tsv         tsvector NOT NULL
);
CREATE INDEX chunk_texts_tsv ON chunk_texts USING gin (tsv);
CREATE INDEX chunk_texts_document ON chunk_texts (document_id);
