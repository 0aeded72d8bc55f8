CREATE TABLE persona_experiments (
    id TEXT PRIMARY KEY,
    agent_name TEXT NOT NULL,
    variant TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    result TEXT,
    created_at TEXT NOT NULL
);
