"""The seed's Supabase tables over PostgREST: nomic cycles, artifacts, events, metrics.

Each write is one HTTP request (one per page of rows for bulk writes), which PostgREST
runs as one transaction; lists and reads page until the end (:mod:`.base`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from postgrest.types import ReturnMethod

from aragora_storage_core.columns import ColumnCipher
from aragora_storage_core.models import (
    AgentMetric,
    DebateArtifact,
    NomicCycle,
    StreamEvent,
    from_iso,
    to_iso,
    utcnow_iso,
)
from aragora_storage_core.settings import Settings
from aragora_storage_core.sql.stores.base import dumps, loads
from aragora_storage_core.sql.stores.nomic import (
    ARTIFACT_COLUMNS,
    CYCLE_COLUMNS,
    EVENT_COLUMNS,
    METRIC_COLUMNS,
    artifact_from_row,
    cycle_from_row,
    event_row,
    metric_row,
)
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_supabase.base import SupabaseStore, batches, fetch, pages, values

_CYCLES = ",".join(CYCLE_COLUMNS)
_ARTIFACTS = ",".join((*ARTIFACT_COLUMNS, "id"))
_EVENTS = ",".join((*EVENT_COLUMNS, "id"))
_METRICS = ",".join((*METRIC_COLUMNS, "id"))
_FILE_CHANGE_KEYS = ("file_path", "change_type", "lines_added", "lines_removed", "created_at")


class SupabaseNomicCycleStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.NomicCycleStore` on ``nomic_cycles``."""

    def save_cycle(self, cycle: NomicCycle) -> None:
        """Upsert the cycle on ``(loop_id, cycle_number)``."""
        row = dict(zip(CYCLE_COLUMNS, (
            cycle.loop_id, cycle.cycle_number, cycle.phase, cycle.stage,
            to_iso(cycle.started_at), to_iso(cycle.completed_at),
            None if cycle.success is None else int(cycle.success), cycle.git_commit,
            cycle.task_description, cycle.total_tasks, cycle.completed_tasks,
            cycle.error_message), strict=True))
        query = self._table("nomic_cycles").upsert(row, returning=ReturnMethod.minimal,
                                                   on_conflict="loop_id,cycle_number")
        self._run(query, "save_cycle")

    def _select(self, loop_id: str) -> Any:
        return self._table("nomic_cycles").select(_CYCLES).eq("loop_id", loop_id)

    def get_cycle(self, loop_id: str, cycle_number: int) -> NomicCycle | None:
        """Return one cycle or ``None``."""
        rows = self._run(self._select(loop_id).eq("cycle_number", cycle_number).limit(1),
                         "get_cycle")
        return cycle_from_row(values(rows[0], CYCLE_COLUMNS)) if rows else None

    def list_cycles(self, loop_id: str) -> list[NomicCycle]:
        """Cycles of one loop in order."""
        rows = fetch(self._project, lambda: self._select(loop_id).order("cycle_number"),
                     "list_cycles")
        return [cycle_from_row(values(r, CYCLE_COLUMNS)) for r in rows]

    def latest_cycle(self, loop_id: str) -> NomicCycle | None:
        """The highest-numbered cycle of a loop, or ``None``."""
        query = self._select(loop_id).order("cycle_number", desc=True).limit(1)
        rows = self._run(query, "latest_cycle")
        return cycle_from_row(values(rows[0], CYCLE_COLUMNS)) if rows else None

    def _insert_id(self, table: str, row: dict[str, Any], operation: str) -> int:
        rows = self._run(self._table(table).insert(row), operation, idempotent=False)
        return int(rows[0]["id"])

    def record_rollback(self, loop_id: str, cycle_number: int, reason: str,
                        from_commit: str | None = None, to_commit: str | None = None) -> int:
        """Record a rollback (``nomic_rollbacks``); return its id."""
        return self._insert_id("nomic_rollbacks", {
            "loop_id": loop_id, "cycle_number": cycle_number, "reason": reason,
            "from_commit": from_commit, "to_commit": to_commit, "created_at": utcnow_iso(),
        }, "record_rollback")

    def record_file_change(self, loop_id: str, cycle_number: int, file_path: str,
                           change_type: str, lines_added: int = 0,
                           lines_removed: int = 0) -> int:
        """Record one changed file (``cycle_file_changes``); return its id."""
        return self._insert_id("cycle_file_changes", {
            "loop_id": loop_id, "cycle_number": cycle_number, "file_path": file_path,
            "change_type": change_type, "lines_added": lines_added,
            "lines_removed": lines_removed, "created_at": utcnow_iso(),
        }, "record_file_change")

    def list_file_changes(self, loop_id: str, cycle_number: int) -> list[dict[str, Any]]:
        """Changed files of one cycle, in the order recorded."""
        def build() -> Any:
            return (self._table("cycle_file_changes").select(",".join(_FILE_CHANGE_KEYS))
                    .eq("loop_id", loop_id).eq("cycle_number", cycle_number).order("id"))

        return [{k: row[k] for k in _FILE_CHANGE_KEYS}
                for row in fetch(self._project, build, "list_file_changes")]


def _artifact(row: dict[str, Any]) -> DebateArtifact:
    return artifact_from_row((*values(row, ARTIFACT_COLUMNS), row["id"]))


class SupabaseDebateArtifactStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.DebateArtifactStore` on ``debate_artifacts``."""

    def save(self, artifact: DebateArtifact) -> int:
        """Insert an artifact; return its id."""
        row = dict(zip(ARTIFACT_COLUMNS, (
            artifact.loop_id, artifact.cycle_number, artifact.phase, artifact.task,
            dumps(artifact.agents), dumps(artifact.transcript), int(artifact.consensus_reached),
            artifact.confidence, artifact.winning_proposal,
            None if artifact.vote_tally is None else dumps(artifact.vote_tally),
            to_iso(artifact.created_at) or utcnow_iso()), strict=True))
        rows = self._run(self._table("debate_artifacts").insert(row), "save_debate_artifact",
                         idempotent=False)
        return int(rows[0]["id"])

    def get(self, artifact_id: int) -> DebateArtifact | None:
        """Return one artifact or ``None``."""
        query = self._table("debate_artifacts").select(_ARTIFACTS).eq("id", int(artifact_id))
        rows = self._run(query, "get_debate_artifact")
        return _artifact(rows[0]) if rows else None

    def list_for_cycle(self, loop_id: str, cycle_number: int) -> list[DebateArtifact]:
        """Artifacts of one cycle, oldest first."""
        def build() -> Any:
            return (self._table("debate_artifacts").select(_ARTIFACTS).eq("loop_id", loop_id)
                    .eq("cycle_number", cycle_number).order("id"))

        return [_artifact(r) for r in fetch(self._project, build, "list_debate_artifacts")]


def _event(row: dict[str, Any]) -> StreamEvent:
    return StreamEvent(row["loop_id"], row["cycle"], row["event_type"], loads(row["event_data"]),
                       row["agent"], from_iso(row["timestamp"]),  # type: ignore[arg-type]
                       str(row["id"]))


class SupabaseStreamEventStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.StreamEventStore`; ids are ``stream_events`` row ids."""

    def append(self, event: StreamEvent) -> str:
        """Append one event; return its id."""
        row = dict(zip(EVENT_COLUMNS, event_row(event), strict=True))
        rows = self._run(self._table("stream_events").insert(row), "append_event",
                         idempotent=False)
        event.id = str(rows[0]["id"])
        return event.id

    def append_many(self, events: Sequence[StreamEvent]) -> list[str]:
        """Append events in order, one request (one transaction) per :data:`PAGE_SIZE`."""
        if not events:
            return []
        body = [dict(zip(EVENT_COLUMNS, event_row(e), strict=True)) for e in events]
        ids: list[str] = []
        for batch in batches(body):
            query = self._table("stream_events").insert(batch).select("id")
            rows = self._run(query, "append_events", idempotent=False)
            # One INSERT draws the identity values in input order; sorting does not rely
            # on the order of the returned rows.
            ids += [str(i) for i in sorted(int(r["id"]) for r in rows)]
        for event, event_id in zip(events, ids, strict=True):
            event.id = event_id
        return ids

    def read(self, loop_id: str, *, cycle: int | None = None, after: str | None = None,
             limit: int = 100) -> list[StreamEvent]:
        """Events of a loop in order, optionally of one cycle and after an id."""
        after_id = None if after is None else int(after)

        def build() -> Any:
            query = self._table("stream_events").select(_EVENTS).eq("loop_id", loop_id)
            if cycle is not None:
                query = query.eq("cycle", int(cycle))
            if after_id is not None:
                query = query.gt("id", after_id)
            return query.order("id")

        return [_event(r) for r in fetch(self._project, build, "read_events", limit)]


def _metric(row: dict[str, Any]) -> AgentMetric:
    return AgentMetric(row["loop_id"], row["cycle"], row["agent"], row["metric"],
                       float(row["value"]), loads(row["metadata"]),
                       from_iso(row["recorded_at"]), row["id"])  # type: ignore[arg-type]


class SupabaseAgentMetricsStore(SupabaseStore):
    """:class:`~aragora_storage_core.stores.AgentMetricsStore` on ``agent_metrics``."""

    def record(self, metric: AgentMetric) -> int:
        """Record one measurement; return its id."""
        row = dict(zip(METRIC_COLUMNS, metric_row(metric), strict=True))
        rows = self._run(self._table("agent_metrics").insert(row), "record_metric",
                         idempotent=False)
        return int(rows[0]["id"])

    def record_many(self, metrics: Iterable[AgentMetric]) -> int:
        """Record many measurements, one request (one transaction) per :data:`PAGE_SIZE`."""
        body = [dict(zip(METRIC_COLUMNS, metric_row(m), strict=True)) for m in metrics]
        for batch in batches(body):
            query = self._table("agent_metrics").insert(batch, returning=ReturnMethod.minimal)
            self._run(query, "record_metrics", idempotent=False)
        return len(body)

    def for_agent(self, agent: str, metric: str | None = None,
                  limit: int = 100) -> list[AgentMetric]:
        """Measurements of one agent, newest first."""
        def build() -> Any:
            query = self._table("agent_metrics").select(_METRICS).eq("agent", agent)
            if metric is not None:
                query = query.eq("metric", metric)
            return query.order("recorded_at", desc=True).order("id", desc=True)

        return [_metric(r) for r in fetch(self._project, build, "metrics_for_agent", limit)]

    def summary(self, loop_id: str) -> dict[str, dict[str, float]]:
        """``{agent: {metric: mean}}`` over one loop (read in pages; PostgREST has no AVG)."""
        values: dict[tuple[str, str], list[float]] = {}
        for page in pages(self._project, "agent_metrics", "id,agent,metric,value",
                          "metrics_summary", loop_id=loop_id):
            for row in page:
                values.setdefault((row["agent"], row["metric"]), []).append(float(row["value"]))
        result: dict[str, dict[str, float]] = {}
        for (agent, metric), numbers in values.items():
            result.setdefault(agent, {})[metric] = math.fsum(numbers) / len(numbers)
        return result


def build_store(kind: StoreKind, project: Any, settings: Settings,
                cipher: Callable[[], ColumnCipher]) -> Any:
    """The Supabase store ``kind`` on ``project`` (``cipher`` seals webhook secrets)."""
    from aragora_storage_supabase import accounts, activity, links

    simple: dict[StoreKind, Callable[[Any], Any]] = {
        StoreKind.USERS: accounts.SupabaseUserStore,
        StoreKind.ORGANIZATIONS: accounts.SupabaseOrganizationStore,
        StoreKind.SHARE_LINKS: links.SupabaseShareLinkStore,
        StoreKind.TOKEN_BLACKLIST: links.SupabaseTokenBlacklistStore,
        StoreKind.NOMIC_CYCLES: SupabaseNomicCycleStore,
        StoreKind.DEBATE_ARTIFACTS: SupabaseDebateArtifactStore,
        StoreKind.STREAM_EVENTS: SupabaseStreamEventStore,
        StoreKind.AGENT_METRICS: SupabaseAgentMetricsStore,
    }
    if kind in simple:
        return simple[kind](project)
    if kind is StoreKind.AUDIT:
        return activity.SupabaseAuditStore(project, settings.audit_retention_days)
    if kind is StoreKind.USAGE:
        return activity.SupabaseUsageStore(project, settings.usage_retention_days)
    return links.SupabaseWebhookStore(project, cipher())
