-- meta_learning.db: Meta-learning (the application's tables; own DDL).
CREATE TABLE meta_hyperparams (
    id INTEGER PRIMARY KEY NOT NULL,
    param_name TEXT NOT NULL,
    param_value REAL NOT NULL,
    context TEXT,
    effectiveness REAL,
    sample_size INTEGER,
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE meta_efficiency_log (
    id INTEGER PRIMARY KEY NOT NULL,
    cycle_id TEXT NOT NULL,
    learning_rate REAL,
    pattern_retention_rate REAL,
    forgetting_rate REAL,
    convergence_speed REAL,
    hyperparams_snapshot TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE meta_efficiency_log;
DROP TABLE meta_hyperparams;
