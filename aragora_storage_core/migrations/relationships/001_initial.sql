-- agent_relationships.db: Agent relationships (the application's tables; own DDL).
CREATE TABLE agent_relationships (
    agent_a TEXT NOT NULL,
    agent_b TEXT NOT NULL,
    debate_count INTEGER,
    agreement_count INTEGER,
    critique_count_a_to_b INTEGER,
    critique_count_b_to_a INTEGER,
    critique_accepted_a_to_b INTEGER,
    critique_accepted_b_to_a INTEGER,
    position_changes_a_after_b INTEGER,
    position_changes_b_after_a INTEGER,
    a_wins_over_b INTEGER,
    b_wins_over_a INTEGER,
    updated_at TEXT,
    PRIMARY KEY (agent_a, agent_b)
);
-- migrate:down
DROP TABLE agent_relationships;
