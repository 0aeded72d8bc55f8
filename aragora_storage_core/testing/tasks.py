"""Conformance tests only the async API can express: many tasks on one store at once,
and writes cancelled (``task.cancel()``, ``asyncio.timeout``) while queued or running.

Each test runs its scenario on the test's private event loop (:mod:`.api`) and is
skipped, like the async variants of the store tests, for a backend without an async
path or one that does not serve its store.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome
from aragora_storage_core.backend import Backend
from aragora_storage_core.models import StreamEvent, User
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.testing.api import StoreApi, open_api
from aragora_storage_core.testing.stores import served

TASKS = 32


def _user(tag: str) -> User:
    unique = uuid.uuid4().hex[:12]
    return User(f"{tag}-{unique}", f"{tag}-{unique}@x.example", "h", "s")


class _Stopped:
    """A write that was cancelled or timed out, and what it said it did."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.outcome = write_outcome(error)


async def _attempt(write: Callable[[], Awaitable[Any]], deadline: float | None) -> Any:
    """``await write()``, within ``deadline`` seconds if given: its result, or
    :class:`_Stopped` with the cancellation (or timeout) the task saw."""
    try:
        if deadline is None:
            return await write()
        async with asyncio.timeout(deadline):
            return await write()
    except (asyncio.CancelledError, TimeoutError) as stopped:
        return _Stopped(stopped)


async def _stop_some(writes: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Start every write as a task; cancel every fourth once all have handed their call
    over, and give every other fourth a deadline already past. Each one's result, or
    :class:`_Stopped`."""
    tasks = [asyncio.ensure_future(_attempt(write, 0 if i % 4 == 2 else None))
             for i, write in enumerate(writes)]
    await asyncio.sleep(0)  # every task has handed its call over
    for task in tasks[::4]:
        task.cancel()
    return list(await asyncio.gather(*tasks))


def _check_outcomes(results: list[Any], present: list[bool]) -> None:
    """Each stopped write is there exactly when its outcome says so (either way when
    UNKNOWN), every stopped write has an outcome, and some writes were stopped."""
    for result, there in zip(results, present, strict=True):
        if not isinstance(result, _Stopped):
            assert there, f"a write that returned {result!r} is not there"
            continue
        assert result.outcome is not None, f"{result.error!r} carries no write outcome"
        if result.outcome is WriteOutcome.NOT_APPLIED:
            assert not there, "a write said NOT_APPLIED is there"
        elif result.outcome is WriteOutcome.APPLIED:
            assert there, "a write said APPLIED is not there"
    assert any(isinstance(result, _Stopped) for result in results)


class TestAsyncTasksConformance:
    """Concurrent tasks and cancelled writes on the async stores (users, token
    blacklist, stream events: each test skips where its store is not served)."""

    @pytest.fixture
    def loop(self, request: pytest.FixtureRequest) -> Iterator[StoreApi]:
        """The test's private event loop (``await backend.aclose()`` on it at teardown)."""
        api = open_api(request, "async")
        yield api
        api.close()

    @pytest.fixture
    def users(self, loop: StoreApi, conformance_backend: Backend) -> Any:
        served(conformance_backend, StoreKind.USERS)
        return loop.astore(StoreKind.USERS)

    def test_tasks_creating_users_at_once_all_land(self, users: Any, loop: StoreApi) -> None:
        batch = [_user("task") for _ in range(TASKS)]

        async def scenario() -> tuple[list[Any], list[Any], int]:
            created = await asyncio.gather(*(users.create(user) for user in batch))
            found = await asyncio.gather(*(users.get_by_id(user.id) for user in batch))
            return list(created), list(found), await users.count()

        created, found, count = loop.loop.call(scenario())
        assert [user.id for user in created] == [user.id for user in batch]
        assert found == created
        assert count == TASKS

    def test_tasks_counting_on_one_row_lose_no_update(self, users: Any,
                                                       loop: StoreApi) -> None:
        async def scenario() -> tuple[list[int], Any]:
            user = await users.create(_user("counted"))

            async def three() -> list[int]:
                return [await users.record_failed_login(user.id) for _ in range(3)]

            counts = await asyncio.gather(*(three() for _ in range(TASKS)))
            return [n for each in counts for n in each], await users.get_by_id(user.id)

        seen, user = loop.loop.call(scenario())
        assert sorted(seen) == list(range(1, 3 * TASKS + 1))  # each value returned once
        assert user.failed_login_count == 3 * TASKS

    def test_cancelled_writes_leave_what_their_outcome_says(self, users: Any,
                                                            loop: StoreApi) -> None:
        """Cancelled and timed-out creates among others queued around them: each is in
        the store exactly when its ``write_outcome`` says so, and the store goes on."""
        batch = [_user("cut") for _ in range(4 * 4)]

        async def scenario() -> tuple[list[Any], list[Any], Any, int]:
            results = await _stop_some([partial(users.create, user) for user in batch])
            stored = await asyncio.gather(*(users.get_by_id(user.id) for user in batch))
            after = await users.create(_user("after"))
            return results, list(stored), after, await users.count()

        results, stored, after, count = loop.loop.call(scenario())
        _check_outcomes(results, [found is not None for found in stored])
        for result, found in zip(results, stored, strict=True):
            if isinstance(result, User):
                assert found == result
        assert after is not None
        # An UNKNOWN write may still land after the read-back (an HTTP request in flight
        # when its task was cancelled): it may add to the count, nothing else may.
        present = sum(found is not None for found in stored) + 1
        late = sum(isinstance(result, _Stopped) and result.outcome is WriteOutcome.UNKNOWN
                   and found is None for result, found in zip(results, stored, strict=True))
        assert present <= count <= present + late

    def test_cancelled_revocations_leave_what_their_outcome_says(
            self, loop: StoreApi, conformance_backend: Backend) -> None:
        served(conformance_backend, StoreKind.TOKEN_BLACKLIST)
        tokens = loop.astore(StoreKind.TOKEN_BLACKLIST)
        jtis = [f"cut-{uuid.uuid4().hex[:12]}" for _ in range(4 * 4)]
        until = datetime.now(UTC) + timedelta(hours=1)

        async def scenario() -> tuple[list[Any], list[bool], bool]:
            results = await _stop_some([partial(tokens.revoke, jti, until) for jti in jtis])
            revoked = await asyncio.gather(*(tokens.is_revoked(jti) for jti in jtis))
            await tokens.revoke("after", until)
            return results, list(revoked), await tokens.is_revoked("after")

        results, revoked, after = loop.loop.call(scenario())
        _check_outcomes(results, revoked)
        assert after is True

    def test_tasks_appending_events_at_once_lose_none(
            self, loop: StoreApi, conformance_backend: Backend) -> None:
        served(conformance_backend, StoreKind.STREAM_EVENTS)
        events = loop.astore(StoreKind.STREAM_EVENTS)
        stream = f"tasks-{uuid.uuid4().hex[:12]}"

        async def scenario() -> tuple[list[str], list[StreamEvent]]:
            async def three(task: int) -> list[str]:
                return [await events.append(StreamEvent(stream, 1, "tick", {"n": task * 3 + i}))
                        for i in range(3)]

            ids = await asyncio.gather(*(three(task) for task in range(TASKS)))
            return [i for each in ids for i in each], await events.read(stream, limit=1000)

        ids, read = loop.loop.call(scenario())
        assert len(set(ids)) == 3 * TASKS
        assert sorted(e.event_data["n"] for e in read) == list(range(3 * TASKS))
        assert sorted(str(e.id) for e in read) == sorted(ids)
