"""Read replicas on the async path: the same ReplicaSet routes the async reads.

A throwaway primary and its ``pg_basebackup -R`` standby serve the module (the fixtures
of ``test_replicas``). Which server answered is asked with ``SELECT pg_is_in_recovery()``
through the async adapter, run by the async stores' own runner (so the task's write
clock is the one its store calls use).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.consistency import primary_reads
from tests.postgres.cluster import ScratchCluster
from tests.postgres.test_replicas import (
    eventually,
    in_new_thread,
    on_replica,
    open_backend,
    servers,
    user,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["servers"]  # the module's primary and standby (a fixture of test_replicas)


@pytest.fixture
def backend(servers: tuple[ScratchCluster, ScratchCluster]) -> Iterator[PostgresBackend]:
    """A backend on the primary, its replica checked every 0.1 s, closed after the test."""
    opened = open_backend(servers)
    assert opened.database.replicas is not None
    opened.database.replicas.check_seconds = 0.1
    assert eventually(lambda: in_new_thread(lambda: on_replica(opened)))
    yield opened
    opened.close()


def answered_by_replica(backend: PostgresBackend) -> Callable[[], Awaitable[bool]]:
    """A coroutine function: True when this async plain read was answered by a standby."""
    users = backend.astore("users")
    database = backend._async_database()

    async def ask() -> bool:
        row = await users._runner(database.fetch_one, "SELECT pg_is_in_recovery()")
        return bool(row[0])

    return ask


async def eventually_async(condition: Callable[[], Awaitable[bool]],
                           seconds: float = 30.0) -> bool:
    """Await ``condition`` until it holds (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return False


def test_async_plain_reads_go_to_the_replica_and_primary_reads_stay_on_the_primary(
        backend: PostgresBackend) -> None:
    ask = answered_by_replica(backend)

    async def scenario() -> tuple[bool, bool, bool]:
        routed = await eventually_async(ask)
        with primary_reads():  # what registry.primary() sets
            held = await ask()
        many = await asyncio.gather(*(ask() for _ in range(20)))
        return routed, held, any(many)

    routed, held, many = asyncio.run(scenario())
    assert routed, "no async read ever reached the caught-up replica"
    assert not held
    assert many


def test_a_task_reads_its_own_async_write_while_replay_is_paused(
        backend: PostgresBackend, servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    _, replica = servers
    users = backend.astore("users")
    ask = answered_by_replica(backend)

    async def writer() -> tuple[Any, bool]:
        await users.create(user("async-paused"))
        return await users.get_by_id("async-paused"), await ask()

    async def scenario() -> tuple[Any, bool]:
        assert await eventually_async(ask)
        # A task of its own: the write clock belongs to it, not to the main task.
        return await asyncio.create_task(writer())

    replica.admin("SELECT pg_wal_replay_pause()")
    try:  # a new thread: no clock of this test's earlier (sync) writes to inherit
        found, writer_on_replica = in_new_thread(lambda: asyncio.run(scenario()))
    finally:
        replica.admin("SELECT pg_wal_replay_resume()")
    assert found is not None  # the paused standby does not have it: the primary answered
    assert not writer_on_replica


def test_a_stopped_replica_costs_an_async_read_no_error(
        backend: PostgresBackend, servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    _, replica = servers
    users = backend.astore("users")
    ask = answered_by_replica(backend)

    async def scenario() -> tuple[bool, Any]:
        assert await eventually_async(ask)
        await asyncio.to_thread(replica.stop)
        try:
            found = await users.get_by_id("nobody")
            return await ask(), found
        finally:
            await asyncio.to_thread(replica.start)

    on_standby, found = asyncio.run(scenario())
    assert not on_standby
    assert found is None
