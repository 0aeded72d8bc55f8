CREATE TABLE insights (
    id TEXT PRIMARY KEY,
    debate_id TEXT,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    confidence REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_insights_category ON insights(category);
