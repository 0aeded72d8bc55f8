-- debates.db: Debates (the application's tables; own DDL).
CREATE TABLE debates (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL,
    task TEXT NOT NULL,
    agents TEXT NOT NULL,
    artifact_json TEXT NOT NULL,
    consensus_reached BOOLEAN,
    confidence REAL,
    view_count INTEGER,
    audio_path TEXT,
    audio_generated_at TIMESTAMP,
    audio_duration_seconds INTEGER,
    created_at TIMESTAMP
);
-- migrate:down
DROP TABLE debates;
