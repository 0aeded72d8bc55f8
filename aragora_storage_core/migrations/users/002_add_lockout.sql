-- Account lockout and activity fields (the seed's migration 002).
ALTER TABLE users ADD COLUMN locked_until TEXT;
ALTER TABLE users ADD COLUMN failed_login_count INTEGER DEFAULT 0;
ALTER TABLE users ADD COLUMN lockout_reason TEXT;
ALTER TABLE users ADD COLUMN last_activity_at TEXT;
ALTER TABLE users ADD COLUMN last_debate_at TEXT;
-- migrate:down
ALTER TABLE users DROP COLUMN last_debate_at;
ALTER TABLE users DROP COLUMN last_activity_at;
ALTER TABLE users DROP COLUMN lockout_reason;
ALTER TABLE users DROP COLUMN failed_login_count;
ALTER TABLE users DROP COLUMN locked_until;
