CREATE TABLE calibration_predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent TEXT NOT NULL,
    confidence REAL NOT NULL,
    correct INTEGER NOT NULL,
    domain TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_calibration_agent ON calibration_predictions(agent);
