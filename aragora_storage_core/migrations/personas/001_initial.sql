-- agent_personas.db: Personas (the application's tables; own DDL).
CREATE TABLE personas (
    agent_name TEXT PRIMARY KEY NOT NULL,
    description TEXT,
    traits TEXT,
    expertise TEXT,
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE performance_history (
    id INTEGER PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    debate_id TEXT,
    domain TEXT,
    action TEXT,
    success INTEGER,
    created_at TEXT
);
-- migrate:down
DROP TABLE performance_history;
DROP TABLE personas;
