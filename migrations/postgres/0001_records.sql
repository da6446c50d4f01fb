-- penny's records in PostgreSQL. Each row keeps the record as JSON (data),
-- as the embedded store does, plus the columns that lookups, uniqueness
-- and ordering need.

CREATE TABLE users (
    id         text PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    data       jsonb NOT NULL
);

CREATE TABLE invites (
    code_hash  text PRIMARY KEY,
    data       jsonb NOT NULL
);

CREATE TABLE refresh_tokens (
    hash       text PRIMARY KEY,
    family_id  text NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE api_keys (
    hash       text PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    user_id    text NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id, id);

CREATE TABLE chats (
    id         text PRIMARY KEY,
    user_id    text NOT NULL,
    updated_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX chats_user ON chats (user_id, updated_at DESC);

CREATE TABLE messages (
    id         text PRIMARY KEY,
    chat_id    text NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX messages_chat ON messages (chat_id, id);
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE documents (
    id         text PRIMARY KEY,
    owner_id   text NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX documents_owner ON documents (owner_id, id DESC);

-- Who besides the owner may read a document; reader '*' is everyone.
CREATE TABLE document_readers (
    document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    reader      text NOT NULL,
    PRIMARY KEY (reader, document_id)
);

CREATE TABLE chunks (
    id          text PRIMARY KEY,
    document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    data        jsonb NOT NULL,
    vector      bytea
);
CREATE INDEX chunks_document ON chunks (document_id);

CREATE TABLE ingest_jobs (
    document_id text PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    next_at     timestamptz NOT NULL,
    lease_until timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    data        jsonb NOT NULL
);
CREATE INDEX ingest_jobs_due ON ingest_jobs (created_at);

CREATE TABLE ledger (
    id         text PRIMARY KEY,
    time       timestamptz NOT NULL,
    user_id    text NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX ledger_time ON ledger (time, id);
CREATE INDEX ledger_user_time ON ledger (user_id, time, id);

CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      bytea NOT NULL
);
