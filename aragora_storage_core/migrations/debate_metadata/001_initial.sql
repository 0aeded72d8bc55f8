-- aragora_debates.db: Debate configuration metadata (the application's tables; own DDL).
CREATE TABLE debate_metadata (
    debate_id TEXT PRIMARY KEY NOT NULL,
    config_hash TEXT,
    task_hash TEXT,
    metadata_json TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE debate_metadata;
