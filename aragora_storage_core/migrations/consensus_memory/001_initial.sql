CREATE TABLE consensus (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    conclusion TEXT NOT NULL,
    strength TEXT NOT NULL,
    confidence REAL NOT NULL DEFAULT 0,
    participants TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);
CREATE INDEX idx_consensus_topic ON consensus(topic);
