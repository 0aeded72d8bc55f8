-- persona_lab.db: Persona experiments (the application's tables; own DDL).
CREATE TABLE experiments (
    experiment_id TEXT PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    control_persona TEXT NOT NULL,
    variant_persona TEXT NOT NULL,
    hypothesis TEXT,
    status TEXT,
    control_successes INTEGER,
    control_trials INTEGER,
    variant_successes INTEGER,
    variant_trials INTEGER,
    created_at TEXT,
    completed_at TEXT
);

CREATE TABLE emergent_traits (
    id INTEGER PRIMARY KEY NOT NULL,
    trait_name TEXT NOT NULL,
    source_agents TEXT NOT NULL,
    supporting_evidence TEXT,
    confidence REAL,
    first_detected TEXT
);

CREATE TABLE trait_transfers (
    id INTEGER PRIMARY KEY NOT NULL,
    from_agent TEXT NOT NULL,
    to_agent TEXT NOT NULL,
    trait TEXT NOT NULL,
    expertise_domain TEXT,
    success_rate_before REAL,
    success_rate_after REAL,
    transferred_at TEXT
);

CREATE TABLE agent_evolution_history (
    id INTEGER PRIMARY KEY NOT NULL,
    agent_name TEXT NOT NULL,
    mutation_type TEXT NOT NULL,
    before_state TEXT NOT NULL,
    after_state TEXT NOT NULL,
    reason TEXT,
    created_at TEXT
);
-- migrate:down
DROP TABLE agent_evolution_history;
DROP TABLE trait_transfers;
DROP TABLE emergent_traits;
DROP TABLE experiments;
