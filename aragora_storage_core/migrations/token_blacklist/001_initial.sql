-- JWT revocation list; rows live until the token would have expired.
CREATE TABLE token_blacklist (
    jti TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL,
    user_id TEXT,
    revoked_at TEXT NOT NULL
);
CREATE INDEX idx_token_blacklist_expires ON token_blacklist(expires_at);
