-- tournaments.db: Tournaments (the application's tables; own DDL).
CREATE TABLE tournaments (
    tournament_id TEXT PRIMARY KEY NOT NULL,
    name TEXT,
    format TEXT,
    agents TEXT,
    tasks TEXT,
    standings TEXT,
    champion TEXT,
    started_at TEXT,
    completed_at TEXT
);

CREATE TABLE tournament_matches (
    match_id TEXT PRIMARY KEY NOT NULL,
    tournament_id TEXT NOT NULL,
    round_num INTEGER,
    participants TEXT,
    task_id TEXT,
    scores TEXT,
    winner TEXT,
    started_at TEXT,
    completed_at TEXT
);
-- migrate:down
DROP TABLE tournament_matches;
DROP TABLE tournaments;
