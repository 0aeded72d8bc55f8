CREATE TABLE genomes (
    genome_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    traits TEXT NOT NULL DEFAULT '{}',
    parent_genomes TEXT NOT NULL DEFAULT '[]',
    generation INTEGER NOT NULL DEFAULT 0,
    fitness_score REAL NOT NULL DEFAULT 0.5,
    created_at TEXT NOT NULL
);
