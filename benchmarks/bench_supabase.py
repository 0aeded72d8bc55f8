"""Supabase stores vs hand-written calls with the supabase client, on the same server.

Both sides use the same ``supabase`` client (the backend's, over its one ``httpx``
connection pool) against the real PostgREST 12 behind the test gateway of
``tests/supabase`` (installed by ``.ci/setup.d/20-postgrest.sh``) over a scratch
PostgreSQL database on 127.0.0.1 set up as a Supabase project's, and do the same work:
the same requests (the same columns asked for), the same JSON text columns,
rows decoded into the same dataclasses. Within each pair of batches the two sides
alternate call by call (which one goes first alternates too); the ratio is the median
over the pairs of store time / raw time. The scratch database is dropped at the end.

    .venv/bin/python benchmarks/bench_supabase.py [--pairs 20] [--batch 40]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postgrest.types import ReturnMethod
from timing import compare, print_table

from aragora_storage_core.models import (
    AgentMetric,
    DebateArtifact,
    NomicCycle,
    Organization,
    StreamEvent,
    UsageEvent,
    User,
    from_iso,
    to_iso,
    utcnow_iso,
)
from aragora_storage_core.registry import Registry
from aragora_storage_core.sql.stores.accounts import USER_COLUMNS, user_from_row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.supabase.supabase_support import (
    KEY,
    TestProject,
    dsn,
    make_database,
    remove_database,
)

TARGET = 1.10
#: The columns each side asks for (the same request, so the server's work is the same).
CYCLE_FIELDS = ("loop_id,cycle_number,phase,stage,started_at,completed_at,success,git_commit,"
                "task_description,total_tasks,completed_tasks,error_message")
EVENT_FIELDS = "loop_id,cycle,event_type,event_data,agent,timestamp,id"
USER_FIELDS = ",".join(USER_COLUMNS)


class RawSupabase:
    """What a careful programmer writes by hand with the supabase client for the same work."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def save_cycle(self, cycle: NomicCycle) -> None:
        self.client.table("nomic_cycles").upsert(
            cycle_body(cycle), on_conflict="loop_id,cycle_number",
            returning=ReturnMethod.minimal).execute()

    def get_cycle(self, loop_id: str, number: int) -> NomicCycle | None:
        rows = (self.client.table("nomic_cycles").select(CYCLE_FIELDS).eq("loop_id", loop_id)
                .eq("cycle_number", number).limit(1).execute().data)
        return cycle_of(rows[0]) if rows else None

    def record_metrics(self, metrics: list[AgentMetric]) -> int:
        self.client.table("agent_metrics").insert([{
            "loop_id": m.loop_id, "cycle": m.cycle, "agent": m.agent, "metric": m.metric,
            "value": m.value, "metadata": json.dumps(m.metadata, separators=(",", ":"),
                                                     sort_keys=True),
            "recorded_at": to_iso(m.recorded_at)} for m in metrics],
            returning=ReturnMethod.minimal).execute()
        return len(metrics)

    def save_artifact(self, a: DebateArtifact) -> int:
        def text(value: Any) -> str:
            return json.dumps(value, separators=(",", ":"), sort_keys=True)

        rows = self.client.table("debate_artifacts").insert({
            "loop_id": a.loop_id, "cycle_number": a.cycle_number, "phase": a.phase,
            "task": a.task, "agents": text(a.agents), "transcript": text(a.transcript),
            "consensus_reached": int(a.consensus_reached), "confidence": a.confidence,
            "winning_proposal": a.winning_proposal,
            "vote_tally": None if a.vote_tally is None else text(a.vote_tally),
            "created_at": to_iso(a.created_at) or utcnow_iso()}).execute().data
        return int(rows[0]["id"])

    def append(self, event: StreamEvent) -> str:
        rows = self.client.table("stream_events").insert(event_body(event)).execute().data
        return str(rows[0]["id"])

    def append_many(self, events: list[StreamEvent]) -> list[str]:
        rows = (self.client.table("stream_events").insert([event_body(e) for e in events])
                .select("id").execute().data)
        return [str(i) for i in sorted(r["id"] for r in rows)]

    def read(self, loop_id: str) -> list[StreamEvent]:
        rows = (self.client.table("stream_events").select(EVENT_FIELDS).eq("loop_id", loop_id)
                .order("id").range(0, 99).execute().data)
        return [event_of(r) for r in rows]


    def list_cycles(self, loop_id: str) -> list[NomicCycle]:
        """Pages until an empty one, as a careful caller must under ``max-rows``."""
        rows: list[dict[str, Any]] = []
        while True:
            page = (self.client.table("nomic_cycles").select(CYCLE_FIELDS)
                    .eq("loop_id", loop_id).order("cycle_number")
                    .range(len(rows), len(rows) + 999).execute().data)
            if not page:
                break
            rows += page
        return [cycle_of(r) for r in rows]


    def get_user(self, user_id: str) -> User | None:
        rows = (self.client.table("users").select(USER_FIELDS).eq("id", user_id).limit(1)
                .execute().data)
        return user_from_row(tuple(rows[0][c] for c in USER_COLUMNS)) if rows else None

    def record_failed_login(self, user_id: str) -> int:
        count = self.client.rpc("aragora_record_failed_login",
                                {"p_user_id": user_id}).execute().data
        return 0 if count is None else int(count)

    def usage_totals(self, org_id: str) -> dict[str, int]:
        rows = self.client.rpc("aragora_usage_totals",
                               {"p_org_id": org_id, "p_since": ""}).execute().data
        return {r["event_type"]: int(r["total"]) for r in rows}


def cycle_body(cycle: NomicCycle) -> dict[str, Any]:
    """The row a hand-written upsert of ``cycle`` sends."""
    return {"loop_id": cycle.loop_id, "cycle_number": cycle.cycle_number,
            "phase": cycle.phase, "stage": cycle.stage, "started_at": to_iso(cycle.started_at),
            "completed_at": to_iso(cycle.completed_at),
            "success": None if cycle.success is None else int(cycle.success),
            "git_commit": cycle.git_commit, "task_description": cycle.task_description,
            "total_tasks": cycle.total_tasks, "completed_tasks": cycle.completed_tasks,
            "error_message": cycle.error_message}


def event_body(event: StreamEvent) -> dict[str, Any]:
    """The row a hand-written insert of ``event`` sends."""
    return {"loop_id": event.loop_id, "cycle": event.cycle, "event_type": event.event_type,
            "event_data": json.dumps(event.event_data, separators=(",", ":"), sort_keys=True),
            "agent": event.agent, "timestamp": to_iso(event.timestamp)}


def event_of(r: dict[str, Any]) -> StreamEvent:
    """The event of a ``stream_events`` row."""
    return StreamEvent(r["loop_id"], r["cycle"], r["event_type"], json.loads(r["event_data"]),
                       r["agent"], from_iso(r["timestamp"]), str(r["id"]))  # type: ignore[arg-type]


def cycle_of(r: dict[str, Any]) -> NomicCycle:
    """The cycle of a ``nomic_cycles`` row."""
    return NomicCycle(r["loop_id"], r["cycle_number"], r["phase"], r["stage"],
                      from_iso(r["started_at"]),  # type: ignore[arg-type]
                      from_iso(r["completed_at"]),
                      None if r["success"] is None else bool(r["success"]),
                      r["git_commit"], r["task_description"], r["total_tasks"],
                      r["completed_tasks"], r["error_message"])


def main() -> int:
    """Run every comparison on a scratch database and print a Markdown table."""
    return on_a_scratch_project(__doc__, run, "supabase-py")


def on_a_scratch_project(doc: str, comparisons: Callable[..., list[dict[str, Any]]],
                         raw_name: str) -> int:
    """Parse ``--pairs``/``--batch``, run ``comparisons(url, key, dsn, pairs, batch)``
    on a scratch project (database dropped after) and print its table with the load."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=40)
    args = parser.parse_args()
    name = make_database()
    try:
        with TestProject(name) as project:
            rows = comparisons(project.url, KEY, dsn(name), args.pairs, args.batch)
    finally:
        remove_database(name)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")
    return print_table(rows, raw_name, args.pairs, TARGET)


def run(url: str, key: str, dsn: str, pairs: int, batch: int) -> list[dict[str, Any]]:
    """The comparisons against the server at ``url``."""
    registry = Registry(env={"SUPABASE_URL": url, "SUPABASE_KEY": key, "SUPABASE_DB_URL": dsn,
                             "ARAGORA_AUTO_MIGRATE": "1"})
    backend: Any = registry.active()
    raw = RawSupabase(backend.project.client)
    cycles, events = backend.store("nomic_cycles"), backend.store("stream_events")
    metrics, artifacts = backend.store("agent_metrics"), backend.store("debate_artifacts")
    start = datetime(2026, 1, 2, tzinfo=UTC)
    cycle = NomicCycle("loop", 1, "debate", "proposing", start, total_tasks=3)
    event = StreamEvent("loop", 1, "phase_start", {"phase": "debate", "n": 1}, agent="claude")
    raw_event = StreamEvent("raw-loop", 1, "phase_start", {"phase": "debate", "n": 1},
                            agent="claude")
    batch_of_metrics = [AgentMetric("loop", 1, "claude", "latency", 1.5, {"model": "x"},
                                    recorded_at=start)] * 100
    artifact = DebateArtifact("loop", 1, "debate", "task", ["claude", "gpt"],
                              [{"agent": "claude", "text": "proposal " * 20}] * 6, True, 0.8,
                              winning_proposal="p1", vote_tally={"claude": 2})
    events.append_many([event] * 100)
    raw.append_many([raw_event] * 100)
    cycles.save_cycle(cycle)
    raw.save_cycle(NomicCycle("raw-loop", 1, "debate", "proposing", start, total_tasks=3))
    result = [
        compare("NomicCycles.save_cycle (upsert)", lambda i: cycles.save_cycle(cycle),
                lambda i: raw.save_cycle(cycle), pairs, batch),
        compare("NomicCycles.get_cycle", lambda i: cycles.get_cycle("loop", 1),
                lambda i: raw.get_cycle("raw-loop", 1), pairs, batch),
        compare("NomicCycles.list_cycles (1 cycle, 2 pages)",
                lambda i: cycles.list_cycles("loop"), lambda i: raw.list_cycles("raw-loop"),
                pairs, batch),
        compare("StreamEvents.append", lambda i: events.append(event),
                lambda i: raw.append(raw_event), pairs, batch),
        compare("StreamEvents.read (100 events)", lambda i: events.read("loop"),
                lambda i: raw.read("raw-loop"), pairs, batch // 4),
        compare("StreamEvents.append_many (100)", lambda i: events.append_many([event] * 100),
                lambda i: raw.append_many([raw_event] * 100), pairs, batch // 4),
        compare("AgentMetrics.record_many (100)", lambda i: metrics.record_many(batch_of_metrics),
                lambda i: raw.record_metrics(batch_of_metrics), pairs, batch // 4),
        compare("DebateArtifacts.save", lambda i: artifacts.save(artifact),
                lambda i: raw.save_artifact(artifact), pairs, batch),
    ]
    users, usage = backend.store("users"), backend.store("usage")
    users.create(User("bench-user", "bench@example.com", "h", "s", preferences={"a": 1}))
    backend.store("organizations").create(Organization("bench-org", "Bench", "bench"))
    usage.record_many([UsageEvent("bench-org", f"type{i % 5}", i) for i in range(200)])
    result += [
        compare("Users.get_by_id", lambda i: users.get_by_id("bench-user"),
                lambda i: raw.get_user("bench-user"), pairs, batch),
        compare("Users.record_failed_login (rpc)",
                lambda i: users.record_failed_login("bench-user"),
                lambda i: raw.record_failed_login("bench-user"), pairs, batch),
        compare("Usage.totals (rpc, 200 events)", lambda i: usage.totals("bench-org"),
                lambda i: raw.usage_totals("bench-org"), pairs, batch),
    ]
    registry.close()
    return result


if __name__ == "__main__":
    raise SystemExit(main())
