-- genesis.db: Genesis ledger / genomes (the application's tables; own DDL).
CREATE TABLE genomes (
    genome_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    traits TEXT,
    expertise TEXT,
    model_preference TEXT,
    parent_genomes TEXT,
    generation INTEGER,
    fitness_score REAL,
    birth_debate_id TEXT,
    consensus_contributions INTEGER,
    critiques_accepted INTEGER,
    predictions_correct INTEGER,
    debates_participated INTEGER,
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE populations (
    population_id TEXT PRIMARY KEY NOT NULL,
    genome_ids TEXT,
    generation INTEGER,
    debate_history TEXT,
    created_at TEXT
);

CREATE TABLE active_population (
    id INTEGER PRIMARY KEY NOT NULL,
    population_id TEXT
);

CREATE TABLE genesis_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    parent_event_id TEXT,
    content_hash TEXT NOT NULL,
    data TEXT
);
-- migrate:down
DROP TABLE genesis_events;
DROP TABLE active_population;
DROP TABLE populations;
DROP TABLE genomes;
