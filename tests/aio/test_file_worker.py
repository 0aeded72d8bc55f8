"""The SQLite file worker hands each result to its own caller, whatever the batching of
wake-ups, across event loops, and keeps no finished loop alive."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator

import pytest

from aragora_storage_core.aio.worker import FileWorker


class _Connection:
    """Nothing to interrupt: these calls run no SQL."""

    def interrupt(self) -> None:
        """No statement to stop."""


@pytest.fixture
def worker() -> Iterator[FileWorker]:
    worker = FileWorker("test", _Connection)
    yield worker
    worker.close()


def _echo(value: int) -> int:
    if value % 7 == 0:
        raise ValueError(value)
    return value


async def _many(worker: FileWorker, count: int) -> list[int | BaseException]:
    return list(await asyncio.gather(*(worker.run(_echo, n) for n in range(count)),
                                     return_exceptions=True))


def test_every_caller_of_many_at_once_gets_its_own_result_or_error(
        worker: FileWorker) -> None:
    results = asyncio.run(_many(worker, 500))
    for n, result in enumerate(results):
        if n % 7 == 0:
            assert isinstance(result, ValueError) and result.args == (n,)
        else:
            assert result == n


def test_one_worker_serves_loop_after_loop_and_keeps_none_alive(worker: FileWorker) -> None:
    for _ in range(3):
        assert asyncio.run(_many(worker, 50))[1:3] == [1, 2]
    # The worker thread may still be returning from handing over the last result (its
    # frame holds that job, so its loop) when asyncio.run returns: wait until it is idle.
    deadline = time.monotonic() + 10
    while True:
        gc.collect()
        if not worker._outboxes:
            break  # the loops that finished are gone
        assert time.monotonic() < deadline, "a finished event loop is still kept alive"
        time.sleep(0.01)


def _shape(results: list[int | BaseException]) -> list[object]:
    return [("error", r.args) if isinstance(r, BaseException) else r for r in results]


def test_two_loops_at_once_each_get_their_own_results(worker: FileWorker) -> None:
    async def both() -> list[list[int | BaseException]]:
        theirs = asyncio.to_thread(asyncio.run, _many(worker, 300))  # a loop in a thread
        return list(await asyncio.gather(_many(worker, 300), theirs))

    ours, theirs = asyncio.run(both())
    assert _shape(ours) == _shape(theirs) == _shape(asyncio.run(_many(worker, 300)))
    assert ours[1:4] == [1, 2, 3]
