-- agora_memory.db: CritiqueStore patterns (CLI) (the application's tables; own DDL).
CREATE TABLE debates (
    id TEXT PRIMARY KEY NOT NULL,
    task TEXT NOT NULL,
    final_answer TEXT,
    consensus_reached INTEGER,
    confidence REAL,
    rounds_used INTEGER,
    duration_seconds REAL,
    created_at TEXT
);

CREATE TABLE critiques (
    id INTEGER PRIMARY KEY NOT NULL,
    debate_id TEXT,
    agent TEXT NOT NULL,
    target_agent TEXT,
    issues TEXT,
    suggestions TEXT,
    severity REAL,
    reasoning TEXT,
    led_to_improvement INTEGER,
    expected_usefulness REAL,
    actual_usefulness REAL,
    prediction_error REAL,
    created_at TEXT
);

CREATE TABLE patterns (
    id TEXT PRIMARY KEY NOT NULL,
    issue_type TEXT NOT NULL,
    issue_text TEXT NOT NULL,
    suggestion_text TEXT,
    success_count INTEGER,
    failure_count INTEGER,
    avg_severity REAL,
    surprise_score REAL,
    base_rate REAL,
    avg_prediction_error REAL,
    prediction_count INTEGER,
    example_task TEXT,
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE patterns_archive (
    id TEXT PRIMARY KEY,
    issue_type TEXT,
    issue_text TEXT,
    suggestion_text TEXT,
    success_count INTEGER,
    failure_count INTEGER,
    avg_severity REAL,
    surprise_score REAL,
    example_task TEXT,
    created_at TEXT,
    updated_at TEXT,
    archived_at TEXT
);

CREATE TABLE pattern_embeddings (
    pattern_id TEXT PRIMARY KEY NOT NULL,
    embedding BLOB
);

CREATE TABLE agent_reputation (
    agent_name TEXT PRIMARY KEY NOT NULL,
    proposals_made INTEGER,
    proposals_accepted INTEGER,
    critiques_given INTEGER,
    critiques_valuable INTEGER,
    total_predictions INTEGER,
    total_prediction_error REAL,
    calibration_score REAL,
    updated_at TEXT
);
-- migrate:down
DROP TABLE agent_reputation;
DROP TABLE pattern_embeddings;
DROP TABLE patterns_archive;
DROP TABLE patterns;
DROP TABLE critiques;
DROP TABLE debates;
