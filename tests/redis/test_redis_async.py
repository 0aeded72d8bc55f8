"""The Redis stores on the async API (``redis.asyncio`` through the bridge): routing beside
a primary, one client per event loop, cancelled commands and their write outcomes, retries
that never block the loop, XADD never sent twice.

Faults use a throwaway redis-server of their own, never the shared one.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from aragora_storage_redis.async_commands import TWINS
from aragora_storage_redis.backend import RedisBackend
from aragora_storage_redis.bridged import BridgedClient, LoopClients
from redis_servers import HANG_GUARD_SECONDS, RedisServerProcess, assert_sent_once, stall
from redis_support import async_round_trip, connect_redis

from aragora_storage_core.aio.bridge import run
from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome
from aragora_storage_core.aio.twins import coroutine_twin
from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.models import StreamEvent, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import TokenBlacklistStore, UserStore

LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.mark.parametrize("primary", ["sqlite", "postgresql"])
def test_redis_url_beside_a_primary_routes_the_async_token_blacklist_to_redis(
        primary: str, redis_url: str, tmp_path: Path, shared_client: redis.Redis, prefix: str,
        request: pytest.FixtureRequest) -> None:
    database_url = (f"sqlite:///{tmp_path}/data" if primary == "sqlite"
                    else request.getfixturevalue("postgres_url"))
    registry = Registry(env={"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                             "ARAGORA_AUTO_MIGRATE": "1"})  # PostgreSQL waits for migrate

    async def scenario() -> tuple[bool, bool, Any]:
        try:
            blacklist = registry.astore(TokenBlacklistStore)
            users = registry.astore(UserStore)
            await blacklist.revoke("jti-async", LATER, user_id="u1")
            await users.create(User("u1", "u1@x.example", "h", "s"))
            return (await blacklist.is_revoked("jti-async"),
                    await blacklist.is_revoked("jti-other"), await users.get_by_id("u1"))
        finally:
            await registry.aclose()

    try:
        revoked, other, user = asyncio.run(scenario())
        assert (revoked, other) == (True, False)
        assert user is not None and user.email == "u1@x.example"
        assert shared_client.exists(f"{prefix}token:jti-async") == 1
        assert registry.store(TokenBlacklistStore).is_revoked("jti-async")  # sync sees it
        assert not (tmp_path / "data" / "token_blacklist.db").exists()
        assert registry.route("users").name == primary
    finally:
        registry.close()


def test_every_store_round_trips_and_each_event_loop_gets_its_own_client(
        backend: RedisBackend) -> None:
    first = async_round_trip(backend)
    second = async_round_trip(backend)  # a new loop: the first one's client was closed
    for result in (first, second):
        assert all(result["revoked"]) and result["cache"] == b"async"
    assert second["events"] == [first["appended"], second["appended"]]
    assert backend.async_clients is not None

    async def clients() -> tuple[Any, Any]:
        current = backend.async_clients.current()  # type: ignore[union-attr]
        again = backend.async_clients.current()  # type: ignore[union-attr]
        await backend.aclose()
        return current, again

    one, same = asyncio.run(clients())
    other, _ = asyncio.run(clients())
    assert one is same and one is not other


def test_close_after_the_loops_are_gone_does_not_hang(redis_url: str) -> None:
    backend = connect_redis(redis_url)
    cache = backend.astore("cache")

    async def use() -> bytes | None:
        await cache.set("k", b"v")
        return await cache.get("k")  # no aclose: the loop ends with the client open

    assert asyncio.run(use()) == b"v"
    closing = threading.Thread(target=backend.close, daemon=True)
    closing.start()
    closing.join(HANG_GUARD_SECONDS)
    assert not closing.is_alive()


def test_pipelines_and_lua_scripts_run_through_the_bridge(backend: RedisBackend,
                                                          shared_client: redis.Redis,
                                                          prefix: str) -> None:
    clients = LoopClients(backend.topology.async_client, 4)
    client = BridgedClient(clients)
    script = client.register_script("return redis.call('SET', KEYS[1], ARGV[1])")

    def work() -> tuple[list[Any], Any, Any]:
        pipe = client.pipeline(transaction=True)
        pipe.set(f"{prefix}a", b"1").incr(f"{prefix}n")
        replies = pipe.execute()
        return replies, script(keys=[f"{prefix}b"], args=[b"2"]), client.get(f"{prefix}a")

    async def scenario() -> tuple[list[Any], Any, Any]:
        try:
            return await run(work)
        finally:
            await clients.aclose()

    replies, scripted, value = asyncio.run(scenario())
    assert replies == [True, 1] and scripted == b"OK" and value == b"1"
    assert shared_client.get(f"{prefix}b") == b"2"


def test_the_adapter_refuses_to_run_outside_an_async_store_call(backend: RedisBackend) -> None:
    client = BridgedClient(LoopClients(backend.topology.async_client, 4))

    async def outside() -> None:
        client.get("k")

    with pytest.raises(RuntimeError, match="outside an async store call"):
        asyncio.run(outside())


#: The store methods of one command each, which run as coroutine twins; the pipelined
#: ones run through the bridge.
TWINNED = {"token_blacklist": ("revoke", "is_revoked"), "stream_events": ("append", "read"),
           "cache": ("get", "set", "delete")}
BRIDGED = {"token_blacklist": ("revoke_many",), "stream_events": ("append_many",)}


def test_single_command_methods_are_coroutine_twins_and_pipelines_take_the_bridge(
        backend: RedisBackend) -> None:
    for kind, names in TWINNED.items():
        for name in names:
            assert coroutine_twin(getattr(backend.store(kind), name), TWINS) is not None, name
            assert isinstance(getattr(backend.astore(kind), name), types.MethodType), name
    for kind, names in BRIDGED.items():
        for name in names:
            assert coroutine_twin(getattr(backend.store(kind), name), TWINS) is None, name
            assert isinstance(getattr(backend.astore(kind), name), functools.partial), name


def test_a_write_cancelled_between_retries_may_have_been_applied(
        throwaway: RedisServerProcess) -> None:
    """A SET that timed out is retried after a pause; cancelled in that pause (or in the
    retry), it says it may have been applied, and it was: the server ran the first one
    when it woke up."""
    backend = connect_redis(throwaway.url(query="socket_timeout=0.3&retries=3"))
    cache = backend.astore("cache")

    async def scenario() -> tuple[BaseException, bytes | None]:
        await cache.set("warm", b"1")
        awake = stall(throwaway, 1.5)
        try:
            async with asyncio.timeout(0.4):  # first attempt times out at 0.3 s, pause 0.2 s
                await cache.set("c", b"C")
        except TimeoutError as error:
            cut = error
        await asyncio.to_thread(awake)
        found = await cache.get("c")
        await backend.aclose()
        return cut, found

    try:
        cut, found = asyncio.run(scenario())
    finally:
        backend.close()
    assert write_outcome(cut) is WriteOutcome.UNKNOWN
    assert found == b"C"


def test_cancelled_write_and_read_report_their_outcome_and_the_next_calls_work(
        throwaway: RedisServerProcess) -> None:
    """A command cut by ``asyncio.timeout`` while the server sleeps: the write says it
    may have been applied, the read that nothing was; redis-py drops the connection, so
    the late replies never reach the calls that follow."""
    backend = connect_redis(throwaway.url(query="socket_timeout=10&retries=0"))
    cache = backend.astore("cache")

    async def cut(call: Any) -> BaseException:
        try:
            async with asyncio.timeout(0.3):
                await call
        except TimeoutError as error:
            return error
        raise AssertionError("the call finished while the server slept")

    async def scenario() -> tuple[Any, ...]:
        await cache.set("a", b"A")
        await cache.set("b", b"B")
        awake = stall(throwaway, 1.5)
        write = await cut(cache.set("c", b"C"))
        read = await cut(cache.get("a"))
        await asyncio.to_thread(awake)
        after = (await cache.get("b"), await cache.get("c"), await cache.delete("a"),
                 await cache.get("a"))
        await backend.aclose()
        return write, read, after

    try:
        write, read, after = asyncio.run(scenario())
    finally:
        backend.close()
    assert write_outcome(write) is WriteOutcome.UNKNOWN
    assert write_outcome(read) is WriteOutcome.NOT_APPLIED
    got_b, got_c, deleted, gone = after
    assert got_b == b"B"  # not the late reply of the cancelled GET a
    assert got_c in (None, b"C")  # the cut SET may or may not have run
    assert deleted is True and gone is None


def test_a_task_cancelled_before_its_write_was_sent_reports_not_applied(
        backend: RedisBackend) -> None:
    cache = backend.astore("cache")

    async def scenario() -> tuple[BaseException, bytes | None]:
        task = asyncio.ensure_future(cache.set("never", b"x"))
        task.cancel()  # before the task ran at all
        try:
            await task
        except asyncio.CancelledError as error:
            cancelled = error
        found = await cache.get("never")
        await backend.aclose()
        return cancelled, found

    cancelled, found = asyncio.run(scenario())
    assert write_outcome(cancelled) in (None, WriteOutcome.NOT_APPLIED)
    assert found is None


def test_retry_backoff_waits_on_the_loop_across_a_restart(
        throwaway: RedisServerProcess) -> None:
    """An idempotent read rides out a restart; while it waits between attempts other
    tasks of the loop keep running (a blocking sleep would stall them all)."""
    backend = connect_redis(throwaway.url(query="connect_timeout=1&retries=8"))
    cache = backend.astore("cache")

    async def scenario() -> tuple[bytes | None, int]:
        ticks = 0
        reading = asyncio.ensure_future(cache.get("k"))

        while not reading.done():
            await asyncio.sleep(0.01)
            ticks += 1
        value = await reading
        await backend.aclose()
        return value, ticks

    async def warm() -> None:
        await cache.set("k", b"before")
        await backend.aclose()

    try:
        asyncio.run(warm())
        throwaway.stop()
        comeback = threading.Timer(1.2, throwaway.start)
        comeback.start()
        try:
            value, ticks = asyncio.run(scenario())
        finally:
            comeback.join()
    finally:
        backend.close()
    assert value is None  # answered by the restarted server (nothing persisted)
    assert ticks >= 20  # the loop ran other tasks during the ~1.2 s of back-off


def test_async_xadd_past_the_socket_timeout_is_never_applied_twice(
        throwaway: RedisServerProcess) -> None:
    backend = connect_redis(throwaway.url(query="socket_timeout=0.4&retries=5"))
    events = backend.astore("stream_events")

    async def scenario() -> BaseException:
        assert await events.read("loop") == []  # the loop's connection is open and ready
        awake = stall(throwaway, 1.6)
        try:
            await events.append(StreamEvent("loop", 1, "tick", {}))
        except BackendUnavailableError as error:
            return error
        finally:
            await asyncio.to_thread(awake)
            await backend.aclose()
        raise AssertionError("XADD succeeded although the server slept past the timeout")

    try:
        error = asyncio.run(scenario())
    finally:
        backend.close()
    assert_sent_once(error, throwaway, backend.keys.stream("loop"))


def test_more_tasks_than_connections_wait_for_one_instead_of_failing(redis_url: str) -> None:
    """redis-py's pool refuses a connection past max_connections ("Too many connections");
    a burst of tasks waits its turn instead (200 appends on 4 connections, none lost)."""
    backend = connect_redis(f"{redis_url}&max_connections=4")
    events = backend.astore("stream_events")

    async def scenario() -> tuple[list[Any], int]:
        try:
            ids = await asyncio.gather(
                *(events.append(StreamEvent("burst", 1, "tick", {"i": i})) for i in range(200)),
                return_exceptions=True)
            return list(ids), len(await events.read("burst", limit=500))
        finally:
            await backend.aclose()

    try:
        ids, stored = asyncio.run(scenario())
    finally:
        backend.close()
    assert [i for i in ids if isinstance(i, BaseException)] == []
    assert stored == 200 and len(set(ids)) == 200


def test_a_burst_of_reads_waits_for_connections_too(redis_url: str) -> None:
    """Like the appends above: 200 concurrent reads on 4 connections wait for a slot and
    all answer."""
    backend = connect_redis(f"{redis_url}&max_connections=4")
    cache = backend.astore("cache")

    async def scenario() -> list[Any]:
        try:
            await cache.set("burst", b"value")
            return list(await asyncio.gather(*(cache.get("burst") for _ in range(200)),
                                             return_exceptions=True))
        finally:
            await backend.aclose()

    try:
        replies = asyncio.run(scenario())
    finally:
        backend.close()
    assert [r for r in replies if isinstance(r, BaseException)] == []
    assert replies == [b"value"] * 200


def test_a_write_cancelled_while_waiting_for_a_connection_was_never_sent(
        throwaway: RedisServerProcess) -> None:
    backend = connect_redis(throwaway.url(query="max_connections=1&socket_timeout=10"))
    cache = backend.astore("cache")

    async def scenario() -> tuple[Any, ...]:
        await cache.set("warm", b"1")
        awake = stall(throwaway, 1.0)
        holding = asyncio.ensure_future(cache.get("warm"))  # takes the one connection
        await asyncio.sleep(0.05)
        try:
            async with asyncio.timeout(0.2):
                await cache.set("queued", b"x")  # waits for the connection
        except TimeoutError as error:
            queued = error
        await asyncio.to_thread(awake)
        after = (await holding, await cache.get("queued"),
                 await asyncio.gather(*(cache.set(f"k{i}", b"v") for i in range(5))))
        await backend.aclose()
        return queued, after

    try:
        queued, (held, found, later) = asyncio.run(scenario())
    finally:
        backend.close()
    assert write_outcome(queued) is WriteOutcome.NOT_APPLIED
    assert held == b"1" and found is None and later == [None] * 5
