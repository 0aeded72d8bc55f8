-- agent_elo.db: Agent ELO rankings (the application's tables; own DDL).
CREATE TABLE ratings (
    agent_name TEXT PRIMARY KEY NOT NULL,
    elo REAL,
    domain_elos TEXT,
    wins INTEGER,
    losses INTEGER,
    draws INTEGER,
    debates_count INTEGER,
    critiques_accepted INTEGER,
    critiques_total INTEGER,
    calibration_correct INTEGER,
    calibration_total INTEGER,
    calibration_brier_sum REAL,
    updated_at TEXT
);

CREATE TABLE matches (
    id INTEGER PRIMARY KEY NOT NULL,
    debate_id TEXT,
    winner TEXT,
    participants TEXT,
    domain TEXT,
    scores TEXT,
    elo_changes TEXT,
    created_at TEXT
);

CREATE TABLE elo_history (
    id INTEGER PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    elo REAL NOT NULL,
    debate_id TEXT,
    created_at TEXT
);

CREATE TABLE calibration_predictions (
    id INTEGER PRIMARY KEY NOT NULL,
    tournament_id TEXT NOT NULL,
    predictor_agent TEXT NOT NULL,
    predicted_winner TEXT NOT NULL,
    confidence REAL NOT NULL,
    actual_winner TEXT,
    resolved_at TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE calibration_predictions;
DROP TABLE elo_history;
DROP TABLE matches;
DROP TABLE ratings;
