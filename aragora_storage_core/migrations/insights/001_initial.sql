-- aragora_insights.db: Insights and analytics (the application's tables; own DDL).
CREATE TABLE insights (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    confidence REAL,
    debate_id TEXT NOT NULL,
    agents_involved TEXT,
    evidence TEXT,
    metadata TEXT,
    created_at TEXT
);

CREATE TABLE debate_summaries (
    debate_id TEXT PRIMARY KEY NOT NULL,
    topic TEXT,
    summary TEXT,
    key_arguments TEXT,
    consensus_reached INTEGER,
    final_positions TEXT,
    duration_seconds REAL,
    rounds_completed INTEGER,
    created_at TEXT
);

CREATE TABLE pattern_clusters (
    id INTEGER PRIMARY KEY NOT NULL,
    cluster_name TEXT NOT NULL,
    pattern_type TEXT NOT NULL,
    centroid BLOB,
    member_count INTEGER,
    sample_patterns TEXT,
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE agent_performance_history (
    id INTEGER PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    metric_value REAL NOT NULL,
    period TEXT,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    sample_size INTEGER,
    created_at TEXT
);
-- migrate:down
DROP TABLE agent_performance_history;
DROP TABLE pattern_clusters;
DROP TABLE debate_summaries;
DROP TABLE insights;
