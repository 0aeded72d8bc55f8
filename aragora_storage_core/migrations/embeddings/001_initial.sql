-- debate_embeddings.db: Debate embeddings (the application's tables; own DDL).
CREATE TABLE embeddings (
    id TEXT PRIMARY KEY NOT NULL,
    text_hash TEXT,
    text TEXT,
    embedding BLOB NOT NULL,
    provider TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE embeddings;
