-- Nomic loop state: the Supabase tables of the seed.
CREATE TABLE nomic_cycles (
    loop_id TEXT NOT NULL,
    cycle_number INTEGER NOT NULL,
    phase TEXT NOT NULL,
    stage TEXT NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT,
    success INTEGER,
    git_commit TEXT,
    task_description TEXT,
    total_tasks INTEGER NOT NULL DEFAULT 0,
    completed_tasks INTEGER NOT NULL DEFAULT 0,
    error_message TEXT,
    PRIMARY KEY (loop_id, cycle_number)
);

CREATE TABLE debate_artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    loop_id TEXT NOT NULL,
    cycle_number INTEGER NOT NULL,
    phase TEXT NOT NULL,
    task TEXT NOT NULL,
    agents TEXT NOT NULL,
    transcript TEXT NOT NULL,
    consensus_reached INTEGER NOT NULL,
    confidence REAL NOT NULL,
    winning_proposal TEXT,
    vote_tally TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_debate_artifacts_cycle ON debate_artifacts(loop_id, cycle_number);

CREATE TABLE stream_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    loop_id TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    event_data TEXT NOT NULL,
    agent TEXT,
    timestamp TEXT NOT NULL
);
CREATE INDEX idx_stream_events_loop ON stream_events(loop_id, id);

CREATE TABLE agent_metrics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    loop_id TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    agent TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    recorded_at TEXT NOT NULL
);
CREATE INDEX idx_agent_metrics_agent ON agent_metrics(agent, recorded_at);
CREATE INDEX idx_agent_metrics_loop ON agent_metrics(loop_id);

CREATE TABLE nomic_rollbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    loop_id TEXT NOT NULL,
    cycle_number INTEGER NOT NULL,
    reason TEXT NOT NULL,
    from_commit TEXT,
    to_commit TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE cycle_evolution (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    loop_id TEXT NOT NULL,
    cycle_number INTEGER NOT NULL,
    summary TEXT,
    files_changed INTEGER NOT NULL DEFAULT 0,
    lines_added INTEGER NOT NULL DEFAULT 0,
    lines_removed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE cycle_file_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    loop_id TEXT NOT NULL,
    cycle_number INTEGER NOT NULL,
    file_path TEXT NOT NULL,
    change_type TEXT NOT NULL,
    lines_added INTEGER NOT NULL DEFAULT 0,
    lines_removed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_cycle_file_changes_cycle ON cycle_file_changes(loop_id, cycle_number);
