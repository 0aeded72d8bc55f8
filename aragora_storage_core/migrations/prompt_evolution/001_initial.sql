-- prompt_evolution.db: Prompt versions (the application's tables; own DDL).
CREATE TABLE prompt_versions (
    id INTEGER PRIMARY KEY NOT NULL,
    prompt_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    parent_version INTEGER,
    fitness_score REAL,
    usage_count INTEGER,
    success_rate REAL,
    metadata TEXT,
    created_at TEXT
);

CREATE TABLE evolution_history (
    id INTEGER PRIMARY KEY NOT NULL,
    prompt_name TEXT NOT NULL,
    from_version INTEGER NOT NULL,
    to_version INTEGER NOT NULL,
    mutation_type TEXT,
    fitness_delta REAL,
    created_at TEXT
);

CREATE TABLE extracted_patterns (
    id INTEGER PRIMARY KEY NOT NULL,
    source_type TEXT NOT NULL,
    source_id TEXT,
    pattern_text TEXT NOT NULL,
    pattern_type TEXT,
    frequency INTEGER,
    effectiveness_score REAL,
    embedding BLOB,
    created_at TEXT
);
-- migrate:down
DROP TABLE extracted_patterns;
DROP TABLE evolution_history;
DROP TABLE prompt_versions;
