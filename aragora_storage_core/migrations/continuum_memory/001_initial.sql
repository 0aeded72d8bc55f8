-- continuum.db: Continuum memory tiers (the application's tables; own DDL).
CREATE TABLE continuum_memory (
    id TEXT PRIMARY KEY NOT NULL,
    tier TEXT NOT NULL,
    content TEXT NOT NULL,
    importance REAL,
    surprise_score REAL,
    consolidation_score REAL,
    update_count INTEGER,
    success_count INTEGER,
    failure_count INTEGER,
    semantic_centroid BLOB,
    last_promotion_at TEXT,
    expires_at TEXT,
    metadata TEXT,
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE tier_transitions (
    id INTEGER PRIMARY KEY NOT NULL,
    memory_id TEXT NOT NULL,
    from_tier TEXT NOT NULL,
    to_tier TEXT NOT NULL,
    reason TEXT,
    surprise_score REAL,
    created_at TEXT
);

CREATE TABLE continuum_memory_archive (
    id TEXT PRIMARY KEY NOT NULL,
    tier TEXT NOT NULL,
    content TEXT NOT NULL,
    importance REAL,
    surprise_score REAL,
    consolidation_score REAL,
    update_count INTEGER,
    success_count INTEGER,
    failure_count INTEGER,
    semantic_centroid BLOB,
    created_at TEXT,
    updated_at TEXT,
    archived_at TEXT,
    archive_reason TEXT,
    metadata TEXT
);

CREATE TABLE meta_learning_state (
    id INTEGER PRIMARY KEY NOT NULL,
    hyperparams TEXT NOT NULL,
    learning_efficiency REAL,
    pattern_retention_rate REAL,
    forgetting_rate REAL,
    cycles_evaluated INTEGER,
    created_at TEXT
);
-- migrate:down
DROP TABLE meta_learning_state;
DROP TABLE continuum_memory_archive;
DROP TABLE tier_transitions;
DROP TABLE continuum_memory;
