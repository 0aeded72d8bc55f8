-- suggestion_feedback.db: Suggestion feedback (the application's tables; own DDL).
CREATE TABLE suggestion_injections (
    id INTEGER PRIMARY KEY NOT NULL,
    debate_id TEXT NOT NULL,
    user_id TEXT,
    suggestion_type TEXT NOT NULL,
    content TEXT NOT NULL,
    target_agent TEXT,
    accepted INTEGER,
    impact_score REAL,
    created_at TEXT
);

CREATE TABLE contributor_stats (
    user_id TEXT PRIMARY KEY NOT NULL,
    suggestions_total INTEGER,
    suggestions_accepted INTEGER,
    acceptance_rate REAL,
    impact_score_sum REAL,
    last_contribution_at TEXT,
    created_at TEXT,
    updated_at TEXT
);
-- migrate:down
DROP TABLE contributor_stats;
DROP TABLE suggestion_injections;
