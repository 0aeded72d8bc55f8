-- traces.db: Debate traces (the application's tables; own DDL).
CREATE TABLE traces (
    trace_id TEXT PRIMARY KEY NOT NULL,
    debate_id TEXT,
    task TEXT,
    agents TEXT,
    random_seed INTEGER,
    checksum TEXT,
    trace_json TEXT,
    started_at TEXT,
    completed_at TEXT
);

CREATE TABLE trace_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    trace_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    round_num INTEGER,
    agent TEXT,
    content TEXT,
    timestamp TEXT
);
-- migrate:down
DROP TABLE trace_events;
DROP TABLE traces;
