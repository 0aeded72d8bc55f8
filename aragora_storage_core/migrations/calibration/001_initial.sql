-- agent_calibration.db: Calibration tracking (the application's tables; own DDL).
CREATE TABLE domain_calibration (
    agent_name TEXT NOT NULL,
    domain TEXT NOT NULL,
    total_predictions INTEGER,
    total_correct INTEGER,
    brier_sum REAL,
    updated_at TEXT,
    PRIMARY KEY (agent_name, domain)
);

CREATE TABLE calibration_buckets (
    agent_name TEXT NOT NULL,
    domain TEXT NOT NULL,
    bucket_key TEXT NOT NULL,
    predictions INTEGER,
    correct INTEGER,
    brier_sum REAL,
    PRIMARY KEY (agent_name, domain, bucket_key)
);

CREATE TABLE predictions (
    id INTEGER PRIMARY KEY NOT NULL,
    agent TEXT NOT NULL,
    domain TEXT,
    predicted REAL NOT NULL,
    actual REAL NOT NULL,
    bucket TEXT,
    timestamp TEXT NOT NULL
);

CREATE TABLE temperature_params (
    agent TEXT PRIMARY KEY NOT NULL,
    temperature REAL,
    domain_temperatures TEXT,
    last_tuned TEXT,
    predictions_at_tune INTEGER
);
-- migrate:down
DROP TABLE temperature_params;
DROP TABLE predictions;
DROP TABLE calibration_buckets;
DROP TABLE domain_calibration;
