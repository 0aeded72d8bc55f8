"""Conformance tests only the async API can express: many tasks on one store at once,
and writes cancelled (``task.cancel()``, ``asyncio.timeout``) while queued or running.

Each test runs its scenario on the test's private event loop (:mod:`.api`) and is
skipped, like the async variants of the store tests, for a backend without an async
path or one that does not serve the users store.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome
from aragora_storage_core.backend import Backend
from aragora_storage_core.models import User
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.testing.api import StoreApi, open_api
from aragora_storage_core.testing.stores import served

TASKS = 32


def _user(tag: str) -> User:
    unique = uuid.uuid4().hex[:12]
    return User(f"{tag}-{unique}", f"{tag}-{unique}@x.example", "h", "s")


async def _create(users: Any, user: User, deadline: float | None) -> Any:
    """``users.create(user)``, within ``deadline`` seconds if given: the user created,
    or the cancellation (or timeout) the task saw."""
    try:
        if deadline is None:
            return await users.create(user)
        async with asyncio.timeout(deadline):
            return await users.create(user)
    except (asyncio.CancelledError, TimeoutError) as stopped:
        return stopped


class TestAsyncTasksConformance:
    """Concurrent tasks and cancelled writes on ``backend.astore(StoreKind.USERS)``."""

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
        """Every fourth task is cancelled, every other fourth times out at once, while
        the rest queue around them; each stopped write is in the store exactly when its
        ``write_outcome`` says so (or may be, when UNKNOWN), and the store goes on."""
        batch = [_user("cut") for _ in range(4 * 4)]

        async def scenario() -> tuple[list[Any], list[Any], Any, int]:
            tasks = [asyncio.ensure_future(_create(users, user, 0 if i % 4 == 2 else None))
                     for i, user in enumerate(batch)]
            await asyncio.sleep(0)  # every task has handed its call over
            for task in tasks[::4]:
                task.cancel()
            results = await asyncio.gather(*tasks)
            stored = await asyncio.gather(*(users.get_by_id(user.id) for user in batch))
            after = await users.create(_user("after"))
            return list(results), list(stored), after, await users.count()

        results, stored, after, count = loop.loop.call(scenario())
        for result, found in zip(results, stored, strict=True):
            if isinstance(result, User):
                assert found == result
                continue
            outcome = write_outcome(result)
            assert outcome is not None, f"{type(result).__name__} without a write outcome"
            if outcome is WriteOutcome.NOT_APPLIED:
                assert found is None
            elif outcome is WriteOutcome.APPLIED:
                assert found is not None
        assert any(not isinstance(result, User) for result in results)
        assert after is not None
        assert count == sum(found is not None for found in stored) + 1
