"""The audit log and usage metering on any SQL database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aragora_storage_core.models import AuditEntry, UsageEvent, to_iso, utcnow_iso
from aragora_storage_core.sql.stores.base import SQLStore, dumps, loads
from aragora_storage_core.stores.protocols import AuditStore, UsageStore

AUDIT_COLUMNS = (
    "timestamp", "user_id", "org_id", "action", "resource_type", "resource_id", "details",
    "ip_address", "user_agent",
)


def cutoff_iso(days: int) -> str:
    """ISO text of the instant ``days`` ago; stored timestamps older than it sort lower."""
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")


def audit_row(entry: AuditEntry) -> tuple[Any, ...]:
    """The row for ``entry`` in ``AUDIT_COLUMNS`` order."""
    return (
        to_iso(entry.timestamp) or utcnow_iso(), entry.user_id, entry.org_id, entry.action,
        entry.resource_type, entry.resource_id, dumps(entry.details), entry.ip_address,
        entry.user_agent,
    )


def audit_from_row(row: tuple[Any, ...]) -> AuditEntry:
    """Build an :class:`AuditEntry` from a row in ``AUDIT_COLUMNS`` order plus ``id``."""
    ts, user_id, org_id, action, rtype, rid, details, ip, agent, entry_id = row
    return AuditEntry(action, ts, user_id, org_id, rtype, rid, loads(details), ip, agent, entry_id)


class SQLAuditStore(SQLStore, AuditStore):
    """:class:`~aragora_storage_core.stores.AuditStore` on SQL."""

    table = "audit_log"
    columns = AUDIT_COLUMNS

    def __init__(self, db: Any, retention_days: int = 90) -> None:
        super().__init__(db)
        self.retention_days = retention_days
        self._insert = self.insert_sql(returning=("id",))
        self._insert_many = self.insert_sql()
        self._select = f"SELECT {', '.join(AUDIT_COLUMNS)}, id FROM audit_log"

    def log(self, entry: AuditEntry) -> int:
        """Append one entry; return its id."""
        with self._db.transaction() as tx:
            row = tx.fetch_one(self._insert, audit_row(entry), label="audit_log.log")
        assert row is not None
        return int(row[0])

    def log_many(self, entries: Iterable[AuditEntry]) -> int:
        """Append many entries in one transaction; return how many."""
        rows = [audit_row(e) for e in entries]
        with self._db.transaction() as tx:
            return tx.execute_many(self._insert_many, rows, label="audit_log.log_many")

    def query(
        self,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries matching every given filter, newest first."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, op, value in (
            ("user_id", "=", user_id), ("org_id", "=", org_id), ("action", "=", action),
            ("timestamp", ">=", to_iso(since)), ("timestamp", "<", to_iso(until)),
        ):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = self.prepare(f"{self._select}{where} ORDER BY timestamp DESC, id DESC LIMIT ?")
        rows = self._db.fetch_all(sql, (*params, limit), "audit_log.query")
        return [audit_from_row(r) for r in rows]

    def cleanup_old_entries(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Delete entries older than the retention (``ARAGORA_AUDIT_RETENTION_DAYS``)."""
        days = self.retention_days if retention_days is None else retention_days
        return self.remove_where("timestamp < ?", (cutoff_iso(days),), dry_run=dry_run)


USAGE_COLUMNS = ("org_id", "event_type", "count", "metadata", "timestamp")


def usage_row(event: UsageEvent) -> tuple[Any, ...]:
    """The row for ``event`` in ``USAGE_COLUMNS`` order."""
    return (event.org_id, event.event_type, event.count, dumps(event.metadata),
            to_iso(event.timestamp) or utcnow_iso())


class SQLUsageStore(SQLStore, UsageStore):
    """:class:`~aragora_storage_core.stores.UsageStore` on SQL.

    Raw events older than the retention are folded into ``usage_monthly`` and deleted in
    the same transaction, so a month's total never counts an event twice or loses one.
    """

    table = "usage_events"
    columns = USAGE_COLUMNS

    def __init__(self, db: Any, retention_days: int = 90) -> None:
        super().__init__(db)
        self.retention_days = retention_days
        self._insert = self.insert_sql(returning=("id",))
        self._insert_many = self.insert_sql()
        self._totals = self.prepare(
            "SELECT event_type, SUM(count) FROM usage_events WHERE org_id = ? AND timestamp >= ?"
            " GROUP BY event_type"
        )
        self._live_months = self.prepare(
            "SELECT substr(timestamp, 1, 7), event_type, SUM(count) FROM usage_events"
            " WHERE org_id = ? GROUP BY substr(timestamp, 1, 7), event_type"
        )
        self._archived = self.prepare(
            "SELECT month, event_type, total FROM usage_monthly WHERE org_id = ?"
        )
        self._fold = self._db.dialect.upsert(
            "usage_monthly", ("org_id", "month", "event_type", "total"),
            key=("org_id", "month", "event_type"), add=("total",),
            select="SELECT org_id, substr(timestamp, 1, 7), event_type, SUM(count)"
            " FROM usage_events WHERE timestamp < ?"
            " GROUP BY org_id, substr(timestamp, 1, 7), event_type")
        self._prune = self.prepare("DELETE FROM usage_events WHERE timestamp < ?")

    def record(self, event: UsageEvent) -> int:
        """Record one event; return its id."""
        with self.unique("organization"), self._db.transaction() as tx:
            row = tx.fetch_one(self._insert, usage_row(event), label="usage_events.record")
        assert row is not None
        return int(row[0])

    def record_many(self, events: Iterable[UsageEvent]) -> int:
        """Record many events in one transaction; return how many."""
        rows = [usage_row(e) for e in events]
        with self.unique("organization"), self._db.transaction() as tx:
            return tx.execute_many(self._insert_many, rows, label="usage_events.record_many")

    def totals(self, org_id: str, since: str | None = None) -> dict[str, int]:
        """Sum of ``count`` per event type over the raw events since ``since``."""
        rows = self._db.fetch_all(self._totals, (org_id, to_iso(since) or ""),
                                  "usage_events.totals")
        return {event_type: int(total) for event_type, total in rows}

    def monthly_totals(self, org_id: str) -> dict[tuple[str, str], int]:
        """``{(YYYY-MM, event_type): total}``, archived months and live events together."""
        result: dict[tuple[str, str], int] = {}
        for query in (self._archived, self._live_months):
            for month, event_type, total in self._db.fetch_all(query, (org_id,)):
                key = (month, event_type)
                result[key] = result.get(key, 0) + int(total)
        return result

    def aggregate_and_prune(self, retention_days: int | None = None, *,
                            dry_run: bool = False) -> int:
        """Fold raw events older than the retention into monthly totals; return how many."""
        cutoff = cutoff_iso(self.retention_days if retention_days is None else retention_days)
        if dry_run:
            return self.remove_where("timestamp < ?", (cutoff,), dry_run=True)
        with self._db.transaction() as tx:
            tx.execute(self._fold, (cutoff,), label="usage_events.aggregate")
            return tx.execute(self._prune, (cutoff,), label="usage_events.prune")
