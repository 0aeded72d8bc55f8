-- Share links, webhooks, and monthly usage totals of pruned raw events.
CREATE TABLE share_links (
    token TEXT PRIMARY KEY,
    debate_id TEXT NOT NULL,
    org_id TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    max_views INTEGER,
    view_count INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_share_links_debate ON share_links(debate_id);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT,
    events TEXT NOT NULL DEFAULT '[]',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_triggered_at TEXT,
    failure_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_webhooks_org ON webhooks(org_id);

CREATE TABLE usage_monthly (
    org_id TEXT NOT NULL,
    month TEXT NOT NULL,
    event_type TEXT NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (org_id, month, event_type)
);
-- migrate:down
DROP TABLE usage_monthly;
DROP TABLE webhooks;
DROP TABLE share_links;
