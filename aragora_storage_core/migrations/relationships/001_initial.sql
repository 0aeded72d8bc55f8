CREATE TABLE relationships (
    agent_a TEXT NOT NULL,
    agent_b TEXT NOT NULL,
    debate_count INTEGER NOT NULL DEFAULT 0,
    agreement_count INTEGER NOT NULL DEFAULT 0,
    rivalry_score REAL NOT NULL DEFAULT 0,
    alliance_score REAL NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (agent_a, agent_b)
);
