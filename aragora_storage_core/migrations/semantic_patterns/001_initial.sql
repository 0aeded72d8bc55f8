-- semantic_patterns.db: Semantic patterns (the application's tables; own DDL).
CREATE TABLE semantic_embeddings (
    id TEXT PRIMARY KEY NOT NULL,
    text_hash TEXT,
    text TEXT,
    embedding BLOB,
    provider TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE semantic_embeddings;
