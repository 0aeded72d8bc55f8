"""Async Supabase stores vs hand-written calls with the async supabase client (issue 15).

The store side is ``backend.astore(kind)``: the synchronous store's code run in a
greenlet, its requests awaited on supabase-py's ``AsyncClient`` through the bridge. The
raw side awaits the same requests (the same columns, the same paging, the same RPC calls)
on that very ``AsyncClient`` (one ``httpx.AsyncClient`` pool) and decodes rows into the
same dataclasses. Server: the real PostgREST 12 behind the test gateway of
``tests/supabase`` over a scratch database of the local PostgreSQL, set up as a Supabase
project's (dropped at the end).

Both sides run on one event loop; each timed call is one ``loop.run_until_complete`` of
a coroutine (the same cost on both sides), and within each pair of batches the two sides
alternate call by call (which one goes first alternates too); the ratio is the median
over the pairs of store time / raw time. The "N at once" rows time one ``gather`` of N
calls (the throughput of concurrent tasks).

    .venv/bin/python benchmarks/bench_async_supabase.py [--pairs 20] [--batch 40]
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench_supabase import (
    CYCLE_FIELDS,
    EVENT_FIELDS,
    USER_FIELDS,
    cycle_body,
    cycle_of,
    event_body,
    event_of,
    on_a_scratch_project,
)
from postgrest.types import ReturnMethod
from timing import compare

from aragora_storage_core.models import NomicCycle, Organization, StreamEvent, UsageEvent, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.sql.stores.accounts import USER_COLUMNS, user_from_row

AT_ONCE = 16


class AsyncRawSupabase:
    """What a careful programmer writes by hand with the async supabase client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def save_cycle(self, cycle: NomicCycle) -> None:
        await self.client.table("nomic_cycles").upsert(
            cycle_body(cycle), on_conflict="loop_id,cycle_number",
            returning=ReturnMethod.minimal).execute()

    async def get_cycle(self, loop_id: str, number: int) -> NomicCycle | None:
        query = (self.client.table("nomic_cycles").select(CYCLE_FIELDS).eq("loop_id", loop_id)
                 .eq("cycle_number", number).limit(1))
        rows = (await query.execute()).data
        return cycle_of(rows[0]) if rows else None

    async def append(self, event: StreamEvent) -> str:
        rows = (await self.client.table("stream_events").insert(event_body(event))
                .execute()).data
        return str(rows[0]["id"])

    async def append_many(self, events: list[StreamEvent]) -> list[str]:
        query = self.client.table("stream_events").insert([event_body(e) for e in events])
        rows = (await query.select("id").execute()).data
        return [str(i) for i in sorted(r["id"] for r in rows)]

    async def read(self, loop_id: str) -> list[StreamEvent]:
        query = (self.client.table("stream_events").select(EVENT_FIELDS)
                 .eq("loop_id", loop_id).order("id").range(0, 99))
        return [event_of(r) for r in (await query.execute()).data]

    async def get_user(self, user_id: str) -> User | None:
        query = self.client.table("users").select(USER_FIELDS).eq("id", user_id).limit(1)
        rows = (await query.execute()).data
        return user_from_row(tuple(rows[0][c] for c in USER_COLUMNS)) if rows else None

    async def record_failed_login(self, user_id: str) -> int:
        count = (await self.client.rpc("aragora_record_failed_login",
                                       {"p_user_id": user_id}).execute()).data
        return 0 if count is None else int(count)

    async def usage_totals(self, org_id: str) -> dict[str, int]:
        rows = (await self.client.rpc("aragora_usage_totals",
                                      {"p_org_id": org_id, "p_since": ""}).execute()).data
        return {r["event_type"]: int(r["total"]) for r in rows}


async def _client_of_this_loop(backend: Any) -> Any:
    """The async supabase client the backend's async stores use on the running loop."""
    return backend.async_project.client


def main() -> int:
    """Run every comparison on a scratch database and print a Markdown table."""
    return on_a_scratch_project(__doc__, run, "async supabase-py")


def run(url: str, key: str, dsn: str, pairs: int, batch: int) -> list[dict[str, Any]]:
    """The comparisons against the server at ``url``, on one event loop."""
    registry = Registry(env={"SUPABASE_URL": url, "SUPABASE_KEY": key, "SUPABASE_DB_URL": dsn,
                             "ARAGORA_AUTO_MIGRATE": "1"})
    backend: Any = registry.active()
    loop = asyncio.new_event_loop()

    def on_loop(call: Callable[[int], Awaitable[Any]]) -> Callable[[int], Any]:
        return lambda i: loop.run_until_complete(call(i))

    def both(name: str, ours: Callable[[int], Awaitable[Any]],
             raw: Callable[[int], Awaitable[Any]], size: int) -> dict[str, Any]:
        return compare(name, on_loop(ours), on_loop(raw), pairs, size)

    def at_once(call: Callable[[], Awaitable[Any]]) -> Callable[[int], Awaitable[Any]]:
        async def gathered(i: int) -> list[Any]:
            return await asyncio.gather(*(call() for _ in range(AT_ONCE)))

        return gathered

    try:
        cycles, events = registry.astore("nomic_cycles"), registry.astore("stream_events")
        users, usage = registry.astore("users"), registry.astore("usage")
        raw = AsyncRawSupabase(loop.run_until_complete(_client_of_this_loop(backend)))
        start = datetime(2026, 1, 2, tzinfo=UTC)
        cycle = NomicCycle("loop", 1, "debate", "proposing", start, total_tasks=3)
        event = StreamEvent("loop", 1, "phase_start", {"phase": "debate", "n": 1},
                            agent="claude")
        raw_event = StreamEvent("raw-loop", 1, "phase_start", {"phase": "debate", "n": 1},
                                agent="claude")
        sync_events = backend.store("stream_events")
        sync_events.append_many([event] * 100)
        sync_events.append_many([raw_event] * 100)
        backend.store("nomic_cycles").save_cycle(cycle)
        backend.store("nomic_cycles").save_cycle(
            NomicCycle("raw-loop", 1, "debate", "proposing", start, total_tasks=3))
        backend.store("users").create(User("bench-user", "bench@example.com", "h", "s",
                                           preferences={"a": 1}))
        backend.store("organizations").create(Organization("bench-org", "Bench", "bench"))
        backend.store("usage").record_many([UsageEvent("bench-org", f"type{i % 5}", i)
                                            for i in range(200)])
        return [
            both("NomicCycles.save_cycle (upsert)", lambda i: cycles.save_cycle(cycle),
                 lambda i: raw.save_cycle(cycle), batch),
            both("NomicCycles.get_cycle", lambda i: cycles.get_cycle("loop", 1),
                 lambda i: raw.get_cycle("raw-loop", 1), batch),
            both("StreamEvents.append", lambda i: events.append(event),
                 lambda i: raw.append(raw_event), batch),
            both("StreamEvents.read (100 events)", lambda i: events.read("loop"),
                 lambda i: raw.read("raw-loop"), batch // 4),
            both("StreamEvents.append_many (100)", lambda i: events.append_many([event] * 100),
                 lambda i: raw.append_many([raw_event] * 100), batch // 4),
            both("Users.get_by_id", lambda i: users.get_by_id("bench-user"),
                 lambda i: raw.get_user("bench-user"), batch),
            both("Users.record_failed_login (rpc)",
                 lambda i: users.record_failed_login("bench-user"),
                 lambda i: raw.record_failed_login("bench-user"), batch),
            both("Usage.totals (rpc, 200 events)", lambda i: usage.totals("bench-org"),
                 lambda i: raw.usage_totals("bench-org"), batch),
            both(f"NomicCycles.get_cycle, {AT_ONCE} at once",
                 at_once(lambda: cycles.get_cycle("loop", 1)),
                 at_once(lambda: raw.get_cycle("raw-loop", 1)), batch // 4),
            both(f"StreamEvents.append, {AT_ONCE} at once",
                 at_once(lambda: events.append(event)),
                 at_once(lambda: raw.append(raw_event)), batch // 4),
        ]
    finally:
        loop.run_until_complete(registry.aclose())
        loop.close()
        registry.close()


if __name__ == "__main__":
    raise SystemExit(main())
