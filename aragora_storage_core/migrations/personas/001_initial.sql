CREATE TABLE personas (
    agent_name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    traits TEXT NOT NULL DEFAULT '[]',
    expertise TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
