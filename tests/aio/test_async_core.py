"""The async API's core: the greenlet bridge, the SQLite file worker, write outcomes,
the generated async protocols, and ``registry.astore`` on the embedded SQLite default."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aragora_storage_core.aio import bridge
from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome
from aragora_storage_core.aio.worker import FileWorker
from aragora_storage_core.errors import DuplicateError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores import TokenBlacklistStore, UserStore
from tests.aio.cancelling import cancellation_of

ROOT = Path(__file__).resolve().parents[2]


def _user(n: int) -> User:
    return User(id=f"u{n}", email=f"user{n}@example.com", password_hash="h", password_salt="s")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(env={"DATABASE_URL": f"sqlite:///{tmp_path}/app.db"})
    yield registry
    registry.close()


def test_async_protocols_are_generated_from_the_protocols() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "generate-async-protocols"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_astore_on_sqlite_reads_what_the_sync_store_wrote_and_back(registry: Registry) -> None:
    async def scenario() -> tuple[User | None, User | None]:
        users = registry.astore(UserStore)
        await users.create(_user(1))
        return await users.get_by_email("user1@example.com"), await users.get_by_id("nobody")

    found, missing = asyncio.run(scenario())
    assert found is not None and found.id == "u1"
    assert missing is None
    assert registry.store(UserStore).get_by_id("u1") == found


def test_astore_raises_the_same_errors_as_the_sync_store(registry: Registry) -> None:
    async def scenario() -> None:
        users = registry.astore("users")
        await users.create(_user(1))
        await users.create(_user(1))

    with pytest.raises(DuplicateError):
        asyncio.run(scenario())


def test_astore_has_only_the_protocol_methods(registry: Registry) -> None:
    users = registry.astore(UserStore)
    assert users.get_by_id.__doc__ == registry.store(UserStore).get_by_id.__doc__
    with pytest.raises(AttributeError, match="no method 'prepare'"):
        users.prepare  # noqa: B018  (the sync store has it; the protocol does not)


def test_every_sqlite_file_gets_one_thread_however_many_calls(tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_DATA_DIR": str(tmp_path), "ARAGORA_DB_MODE": "legacy"})
    before = threading.active_count()

    async def scenario() -> None:
        users, tokens = registry.astore(UserStore), registry.astore(TokenBlacklistStore)
        await asyncio.gather(*(users.create(_user(n)) for n in range(20)))
        await asyncio.gather(*(tokens.is_revoked(f"j{n}") for n in range(20)))

    try:
        asyncio.run(scenario())
        # users.db and token_blacklist.db: two files, two threads
        assert threading.active_count() - before == 2
        assert registry.store(UserStore).count() == 20
    finally:
        registry.close()
    assert threading.active_count() == before


def test_a_call_cancelled_in_the_queue_is_not_applied(registry: Registry) -> None:
    users = registry.astore(UserStore)
    sync_users = registry.store(UserStore)
    database = sync_users.database
    release = threading.Event()

    async def scenario() -> BaseException:
        worker = FileWorker("test", database.connection)
        try:
            blocker = asyncio.ensure_future(worker.run(release.wait, 30))
            queued = asyncio.ensure_future(worker.run(sync_users.create, _user(7)))
            await asyncio.sleep(0.05)
            queued.cancel()
            try:
                await queued
            except asyncio.CancelledError as exc:
                caught: BaseException = exc
            release.set()
            await blocker
            return caught
        finally:
            worker.close()

    cancelled = asyncio.run(scenario())
    assert write_outcome(cancelled) is WriteOutcome.NOT_APPLIED
    assert asyncio.run(_get(users, "u7")) is None


async def _get(users: object, user_id: str) -> User | None:
    result: User | None = await users.get_by_id(user_id)  # type: ignore[attr-defined]
    return result


def test_a_timeout_says_what_the_cancelled_write_did(registry: Registry) -> None:
    users = registry.astore(UserStore)

    async def scenario() -> BaseException:
        try:
            async with asyncio.timeout(0):
                await users.create(_user(3))
        except TimeoutError as exc:
            return exc
        raise AssertionError("the timeout did not fire")

    timed_out = asyncio.run(scenario())
    outcome = write_outcome(timed_out)
    stored = asyncio.run(_get(users, "u3"))
    assert outcome is not None
    if outcome is WriteOutcome.NOT_APPLIED:
        assert stored is None
    elif outcome is WriteOutcome.APPLIED:
        assert stored is not None


# -- the greenlet bridge, driven by asyncio itself ------------------------------------

def _transaction(log: list[str]) -> str:
    """Store-like code: a transaction whose statements are awaited through the bridge."""
    tracker = bridge.writes()
    tracker.began()
    try:
        bridge.await_(asyncio.sleep(0.01))
        log.append("statement")
        tracker.committing()
        bridge.await_(asyncio.sleep(0.2))
        tracker.committed()
    except BaseException:
        bridge.await_(asyncio.sleep(0))  # the rollback is awaited too
        tracker.ended()
        log.append("rolled back")
        raise
    return "done"


def test_the_bridge_returns_the_result_and_runs_each_await_on_the_loop() -> None:
    log: list[str] = []
    assert asyncio.run(bridge.run(_transaction, log)) == "done"
    assert log == ["statement"]


@pytest.mark.parametrize(("cancel_after", "expected"), [
    (0.001, WriteOutcome.NOT_APPLIED),  # during the statement
    (0.1, WriteOutcome.UNKNOWN),        # while the commit is in flight
])
def test_a_cancellation_rolls_back_through_the_bridge_and_says_what_it_did(
        cancel_after: float, expected: WriteOutcome) -> None:
    log: list[str] = []
    cancelled = cancellation_of(lambda: bridge.run(_transaction, log), after=cancel_after)
    assert log[-1] == "rolled back"
    assert write_outcome(cancelled) is expected


def test_the_bridge_throws_driver_errors_into_the_store_code() -> None:
    async def failing() -> None:
        raise ValueError("driver says no")

    def store_code() -> str:
        try:
            bridge.await_(failing())
        except ValueError as exc:
            return f"handled: {exc}"
        return "not raised"

    assert asyncio.run(bridge.run(store_code)) == "handled: driver says no"


def test_await_outside_a_bridged_call_is_an_error_not_a_block() -> None:
    with pytest.raises(RuntimeError, match=r"registry\.astore"):
        bridge.await_(asyncio.sleep(0))


def test_the_bridge_carries_context_variables_into_the_store_code() -> None:
    registry = Registry(env={})
    from aragora_storage_core.consistency import primary_only

    async def scenario() -> bool:
        with registry.primary():
            return await bridge.run(primary_only.get)

    assert asyncio.run(scenario()) is True
