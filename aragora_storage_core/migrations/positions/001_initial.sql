-- grounded_positions.db: Truth-grounded positions (the application's tables; own DDL).
CREATE TABLE positions (
    id TEXT PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    claim TEXT NOT NULL,
    confidence REAL NOT NULL,
    debate_id TEXT NOT NULL,
    round_num INTEGER NOT NULL,
    outcome TEXT,
    reversed INTEGER,
    reversal_debate_id TEXT,
    domain TEXT,
    created_at TEXT,
    resolved_at TEXT
);

CREATE TABLE detected_flips (
    id TEXT PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    original_claim TEXT NOT NULL,
    new_claim TEXT NOT NULL,
    original_confidence REAL,
    new_confidence REAL,
    original_debate_id TEXT,
    new_debate_id TEXT,
    original_position_id TEXT,
    new_position_id TEXT,
    similarity_score REAL,
    flip_type TEXT,
    domain TEXT,
    detected_at TEXT
);
-- migrate:down
DROP TABLE detected_flips;
DROP TABLE positions;
