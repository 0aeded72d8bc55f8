-- consensus_memory.db: Consensus history (the application's tables; own DDL).
CREATE TABLE consensus (
    id TEXT PRIMARY KEY NOT NULL,
    topic TEXT NOT NULL,
    topic_hash TEXT,
    conclusion TEXT,
    strength TEXT,
    confidence REAL,
    domain TEXT,
    tags TEXT,
    timestamp TEXT,
    data TEXT,
    supporting_agents TEXT,
    opposing_agents TEXT,
    evidence TEXT,
    debate_ids TEXT,
    stability_score REAL,
    last_challenged_at TEXT,
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE dissent (
    id TEXT PRIMARY KEY NOT NULL,
    debate_id TEXT,
    agent_id TEXT NOT NULL,
    dissent_type TEXT,
    content TEXT,
    confidence REAL,
    timestamp TEXT,
    data TEXT,
    reasoning TEXT,
    strength REAL,
    resolved INTEGER,
    resolved_at TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE dissent;
DROP TABLE consensus;
