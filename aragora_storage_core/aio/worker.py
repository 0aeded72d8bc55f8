"""One dedicated thread per SQLite file, running the synchronous store calls of coroutines.

SQLite has no async driver: its calls block. Each file gets one worker thread (not one
per call) with its own connection, so the store code keeps its ``BEGIN IMMEDIATE`` and
busy retries, and the event loop only waits on a future.

Results go back through one outbox per event loop: the worker wakes the loop only when
the outbox was empty, and the loop settles every result waiting there in one callback, so
many tasks on one file cost one wake-up per batch rather than one per call.

A coroutine cancelled while its call waits in the queue takes the call out: nothing is
applied. One cancelled while its call runs interrupts the running statement
(``sqlite3.Connection.interrupt``, and the transaction rolls back); as the call may have
been past its commit, the outcome is ``UNKNOWN``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aragora_storage_core.aio.outcome import WriteOutcome, mark
from aragora_storage_core.aio.per_loop import PerLoop

T = TypeVar("T")


class Interruptible(Protocol):
    """A connection whose running statement can be stopped from another thread."""

    def interrupt(self) -> None:
        """Abort the statement running now (the call sees an error and rolls back)."""


_WAITING, _RUNNING, _DONE, _DROPPED = range(4)


class _Outbox:
    """The finished calls of one event loop, waiting to be settled there.

    The worker wakes the loop (``call_soon_threadsafe``) only when it puts the first
    result of a batch; the loop takes every result waiting in one callback.
    """

    __slots__ = ("__weakref__", "_lock", "_loop", "_results", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # the worker's map of outboxes must not keep it
        self._lock = threading.Lock()
        self._results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        self._scheduled = False

    def put(self, future: asyncio.Future[Any], succeeded: bool, value: Any) -> None:
        """From the worker: hand a result over; wake the loop if it is not woken yet."""
        with self._lock:
            self._results.append((future, succeeded, value))
            if self._scheduled:
                return
            self._scheduled = True
        loop = self._loop()
        try:
            if loop is not None:
                loop.call_soon_threadsafe(self._settle_all)
        except RuntimeError:
            return  # the loop is closed: nobody awaits these calls any more

    def _settle_all(self) -> None:
        with self._lock:
            results, self._results = self._results, []
            self._scheduled = False
        for future, succeeded, value in results:
            _settle(future, succeeded, value)


class _Job:
    """One call handed to the worker, and the future its coroutine awaits."""

    __slots__ = ("args", "fn", "future", "kwargs", "outbox", "state", "succeeded")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 future: asyncio.Future[Any], outbox: _Outbox) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.future, self.outbox = future, outbox
        self.state = _WAITING
        self.succeeded = False


class FileWorker:
    """The thread that runs every async store call of one SQLite file, in order.

    ``connect`` is called once on the worker thread, before its first call: it opens the
    thread's connection (the store code finds it there) and returns it, so that a
    cancellation can interrupt it from the event loop's thread.
    """

    def __init__(self, name: str, connect: Callable[[], Interruptible]) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._connect = connect
        self._connection: Interruptible | None = None
        self._outboxes = PerLoop(_Outbox)
        self._thread = threading.Thread(target=self._serve, name=f"aragora-sqlite {name}",
                                        daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` run on this file's thread."""
        job = _Job(fn, args, kwargs, asyncio.get_running_loop().create_future(),
                   self._outboxes.here())
        self._jobs.put(job)
        try:
            result: T = await job.future
            return result
        except asyncio.CancelledError as exc:
            mark(exc, self._cancel(job))
            raise

    def _cancel(self, job: _Job) -> WriteOutcome:
        """Take ``job`` back if it has not started; else interrupt it."""
        with self._lock:
            if job.state == _WAITING:
                job.state = _DROPPED
                return WriteOutcome.NOT_APPLIED
            if job.state == _DONE:
                return WriteOutcome.APPLIED if job.succeeded else WriteOutcome.NOT_APPLIED
            if self._connection is not None:
                self._connection.interrupt()
            return WriteOutcome.UNKNOWN

    def _serve(self) -> None:
        # one call per method frame: while the thread waits for the next job it holds
        # nothing of the last one (its result, its future, so its event loop)
        while self._serve_one(self._jobs.get()):
            pass

    def _serve_one(self, job: _Job | None) -> bool:
        if job is None:
            return False
        with self._lock:
            if job.state == _DROPPED:
                return True
            job.state = _RUNNING
        try:
            if self._connection is None:
                self._connection = self._connect()
            result = job.fn(*job.args, **job.kwargs)
        except BaseException as exc:  # handed to the awaiting coroutine
            self._finish(job, False, exc)
        else:
            self._finish(job, True, result)
        return True

    def _finish(self, job: _Job, succeeded: bool, value: Any) -> None:
        with self._lock:
            job.state, job.succeeded = _DONE, succeeded
        job.outbox.put(job.future, succeeded, value)

    def close(self) -> None:
        """Stop the thread after the calls already queued."""
        self._jobs.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)


def _settle(future: asyncio.Future[Any], succeeded: bool, value: Any) -> None:
    if future.done():
        return  # cancelled meanwhile
    if succeeded:
        future.set_result(value)
    else:
        future.set_exception(value)
