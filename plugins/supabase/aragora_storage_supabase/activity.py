"""The audit log and usage metering over PostgREST; sums and the monthly fold are
database functions (PostgREST has no aggregates by default, and folding must be atomic)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aragora_storage_core.models import AuditEntry, UsageEvent, to_iso
from aragora_storage_core.sql.stores.activity import (
    AUDIT_COLUMNS,
    USAGE_COLUMNS,
    audit_from_row,
    audit_row,
    cutoff_iso,
    usage_row,
)
from aragora_storage_supabase.base import SupabaseStore


class SupabaseAuditStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.AuditStore` on ``audit_log``."""

    table = "audit_log"
    columns = (*AUDIT_COLUMNS, "id")

    def __init__(self, project: Any, retention_days: int = 90) -> None:
        super().__init__(project)
        self.retention_days = retention_days

    def log(self, entry: AuditEntry) -> int:
        """Append one entry; return its id."""
        body = dict(zip(AUDIT_COLUMNS, audit_row(entry), strict=True))
        rows = self._run(self._table("audit_log").insert(body).select("id"), "audit_log.log",
                         idempotent=False)
        return int(rows[0]["id"])

    def log_many(self, entries: Iterable[AuditEntry]) -> int:
        """Append many entries, one request (one transaction) per page of rows."""
        return self.insert([audit_row(e) for e in entries], "audit_log.log_many",
                           AUDIT_COLUMNS)

    def query(self, *, user_id: str | None = None, org_id: str | None = None,
              action: str | None = None, since: str | None = None, until: str | None = None,
              limit: int = 100) -> list[AuditEntry]:
        """Entries matching every given filter, newest first."""
        since_iso, until_iso = to_iso(since), to_iso(until)

        def build() -> Any:
            query = self.select()
            for column, value in (("user_id", user_id), ("org_id", org_id),
                                  ("action", action)):
                if value is not None:
                    query = query.eq(column, value)
            if since_iso is not None:
                query = query.gte("timestamp", since_iso)
            if until_iso is not None:
                query = query.lt("timestamp", until_iso)
            return query.order("timestamp", desc=True).order("id", desc=True)

        return [audit_from_row(r) for r in self.fetch(build, "audit_log.query", limit)]

    def cleanup_old_entries(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Delete entries older than the retention (``ARAGORA_AUDIT_RETENTION_DAYS``)."""
        days = self.retention_days if retention_days is None else retention_days
        cutoff = cutoff_iso(days)
        return self.remove(lambda q: q.lt("timestamp", cutoff), "audit_log.cleanup",
                           dry_run=dry_run)


class SupabaseUsageStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.UsageStore` on ``usage_events``.

    Raw events older than the retention are folded into ``usage_monthly`` and deleted by
    one database function, in one transaction, so a month's total never counts an event
    twice or loses one.
    """

    table = "usage_events"
    columns = USAGE_COLUMNS

    def __init__(self, project: Any, retention_days: int = 90) -> None:
        super().__init__(project)
        self.retention_days = retention_days

    def record(self, event: UsageEvent) -> int:
        """Record one event; return its id."""
        body = dict(zip(USAGE_COLUMNS, usage_row(event), strict=True))
        rows = self._run(self._table("usage_events").insert(body).select("id"),
                         "usage_events.record", idempotent=False)
        return int(rows[0]["id"])

    def record_many(self, events: Iterable[UsageEvent]) -> int:
        """Record many events, one request (one transaction) per page of rows."""
        return self.insert([usage_row(e) for e in events], "usage_events.record_many")

    def totals(self, org_id: str, since: str | None = None) -> dict[str, int]:
        """Sum of ``count`` per event type over the raw events since ``since``."""
        rows = self._project.rpc("aragora_usage_totals",
                                 {"p_org_id": org_id, "p_since": to_iso(since) or ""},
                                 "usage_events.totals", idempotent=True)
        return {row["event_type"]: int(row["total"]) for row in rows}

    def monthly_totals(self, org_id: str) -> dict[tuple[str, str], int]:
        """``{(YYYY-MM, event_type): total}``, archived months and live events together."""
        rows = self._project.rpc("aragora_usage_monthly", {"p_org_id": org_id},
                                 "usage_events.monthly_totals", idempotent=True)
        return {(r["month"], r["event_type"]): int(r["total"]) for r in rows}

    def aggregate_and_prune(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Fold raw events older than the retention into monthly totals; return how many."""
        cutoff = cutoff_iso(self.retention_days if retention_days is None else retention_days)
        if dry_run:
            return self.remove(lambda q: q.lt("timestamp", cutoff), "usage_events.count",
                               dry_run=True)
        pruned = self._project.rpc("aragora_aggregate_usage", {"p_cutoff": cutoff},
                                   "usage_events.aggregate_and_prune")
        return int(pruned or 0)
