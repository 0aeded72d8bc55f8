-- agent_memories.db: Agent memories (the application's tables; own DDL).
CREATE TABLE memories (
    id TEXT PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    content TEXT NOT NULL,
    context TEXT,
    importance REAL,
    decay_rate REAL,
    embedding BLOB,
    debate_id TEXT,
    created_at TEXT,
    expires_at TEXT
);

CREATE TABLE reflection_schedule (
    id INTEGER PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    reflection_type TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    completed_at TEXT,
    memory_ids TEXT,
    result TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE reflection_schedule;
DROP TABLE memories;
