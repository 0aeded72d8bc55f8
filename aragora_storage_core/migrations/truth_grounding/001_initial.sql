-- aragora_positions.db: Position history, outcomes (the application's tables; own DDL).
CREATE TABLE position_history (
    id INTEGER PRIMARY KEY NOT NULL,
    debate_id TEXT NOT NULL,
    agent_name TEXT NOT NULL,
    position_type TEXT NOT NULL,
    position_text TEXT NOT NULL,
    round_num INTEGER,
    confidence REAL,
    was_winning_position INTEGER,
    verified_correct INTEGER,
    created_at TEXT
);

CREATE TABLE debate_outcomes (
    debate_id TEXT PRIMARY KEY NOT NULL,
    winning_agent TEXT,
    winning_position TEXT,
    consensus_confidence REAL,
    verified_at TEXT,
    verification_result INTEGER,
    verification_source TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE debate_outcomes;
DROP TABLE position_history;
