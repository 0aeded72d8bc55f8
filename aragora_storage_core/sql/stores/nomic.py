"""Nomic loop state: cycles, debate artifacts, stream events, agent metrics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aragora_storage_core.models import (
    AgentMetric,
    DebateArtifact,
    NomicCycle,
    StreamEvent,
    from_iso,
    to_iso,
    utcnow_iso,
)
from aragora_storage_core.sql.stores.base import SQLStore, dumps, loads, loads_or
from aragora_storage_core.stores.protocols import (
    AgentMetricsStore,
    DebateArtifactStore,
    NomicCycleStore,
    StreamEventStore,
)

CYCLE_COLUMNS = (
    "loop_id", "cycle_number", "phase", "stage", "started_at", "completed_at", "success",
    "git_commit", "task_description", "total_tasks", "completed_tasks", "error_message",
)


def cycle_from_row(row: tuple[Any, ...]) -> NomicCycle:
    """Build a :class:`NomicCycle` from a row in ``CYCLE_COLUMNS`` order."""
    success = row[6]
    return NomicCycle(
        row[0], row[1], row[2], row[3], from_iso(row[4]),  # type: ignore[arg-type]
        from_iso(row[5]), None if success is None else bool(success), *row[7:],
    )


class SQLNomicCycleStore(SQLStore, NomicCycleStore):
    """:class:`~aragora_storage_core.stores.NomicCycleStore` on SQL."""

    table = "nomic_cycles"
    columns = CYCLE_COLUMNS

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._upsert = self.upsert_sql(key=CYCLE_COLUMNS[:2], replace=CYCLE_COLUMNS[2:])
        select = f"SELECT {', '.join(CYCLE_COLUMNS)} FROM nomic_cycles WHERE loop_id = ?"
        self._get = self.prepare(f"{select} AND cycle_number = ?")
        self._list = self.prepare(f"{select} ORDER BY cycle_number")
        self._latest = self.prepare(f"{select} ORDER BY cycle_number DESC LIMIT 1")
        dialect = self._db.dialect
        self._rollback = dialect.insert(
            "nomic_rollbacks", ("loop_id", "cycle_number", "reason", "from_commit", "to_commit",
                                "created_at"), returning=("id",))
        self._file_change = dialect.insert(
            "cycle_file_changes", ("loop_id", "cycle_number", "file_path", "change_type",
                                   "lines_added", "lines_removed", "created_at"),
            returning=("id",))
        self._file_changes = self.prepare(
            "SELECT file_path, change_type, lines_added, lines_removed, created_at"
            " FROM cycle_file_changes WHERE loop_id = ? AND cycle_number = ? ORDER BY id"
        )

    def save_cycle(self, cycle: NomicCycle) -> None:
        """Insert or replace the cycle identified by ``(loop_id, cycle_number)``."""
        row = (
            cycle.loop_id, cycle.cycle_number, cycle.phase, cycle.stage,
            to_iso(cycle.started_at), to_iso(cycle.completed_at),
            None if cycle.success is None else int(cycle.success), cycle.git_commit,
            cycle.task_description, cycle.total_tasks, cycle.completed_tasks,
            cycle.error_message,
        )
        with self._db.transaction() as tx:
            tx.execute(self._upsert, row, label="save_cycle")

    def get_cycle(self, loop_id: str, cycle_number: int) -> NomicCycle | None:
        """Return one cycle or ``None``."""
        row = self._db.fetch_one(self._get, (loop_id, cycle_number), "get_cycle")
        return None if row is None else cycle_from_row(row)

    def list_cycles(self, loop_id: str) -> list[NomicCycle]:
        """Cycles of one loop in order."""
        return [cycle_from_row(r) for r in self._db.fetch_all(self._list, (loop_id,))]

    def latest_cycle(self, loop_id: str) -> NomicCycle | None:
        """The highest-numbered cycle of a loop, or ``None``."""
        row = self._db.fetch_one(self._latest, (loop_id,), "latest_cycle")
        return None if row is None else cycle_from_row(row)

    def record_rollback(self, loop_id: str, cycle_number: int, reason: str,
                        from_commit: str | None = None, to_commit: str | None = None) -> int:
        """Record a rollback (``nomic_rollbacks``); return its id."""
        params = (loop_id, cycle_number, reason, from_commit, to_commit, utcnow_iso())
        with self._db.transaction() as tx:
            row = tx.fetch_one(self._rollback, params, label="record_rollback")
        assert row is not None
        return int(row[0])

    def record_file_change(self, loop_id: str, cycle_number: int, file_path: str,
                           change_type: str, lines_added: int = 0,
                           lines_removed: int = 0) -> int:
        """Record one changed file (``cycle_file_changes``); return its id."""
        params = (loop_id, cycle_number, file_path, change_type, lines_added, lines_removed,
                  utcnow_iso())
        with self._db.transaction() as tx:
            row = tx.fetch_one(self._file_change, params, label="record_file_change")
        assert row is not None
        return int(row[0])

    def list_file_changes(self, loop_id: str, cycle_number: int) -> list[dict[str, Any]]:
        """Changed files of one cycle, in the order recorded."""
        keys = ("file_path", "change_type", "lines_added", "lines_removed", "created_at")
        rows = self._db.fetch_all(self._file_changes, (loop_id, cycle_number))
        return [dict(zip(keys, row, strict=True)) for row in rows]


ARTIFACT_COLUMNS = (
    "loop_id", "cycle_number", "phase", "task", "agents", "transcript", "consensus_reached",
    "confidence", "winning_proposal", "vote_tally", "created_at",
)


def artifact_from_row(row: tuple[Any, ...]) -> DebateArtifact:
    """Build a :class:`DebateArtifact` from ``ARTIFACT_COLUMNS`` plus ``id``."""
    return DebateArtifact(
        row[0], row[1], row[2], row[3], loads(row[4]), loads(row[5]), bool(row[6]),
        float(row[7]), row[8], loads_or(row[9], None), id=row[11],
        created_at=from_iso(row[10]),
    )


class SQLDebateArtifactStore(SQLStore, DebateArtifactStore):
    """:class:`~aragora_storage_core.stores.DebateArtifactStore` on SQL."""

    table = "debate_artifacts"
    columns = ARTIFACT_COLUMNS

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._insert = self.insert_sql(returning=("id",))
        select = f"SELECT {', '.join(ARTIFACT_COLUMNS)}, id FROM debate_artifacts"
        self._get = self.prepare(f"{select} WHERE id = ?")
        self._by_cycle = self.prepare(
            f"{select} WHERE loop_id = ? AND cycle_number = ? ORDER BY id"
        )

    def save(self, artifact: DebateArtifact) -> int:
        """Insert an artifact; return its id."""
        row = (
            artifact.loop_id, artifact.cycle_number, artifact.phase, artifact.task,
            dumps(artifact.agents), dumps(artifact.transcript), int(artifact.consensus_reached),
            artifact.confidence, artifact.winning_proposal,
            None if artifact.vote_tally is None else dumps(artifact.vote_tally),
            to_iso(artifact.created_at) or utcnow_iso(),
        )
        with self._db.transaction() as tx:
            result = tx.fetch_one(self._insert, row, label="save_debate_artifact")
        assert result is not None
        return int(result[0])

    def get(self, artifact_id: int) -> DebateArtifact | None:
        """Return one artifact or ``None``."""
        row = self._db.fetch_one(self._get, (artifact_id,), "get_debate_artifact")
        return None if row is None else artifact_from_row(row)

    def list_for_cycle(self, loop_id: str, cycle_number: int) -> list[DebateArtifact]:
        """Artifacts of one cycle, oldest first."""
        rows = self._db.fetch_all(self._by_cycle, (loop_id, cycle_number))
        return [artifact_from_row(r) for r in rows]


EVENT_COLUMNS = ("loop_id", "cycle", "event_type", "event_data", "agent", "timestamp")


def event_row(event: StreamEvent) -> tuple[Any, ...]:
    """The row for ``event`` in ``EVENT_COLUMNS`` order."""
    return (event.loop_id, event.cycle, event.event_type, dumps(event.event_data), event.agent,
            to_iso(event.timestamp))


class SQLStreamEventStore(SQLStore, StreamEventStore):
    """:class:`~aragora_storage_core.stores.StreamEventStore` on SQL; ids are row ids."""

    table = "stream_events"
    columns = EVENT_COLUMNS

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._insert = self.insert_sql(returning=("id",))
        self._select = f"SELECT {', '.join(EVENT_COLUMNS)}, id FROM stream_events WHERE loop_id = ?"

    def append(self, event: StreamEvent) -> str:
        """Append one event; return its id."""
        with self._db.transaction() as tx:
            row = tx.fetch_one(self._insert, event_row(event), label="append_event")
        assert row is not None
        event.id = str(row[0])
        return event.id

    def append_many(self, events: Sequence[StreamEvent]) -> list[str]:
        """Append events in order in one transaction; return their ids."""
        ids: list[str] = []
        with self._db.transaction() as tx:
            for event in events:
                row = tx.fetch_one(self._insert, event_row(event), label="append_events")
                assert row is not None
                event.id = str(row[0])
                ids.append(event.id)
        return ids

    def read(self, loop_id: str, *, cycle: int | None = None, after: str | None = None,
             limit: int = 100) -> list[StreamEvent]:
        """Events of a loop in order, optionally of one cycle and after an id."""
        sql = self._select
        params: list[Any] = [loop_id]
        if cycle is not None:
            sql += " AND cycle = ?"
            params.append(cycle)
        if after is not None:
            sql += " AND id > ?"
            params.append(int(after))
        rows = self._db.fetch_all(self.prepare(f"{sql} ORDER BY id LIMIT ?"), (*params, limit),
                                  "read_events")
        return [
            StreamEvent(r[0], r[1], r[2], loads(r[3]), r[4], from_iso(r[5]),  # type: ignore[arg-type]
                        str(r[6]))
            for r in rows
        ]


METRIC_COLUMNS = ("loop_id", "cycle", "agent", "metric", "value", "metadata", "recorded_at")


def metric_row(metric: AgentMetric) -> tuple[Any, ...]:
    """The row for ``metric`` in ``METRIC_COLUMNS`` order."""
    return (metric.loop_id, metric.cycle, metric.agent, metric.metric, metric.value,
            dumps(metric.metadata), to_iso(metric.recorded_at))


class SQLAgentMetricsStore(SQLStore, AgentMetricsStore):
    """:class:`~aragora_storage_core.stores.AgentMetricsStore` on SQL."""

    table = "agent_metrics"
    columns = METRIC_COLUMNS

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._insert = self.insert_sql(returning=("id",))
        self._insert_many = self.insert_sql()
        self._select = f"SELECT {', '.join(METRIC_COLUMNS)}, id FROM agent_metrics WHERE agent = ?"
        self._summary = self.prepare(
            "SELECT agent, metric, AVG(value) FROM agent_metrics WHERE loop_id = ?"
            " GROUP BY agent, metric"
        )

    def record(self, metric: AgentMetric) -> int:
        """Record one measurement; return its id."""
        with self._db.transaction() as tx:
            row = tx.fetch_one(self._insert, metric_row(metric), label="record_metric")
        assert row is not None
        return int(row[0])

    def record_many(self, metrics: Iterable[AgentMetric]) -> int:
        """Record many measurements in one transaction; return how many."""
        rows = [metric_row(m) for m in metrics]
        with self._db.transaction() as tx:
            return tx.execute_many(self._insert_many, rows, label="record_metrics")

    def for_agent(self, agent: str, metric: str | None = None,
                  limit: int = 100) -> list[AgentMetric]:
        """Measurements of one agent, newest first."""
        sql = self._select
        params: list[Any] = [agent]
        if metric is not None:
            sql += " AND metric = ?"
            params.append(metric)
        rows = self._db.fetch_all(
            self.prepare(f"{sql} ORDER BY recorded_at DESC, id DESC LIMIT ?"), (*params, limit)
        )
        return [
            AgentMetric(r[0], r[1], r[2], r[3], float(r[4]), loads(r[5]),
                        from_iso(r[6]), r[7])  # type: ignore[arg-type]
            for r in rows
        ]

    def summary(self, loop_id: str) -> dict[str, dict[str, float]]:
        """``{agent: {metric: mean}}`` over one loop."""
        result: dict[str, dict[str, float]] = {}
        for agent, metric, mean in self._db.fetch_all(self._summary, (loop_id,)):
            result.setdefault(agent, {})[metric] = float(mean)
        return result
