"""The Supabase backend's async path (issue 15) against the real PostgREST: every store
through ``backend.astore``, one client per event loop, cancelled writes and reads with
their outcomes, and errors that never show the key."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aragora_storage_supabase.aio import BridgedTransport
from aragora_storage_supabase.backend import SupabaseBackend
from aragora_storage_supabase.project import SupabaseProject

from aragora_storage_core import models
from aragora_storage_core.aio.bridge import run
from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome
from aragora_storage_core.errors import BackendUnavailableError, DuplicateError
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores import NomicCycleStore, StreamEventStore, UserStore
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.url import parse_url
from tests.supabase.supabase_support import KEY, TestProject
from tests.supabase.test_supabase_bad_input import RedirectingProject

pytestmark = pytest.mark.postgres
T = TypeVar("T")
START = datetime(2026, 1, 2, tzinfo=UTC)


def _on_loop(backend: SupabaseBackend, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` on a new event loop, closing the backend's clients of that loop."""
    async def whole() -> T:
        try:
            return await scenario()
        finally:
            await backend.aclose()

    return asyncio.run(whole())


def _text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


def test_async_accounts_read_what_the_sync_stores_wrote_and_back(
        supabase_backend: SupabaseBackend) -> None:
    users, orgs = supabase_backend.astore("users"), supabase_backend.astore("organizations")

    async def scenario() -> tuple[Any, ...]:
        await orgs.create(models.Organization("o1", "One", "one"))
        created = await users.create(models.User("u1", "u1@example.com", "h", "s", org_id="o1"))
        with pytest.raises(DuplicateError):
            await users.create(models.User("u1", "other@example.com", "h", "s"))
        failed = [await users.record_failed_login("u1") for _ in range(2)]  # a function
        renamed = await users.update("u1", name="Ada")
        listed = await users.list_by_org("o1")
        return created, failed, renamed, listed, await users.count(), await users.delete("u9")

    created, failed, renamed, listed, count, deleted = _on_loop(supabase_backend, scenario)
    assert supabase_backend.store(StoreKind.USERS).get_by_id("u1") == renamed
    assert created.id == "u1" and renamed.name == "Ada" and failed == [1, 2]
    assert [u.id for u in listed] == ["u1"] and count == 1 and deleted is False
    assert supabase_backend.store(StoreKind.ORGANIZATIONS).get_by_slug("one") is not None


def test_async_links_and_activity_use_their_database_functions(
        supabase_backend: SupabaseBackend) -> None:
    supabase_backend.store(StoreKind.ORGANIZATIONS).create(models.Organization("o1", "One", "one"))
    links, hooks = supabase_backend.astore("share_links"), supabase_backend.astore("webhooks")
    tokens, audit = supabase_backend.astore("token_blacklist"), supabase_backend.astore("audit")
    usage = supabase_backend.astore("usage")

    async def scenario() -> tuple[Any, ...]:
        await links.create(models.ShareLink("t1", "d1", max_views=1))
        opened = [await links.open("t1"), await links.open("t1")]
        await hooks.create(models.Webhook("w1", "o1", "https://example.com/h", "secret", ["*"]))
        failures = await hooks.record_delivery("w1", False)
        await tokens.revoke("j1", START + timedelta(days=3650))
        await tokens.revoke("j1", START + timedelta(days=3650))  # twice is harmless
        entry = await audit.log(models.AuditEntry("login", user_id="u1", org_id="o1"))
        await usage.record_many([models.UsageEvent("o1", "debate", n) for n in (2, 3)])
        return (opened, failures, await hooks.get("w1"), await tokens.is_revoked("j1"),
                entry, await audit.query(org_id="o1"), await usage.totals("o1"))

    opened, failures, hook, revoked, entry, entries, totals = _on_loop(supabase_backend,
                                                                       scenario)
    assert opened[0] is not None and opened[0].view_count == 1 and opened[1] is None
    assert failures == 1 and hook.secret == "secret" and revoked is True
    assert [e.id for e in entries] == [entry] and totals == {"debate": 5}


def test_async_seed_tables_round_trip(supabase_backend: SupabaseBackend) -> None:
    cycles, events = supabase_backend.astore("nomic_cycles"), supabase_backend.astore(
        "stream_events")
    artifacts, metrics = supabase_backend.astore("debate_artifacts"), supabase_backend.astore(
        "agent_metrics")

    async def scenario() -> tuple[Any, ...]:
        await cycles.save_cycle(models.NomicCycle("l", 1, "debate", "voting", START))
        await cycles.save_cycle(models.NomicCycle("l", 1, "debate", "done", START))  # an upsert
        rollback = await cycles.record_rollback("l", 1, "tests failed")
        ids = await events.append_many([models.StreamEvent("l", 1, "e", {"i": i})
                                        for i in range(3)])
        saved = await artifacts.save(models.DebateArtifact("l", 1, "debate", "t", ["a"], [],
                                                           True, 0.5))
        await metrics.record_many([models.AgentMetric("l", 1, "a", "latency", v) for v in (1, 3)])
        return (await cycles.list_cycles("l"), rollback, ids, await events.read("l"),
                await artifacts.get(saved), await metrics.summary("l"))

    listed, rollback, ids, read, artifact, summary = _on_loop(supabase_backend, scenario)
    assert [c.stage for c in listed] == ["done"] and rollback == 1
    assert [e.id for e in read] == ids and [e.event_data["i"] for e in read] == [0, 1, 2]
    assert artifact is not None and artifact.consensus_reached is True
    assert summary == {"a": {"latency": 2.0}}


def test_each_event_loop_gets_its_own_client_and_aclose_closes_it(
        supabase_backend: SupabaseBackend) -> None:
    users = supabase_backend.astore("users")
    clients: list[Any] = []

    async def scenario(n: int) -> Any:
        created = await users.create(models.User(f"u{n}", f"u{n}@example.com", "h", "s"))
        transport = supabase_backend.async_project.transport  # type: ignore[union-attr]
        clients.append(await run(lambda: transport.http))
        return created

    assert _on_loop(supabase_backend, lambda: scenario(1)).id == "u1"
    assert _on_loop(supabase_backend, lambda: scenario(2)).id == "u2"  # a new loop works too
    assert clients[0] is not clients[1]
    assert all(client.is_closed for client in clients)  # aclose closed each loop's own
    assert supabase_backend.store(StoreKind.USERS).count() == 2


def test_the_async_client_is_made_inside_the_loop_not_at_astore(
        supabase_backend: SupabaseBackend) -> None:
    users = supabase_backend.astore("users")  # a plain call, outside any loop
    transport = supabase_backend.async_project.transport  # type: ignore[union-attr]
    assert isinstance(transport, BridgedTransport)
    assert len(transport._clients) == 0
    assert _on_loop(supabase_backend, lambda: users.get_by_id("nobody")) is None


@pytest.fixture
def row_lock(supabase_backend: SupabaseBackend, admin_of: Any) -> Iterator[Any]:
    """User ``locked`` exists; a direct connection holds a lock on its row until the
    test calls ``release()`` (or ends)."""
    supabase_backend.store(StoreKind.USERS).create(models.User("locked", "l@example.com", "h", "s"))
    admin_of.autocommit = False
    with admin_of.cursor() as cursor:
        cursor.execute("SELECT id FROM users WHERE id = 'locked' FOR UPDATE")
    yield admin_of
    admin_of.rollback()


def test_a_write_cancelled_while_postgrest_waits_on_a_lock_may_have_been_applied(
        supabase_backend: SupabaseBackend, row_lock: Any) -> None:
    users = supabase_backend.astore("users")

    async def scenario() -> tuple[BaseException, Any, Any]:
        with pytest.raises(TimeoutError) as stopped:
            async with asyncio.timeout(0.5):
                await users.update("locked", name="late")
        row_lock.rollback()  # the lock goes: PostgREST's update may now go through
        after = await users.update("locked", name="after")
        return stopped.value, after, await users.create(models.User("next", "n@example.com", "h",
                                                              "s"))

    stopped, after, created = _on_loop(supabase_backend, scenario)
    assert write_outcome(stopped) is WriteOutcome.UNKNOWN
    assert "may have been applied" in _text(stopped)
    assert after.name == "after" and created.id == "next"  # the next calls work
    assert supabase_backend.store(StoreKind.USERS).get_by_id("locked").name == "after"


def test_a_task_cancelled_in_a_database_function_may_have_applied_it(
        supabase_backend: SupabaseBackend, row_lock: Any) -> None:
    users = supabase_backend.astore("users")

    async def scenario() -> tuple[BaseException, int]:
        task = asyncio.ensure_future(users.record_failed_login("locked"))
        await asyncio.sleep(0.3)  # the request is waiting on the lock
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as cancelled:
            await task
        row_lock.rollback()
        return cancelled.value, await users.record_failed_login("locked")

    cancelled, count = _on_loop(supabase_backend, scenario)
    assert write_outcome(cancelled) is WriteOutcome.UNKNOWN
    assert count in (1, 2)  # the cancelled increment may or may not have landed first


def test_a_read_cancelled_while_waiting_applied_nothing(
        supabase_backend: SupabaseBackend, admin_of: Any) -> None:
    users = supabase_backend.astore("users")
    supabase_backend.store(StoreKind.USERS).count()  # the schema is served
    admin_of.autocommit = False
    with admin_of.cursor() as cursor:
        cursor.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")  # reads wait too

    async def scenario() -> tuple[BaseException, int]:
        with pytest.raises(TimeoutError) as stopped:
            async with asyncio.timeout(0.5):
                await users.get_by_id("anyone")
        admin_of.rollback()
        return stopped.value, await users.count()

    try:
        stopped, count = _on_loop(supabase_backend, scenario)
    finally:
        admin_of.rollback()
    assert write_outcome(stopped) is WriteOutcome.NOT_APPLIED
    assert count == 0


def test_project_going_down_mid_use_is_a_typed_error_without_the_key(
        supabase_backend: SupabaseBackend, project_database: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    supabase_backend.store(StoreKind.STREAM_EVENTS)  # tables ready on the session server
    server = TestProject(project_database).start()
    registry = Registry(env={"SUPABASE_URL": server.url, "SUPABASE_KEY": KEY})
    events = registry.astore("stream_events")

    async def scenario() -> tuple[str, BaseException, BaseException]:
        first = await events.append(models.StreamEvent("loop-down", 1, "cycle_start", {}))
        server.stop()
        with pytest.raises(BackendUnavailableError) as write:
            await events.append(models.StreamEvent("loop-down", 1, "phase_start", {}))
        with pytest.raises(BackendUnavailableError) as read:
            await events.read("loop-down")
        await registry.aclose()
        return first, write.value, read.value

    first, write, read = asyncio.run(scenario())
    registry.close()
    assert first == "1"
    assert "may or may not have been applied" in str(write)
    assert "reach" in str(read) and "may or may not" not in str(read)  # a read says so not
    assert KEY not in _text(write) + _text(read) + caplog.text


def test_a_redirect_is_an_error_and_the_key_is_not_sent_on(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    target = RedirectingProject()
    url = parse_url(f"supabase://:{KEY}@127.0.0.1:{target.url.rsplit(':', 1)[1]}"
                    "?protocol=http")
    project = SupabaseProject(url, 5.0, 1000.0, BridgedTransport)

    async def scenario() -> BaseException:
        with pytest.raises(BackendUnavailableError) as error:
            await run(project.run, project.table("users").select("id"), "read users")
        await project.transport.aclose()  # type: ignore[attr-defined]
        return error.value

    try:
        error = asyncio.run(scenario())
    finally:
        target.close()
    assert target.received == [] and "redirect" in str(error)
    assert KEY not in _text(error) + caplog.text + repr(project)


def test_async_stores_beside_a_sqlite_primary_go_where_the_sync_ones_go(
        tmp_path: Path, supabase_env: dict[str, str], supabase_backend: SupabaseBackend,
        admin_of: Any) -> None:
    registry = Registry(env=supabase_env | {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})

    async def scenario() -> tuple[Any, Any]:
        try:
            await registry.astore(NomicCycleStore).save_cycle(
                models.NomicCycle("dual", 1, "debate", "voting", START))
            await registry.astore(StreamEventStore).append(models.StreamEvent("dual", 1, "e", {}))
            await registry.astore(UserStore).create(models.User("u1", "a@example.com", "h", "s"))
            return (await registry.astore(NomicCycleStore).latest_cycle("dual"),
                    await registry.astore(UserStore).get_by_id("u1"))
        finally:
            await registry.aclose()

    cycle, user = asyncio.run(scenario())
    assert registry.route(StoreKind.NOMIC_CYCLES).name == "supabase"
    assert cycle is not None and cycle.stage == "voting" and user is not None
    with admin_of.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM nomic_cycles), "
                       "(SELECT count(*) FROM stream_events), (SELECT count(*) FROM users)")
        assert cursor.fetchone() == (1, 1, 0)  # the user went to the SQLite primary
    assert registry.active().store(StoreKind.USERS).get_by_id("u1") == user
    registry.close()


def test_a_bulk_write_cancelled_on_its_second_page_keeps_the_first(
        supabase_backend: SupabaseBackend, admin_of: Any) -> None:
    users = supabase_backend.astore("users")
    batch = [models.User(f"b{n:04}", f"b{n:04}@example.com", "h", "s") for n in range(1500)]
    admin_of.autocommit = False
    with admin_of.cursor() as cursor:  # an uncommitted row with the key of the 1200th
        cursor.execute("INSERT INTO users (id, email, password_hash, password_salt, "
                       "created_at, updated_at) VALUES ('b1200', 'x@example.com', 'h', 's', "
                       "'2026-01-01', '2026-01-01')")

    async def scenario() -> BaseException:
        with pytest.raises(TimeoutError) as stopped:
            async with asyncio.timeout(2.0):
                await users.create_many(batch)  # page 2 waits on that row's key
        return stopped.value

    try:
        stopped = _on_loop(supabase_backend, scenario)
        with admin_of.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM users WHERE id < 'b1000'")
            first_page = cursor.fetchone()[0]
    finally:
        admin_of.rollback()
    assert write_outcome(stopped) is WriteOutcome.UNKNOWN
    assert first_page == 1000  # the first page's request was answered: it is in


def test_a_loop_closed_without_aclose_leaves_nothing_to_hang_on(
        supabase_backend: SupabaseBackend) -> None:
    users = supabase_backend.astore("users")
    asyncio.run(users.create(models.User("u1", "u1@example.com", "h", "s")))  # no aclose
    assert _on_loop(supabase_backend, lambda: users.get_by_id("u1")) is not None
    supabase_backend.close()  # returns: nothing of the closed loop is awaited
    assert len(supabase_backend.async_project.transport._clients) == 0  # type: ignore[union-attr]
