"""The database functions the Supabase stores call through the API (``POST /rpc/<name>``).

PostgREST runs one statement shape per request; a read-modify-write that must be atomic
(a counter, a view limit, folding usage into monthly totals) or an aggregate (PostgREST
has ``SUM`` switched off by default) is a function in the database instead, run in the
request's transaction. They run as the caller (``SECURITY INVOKER``) and only the
service role may execute them. ``CREATE OR REPLACE``: applying them again is harmless.
"""

from __future__ import annotations

#: ``(signature, returns, language, body)`` of every function.
FUNCTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("aragora_record_failed_login(p_user_id text)", "integer", "sql",
     "UPDATE users SET failed_login_count = failed_login_count + 1 WHERE id = p_user_id"
     " RETURNING failed_login_count"),
    ("aragora_open_share_link(p_token text, p_now text)", "SETOF share_links", "sql",
     "UPDATE share_links SET view_count = view_count + 1 WHERE token = p_token"
     " AND revoked = 0 AND (expires_at IS NULL OR expires_at > p_now)"
     " AND (max_views IS NULL OR view_count < max_views) RETURNING *"),
    ("aragora_record_delivery(p_id text, p_success boolean, p_now text)", "integer", "sql",
     "UPDATE webhooks SET failure_count = CASE WHEN p_success THEN 0"
     " ELSE failure_count + 1 END, last_triggered_at = p_now WHERE id = p_id"
     " RETURNING failure_count"),
    ("aragora_usage_totals(p_org_id text, p_since text)",
     "TABLE(event_type text, total bigint)", "sql",
     "SELECT e.event_type, SUM(e.count)::bigint FROM usage_events e"
     " WHERE e.org_id = p_org_id AND e.timestamp >= p_since GROUP BY e.event_type"),
    ("aragora_usage_monthly(p_org_id text)",
     "TABLE(month text, event_type text, total bigint)", "sql",
     "SELECT s.m, s.t, SUM(s.n)::bigint FROM ("
     " SELECT u.month AS m, u.event_type AS t, u.total::bigint AS n FROM usage_monthly u"
     " WHERE u.org_id = p_org_id UNION ALL"
     " SELECT substr(e.timestamp, 1, 7), e.event_type, e.count::bigint FROM usage_events e"
     " WHERE e.org_id = p_org_id) s GROUP BY s.m, s.t"),
    ("aragora_aggregate_usage(p_cutoff text)", "integer", "plpgsql",
     "DECLARE pruned integer; BEGIN"
     " PERFORM pg_advisory_xact_lock(hashtext('aragora_aggregate_usage'));"
     " INSERT INTO usage_monthly (org_id, month, event_type, total)"
     " SELECT org_id, substr(timestamp, 1, 7), event_type, SUM(count) FROM usage_events"
     " WHERE timestamp < p_cutoff GROUP BY org_id, substr(timestamp, 1, 7), event_type"
     " ON CONFLICT (org_id, month, event_type)"
     " DO UPDATE SET total = usage_monthly.total + excluded.total;"
     " DELETE FROM usage_events WHERE timestamp < p_cutoff;"
     " GET DIAGNOSTICS pruned = ROW_COUNT; RETURN pruned; END"),
)
NAMES = tuple(signature.split("(", 1)[0] for signature, *_ in FUNCTIONS)


def function_statements() -> list[str]:
    """Every function created or replaced, executable by the service role only."""
    statements: list[str] = []
    for signature, returns, language, body in FUNCTIONS:
        statements += [
            f"CREATE OR REPLACE FUNCTION {signature} RETURNS {returns} LANGUAGE {language}"
            f" SECURITY INVOKER SET search_path = public AS $fn$ {body} $fn$",
            f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC, anon, authenticated",
            f"GRANT EXECUTE ON FUNCTION {signature} TO service_role",
        ]
    return statements
