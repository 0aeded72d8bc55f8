"""The PostgreSQL backend's async path (asyncpg pools) against the real server.

Every test uses a fresh database (``pg_backend``). Write blocking is made with a real
lock held by another connection; what the server did is asked of ``pg_stat_activity``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import types
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import psycopg2
import pytest
from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.aio import bridge
from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome
from aragora_storage_core.errors import DuplicateError, NotFoundError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores import TokenBlacklistStore
from tests.postgres.conftest import AUTO, HOST, PORT, USER

pytestmark = pytest.mark.postgres
T = TypeVar("T")


def user(key: str, **fields: Any) -> User:
    """A user with id ``key``."""
    return User(id=key, email=f"{key}@example.com", password_hash="h", password_salt="s",
                **fields)


def connect(dbname: str) -> Any:
    """Another client of the test database (not autocommit: it holds locks)."""
    return psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=dbname)


def activity(admin: Any, dbname: str, where: str = "TRUE") -> list[tuple[Any, ...]]:
    """``(pid, state, wait_event_type)`` of the database's sessions matching ``where``."""
    with admin.cursor() as cursor:
        cursor.execute("SELECT pid, state, wait_event_type FROM pg_stat_activity"
                       f" WHERE datname = %s AND pid <> pg_backend_pid() AND {where}",
                       (dbname,))
        return list(cursor.fetchall())


async def until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Poll ``condition`` (in a thread: it may block) until it holds."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.02)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Drive ``coroutine`` on a new event loop."""
    return asyncio.run(coroutine)


@pytest.fixture
def dbname(pg_backend: PostgresBackend) -> str:
    """The fresh database's name."""
    return str(pg_backend.url.database)


def test_async_store_writes_what_the_sync_store_reads_and_back(
        pg_backend: PostgresBackend) -> None:
    async def scenario() -> tuple[User | None, User | None, int]:
        users = pg_backend.astore("users")
        await users.create(user("a1", name="Ada"))
        await users.update("s1", name="Grace")
        assert await users.create_many([user(f"bulk{i}") for i in range(30)]) == 30
        found = await users.get_by_email("s1@example.com")
        missing = await users.get_by_id("nobody")
        return found, missing, await users.count()

    pg_backend.store("users").create(user("s1"))
    found, missing, count = run(scenario())
    assert found is not None and found.name == "Grace"
    assert missing is None
    assert count == 32
    stored = pg_backend.store("users").get_by_id("a1")
    assert stored is not None and stored.name == "Ada"


def test_async_store_raises_the_sync_store_errors(pg_backend: PostgresBackend) -> None:
    async def scenario() -> None:
        users = pg_backend.astore("users")
        await users.create(user("d1"))
        with pytest.raises(DuplicateError):
            await users.create(user("d1"))
        with pytest.raises(NotFoundError):
            await users.update("nobody", name="x")

    run(scenario())


def test_one_backend_serves_several_event_loops_and_close_does_not_hang(
        pg_url: str, pg_admin: Any) -> None:
    registry = Registry(env=AUTO)
    registry.connect(pg_url)
    tokens = registry.astore(TokenBlacklistStore)

    async def revoke(jti: str) -> bool:
        await tokens.revoke(jti, "2999-01-01T00:00:00+00:00")
        return bool(await tokens.is_revoked(jti))

    assert run(revoke("first-loop"))
    assert run(revoke("second-loop"))  # the first loop's pool is gone; a new one serves
    started = time.monotonic()
    registry.close()
    assert time.monotonic() - started < 10
    dbname = pg_url.rsplit("/", 1)[1]
    assert activity(pg_admin, dbname) == []


def test_aclose_closes_the_running_loops_connections(pg_backend: PostgresBackend,
                                                     pg_admin: Any, dbname: str) -> None:
    sync_sessions = len(activity(pg_admin, dbname))

    async def scenario() -> int:
        users = pg_backend.astore("users")
        await asyncio.gather(*(users.get_by_id(f"u{i}") for i in range(12)))
        opened = len(activity(pg_admin, dbname)) - sync_sessions
        await pg_backend.aclose()
        # The server ends a closed session's process a moment after the client left.
        await until(lambda: len(activity(pg_admin, dbname)) == sync_sessions)
        return opened

    assert run(scenario()) >= 1


#: A write through the bridge's greenlet (``update`` calls another store method) and one
#: run as its coroutine twin (``record_login``: one transaction, one statement).
WRITES: dict[str, Callable[[Any, str], Coroutine[Any, Any, Any]]] = {
    "bridged": lambda users, user_id: users.update(user_id, name="after"),
    "twin": lambda users, user_id: users.record_login(user_id),
}


def unchanged(backend: PostgresBackend, user_id: str) -> bool:
    """Whether neither write of :data:`WRITES` reached the user."""
    stored = backend.store("users").get_by_id(user_id)
    return stored is not None and stored.name == "before" and stored.last_login_at is None


def _blocked_update(dbname: str, admin: Any, cancel: Callable[[asyncio.Task[Any]], Any],
                    backend: PostgresBackend, path: str) -> BaseException:
    """Cancel (via ``cancel``) a write of :data:`WRITES` while another client holds the
    row lock; return the error the task ended with."""
    backend.store("users").create(user("locked", name="before"))
    holder = connect(dbname)
    holder.cursor().execute("SELECT 1 FROM users WHERE id = 'locked' FOR UPDATE")
    holder_pid = holder.get_backend_pid()

    async def scenario() -> BaseException:
        users = backend.astore("users")
        task = asyncio.create_task(WRITES[path](users, "locked"))
        await until(lambda: bool(activity(admin, dbname, "wait_event_type = 'Lock'")))
        caught = await cancel(task)
        # Only the lock holder is idle in a transaction: our connection went back clean.
        idle = activity(admin, dbname, "state LIKE 'idle in transaction%%'")
        assert [pid for pid, _, _ in idle] == [holder_pid]
        # The pool still serves, more calls than it has connections.
        found = await asyncio.gather(*(users.get_by_id("locked") for _ in range(40)))
        assert {u.name for u in found if u is not None} == {"before"}
        return caught

    try:
        return run(scenario())
    finally:
        holder.rollback()
        holder.close()


async def _cancelled(task: asyncio.Task[Any]) -> BaseException:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError as exc:
        return exc
    raise AssertionError("the task was not cancelled")


@pytest.mark.parametrize("path", sorted(WRITES))
def test_a_write_cancelled_while_blocked_rolls_back_and_says_not_applied(
        pg_backend: PostgresBackend, pg_admin: Any, dbname: str, path: str) -> None:
    caught = _blocked_update(dbname, pg_admin, _cancelled, pg_backend, path)
    assert isinstance(caught, asyncio.CancelledError)
    assert write_outcome(caught) is WriteOutcome.NOT_APPLIED
    assert unchanged(pg_backend, "locked")


@pytest.mark.parametrize("path", sorted(WRITES))
def test_a_write_timed_out_by_asyncio_timeout_behaves_the_same(
        pg_backend: PostgresBackend, pg_admin: Any, dbname: str, path: str) -> None:
    async def time_out(task: asyncio.Task[Any]) -> BaseException:
        try:
            async with asyncio.timeout(0.05):
                await asyncio.shield(task)
        except TimeoutError:
            pass
        return await _cancelled(task)

    async def with_timeout_inside(users: Any) -> BaseException:
        try:
            async with asyncio.timeout(0.3):
                await WRITES[path](users, "locked")
        except TimeoutError as exc:
            return exc
        raise AssertionError("no timeout")

    caught = _blocked_update(dbname, pg_admin, time_out, pg_backend, path)
    assert write_outcome(caught) is WriteOutcome.NOT_APPLIED
    holder = connect(dbname)
    holder.cursor().execute("SELECT 1 FROM users WHERE id = 'locked' FOR UPDATE")
    try:
        timed_out = run(with_timeout_inside(pg_backend.astore("users")))
    finally:
        holder.rollback()
        holder.close()
    assert isinstance(timed_out, TimeoutError)
    assert write_outcome(timed_out) is WriteOutcome.NOT_APPLIED
    assert unchanged(pg_backend, "locked")
    assert activity(pg_admin, dbname, "state LIKE 'idle in transaction%%'") == []


@pytest.mark.parametrize("path", sorted(WRITES))
def test_a_write_cancelled_during_commit_is_unknown_and_its_connection_closed(
        pg_backend: PostgresBackend, pg_admin: Any, dbname: str, path: str) -> None:
    # A deferred constraint trigger runs at COMMIT and waits for an advisory lock that
    # another client holds: the COMMIT is in flight when the task is cancelled.
    pg_backend.store("users").create(user("c1", name="before"))
    setup = connect(dbname)
    setup.autocommit = True
    setup.cursor().execute(
        "CREATE FUNCTION wait_at_commit() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$;"
        " CREATE CONSTRAINT TRIGGER at_commit AFTER UPDATE ON users"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wait_at_commit()")
    setup.cursor().execute("SELECT pg_advisory_lock(4242)")

    async def scenario() -> tuple[BaseException, int]:
        users = pg_backend.astore("users")
        task = asyncio.create_task(WRITES[path](users, "c1"))
        waiting: list[tuple[Any, ...]] = []

        def committing() -> bool:
            waiting[:] = activity(pg_admin, dbname, "wait_event = 'advisory'")
            return bool(waiting)

        await until(committing)
        caught = await _cancelled(task)
        assert await users.get_by_id("c1") is not None  # the pool still serves
        return caught, waiting[0][0]

    try:
        caught, committer = run(scenario())
    finally:
        setup.cursor().execute("SELECT pg_advisory_unlock(4242)")
        setup.close()
    assert write_outcome(caught) is WriteOutcome.UNKNOWN
    deadline = time.monotonic() + 10
    while activity(pg_admin, dbname, f"pid = {int(committer)}"):
        assert time.monotonic() < deadline, "the committing connection was not closed"
        time.sleep(0.05)
    assert activity(pg_admin, dbname, "state LIKE 'idle in transaction%%'") == []


def test_reads_and_writes_survive_connections_the_server_closed(
        pg_backend: PostgresBackend, pg_admin: Any, dbname: str) -> None:
    async def scenario() -> tuple[User | None, int]:
        users = pg_backend.astore("users")
        await users.create(user("r1"))
        await asyncio.gather(*(users.get_by_id("r1") for _ in range(5)))
        with pg_admin.cursor() as cursor:  # every session of the database, ours too
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
        found = await users.get_by_id("r1")
        await users.create(user("r2"))
        return found, await users.count()

    found, count = run(scenario())
    assert found is not None
    assert count == 2


def test_the_sync_api_does_not_load_the_async_driver(pg_url: str) -> None:
    code = ("import sys\n"
            "from aragora_storage_core.registry import Registry\n"
            f"registry = Registry(env={AUTO!r})\n"
            f"registry.connect({pg_url!r})\n"
            "assert registry.store('users').count() == 0\n"
            "print(sorted({'asyncpg', 'greenlet'} & set(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_await_outside_a_store_call_is_an_error(pg_backend: PostgresBackend) -> None:
    database = pg_backend._async_database()

    async def outside() -> None:
        database.fetch_one("SELECT 1")

    with pytest.raises(RuntimeError, match="outside an async store call"):
        run(outside())
    assert run(bridge.run(database.fetch_one, "SELECT 41 + 1")) == (42,)


def test_simple_reads_and_writes_run_as_twins_and_others_in_a_greenlet(
        pg_backend: PostgresBackend) -> None:
    # The shortcuts of the async path: a store method of reads or one transaction runs
    # as its coroutine twin; one calling other methods (update) through the bridge's
    # greenlet. A free pooled connection is taken without arming a timer, read from
    # asyncpg's queue of free holders (pinned here: without it every checkout would
    # wait under the pool timeout, correct but slower).
    users = pg_backend.astore("users")
    store_class = type(pg_backend.store("users"))

    async def scenario() -> tuple[Any, Any, bool]:
        await users.create(user("direct"))
        found = await users.get_by_id("direct")
        updated = await users.update("direct", name="Renamed")
        pool = pg_backend._async_database().pools.known("primary")
        return found, updated, isinstance(pool._queue, asyncio.Queue)

    found, updated, queue_seen = run(scenario())
    assert found is not None and found.email == user("direct").email
    assert updated.name == "Renamed"
    assert queue_seen
    for twin in (users.get_by_id, users.create):
        assert isinstance(twin, types.MethodType)  # the twin, bound to the store
    assert not isinstance(users.update, types.MethodType)  # the bridge's runner
    assert store_class.update in bridge._BRIDGED


def test_a_twin_read_cancelled_while_blocked_applied_nothing_and_leaves_no_session(
        pg_backend: PostgresBackend, pg_admin: Any, dbname: str) -> None:
    users = pg_backend.astore("users")
    run(users.create(user("locked")))
    holder = connect(dbname)
    try:
        with holder.cursor() as cursor:  # reads wait behind an exclusive table lock
            cursor.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")

        async def scenario() -> tuple[BaseException, Any]:
            task = asyncio.ensure_future(users.get_by_id("locked"))
            await asyncio.sleep(0.3)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError as exc:
                cancelled = exc
            holder.rollback()
            return cancelled, await users.get_by_id("locked")

        cancelled, found = run(scenario())
    finally:
        holder.close()
    assert write_outcome(cancelled) is WriteOutcome.NOT_APPLIED
    assert found is not None
    assert activity(pg_admin, dbname, "state LIKE 'idle in transaction%%'") == []
