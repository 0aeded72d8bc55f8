"""One dedicated thread per SQLite file, running the synchronous store calls of coroutines.

SQLite has no async driver: its calls block. Each file gets one worker thread (not one
per call) with its own connection, so the store code keeps its ``BEGIN IMMEDIATE`` and
busy retries, and the event loop only waits on a future.

A coroutine cancelled while its call waits in the queue takes the call out: nothing is
applied. One cancelled while its call runs interrupts the running statement
(``sqlite3.Connection.interrupt``, and the transaction rolls back); as the call may have
been past its commit, the outcome is ``UNKNOWN``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aragora_storage_core.aio.outcome import WriteOutcome, mark

T = TypeVar("T")



class Interruptible(Protocol):
    """A connection whose running statement can be stopped from another thread."""

    def interrupt(self) -> None:
        """Abort the statement running now (the call sees an error and rolls back)."""


_WAITING, _RUNNING, _DONE, _DROPPED = range(4)


class _Job:
    """One call handed to the worker, and the future its coroutine awaits."""

    __slots__ = ("args", "fn", "future", "kwargs", "loop", "state", "succeeded")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.fn, self.args, self.kwargs, self.loop = fn, args, kwargs, loop
        self.future: asyncio.Future[Any] = loop.create_future()
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
        self._thread = threading.Thread(target=self._serve, name=f"aragora-sqlite {name}",
                                        daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` run on this file's thread."""
        job = _Job(fn, args, kwargs, asyncio.get_running_loop())
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
        while (job := self._jobs.get()) is not None:
            with self._lock:
                if job.state == _DROPPED:
                    continue
                job.state = _RUNNING
            try:
                if self._connection is None:
                    self._connection = self._connect()
                result = job.fn(*job.args, **job.kwargs)
            except BaseException as exc:  # handed to the awaiting coroutine
                self._finish(job, False, exc)
            else:
                self._finish(job, True, result)

    def _finish(self, job: _Job, succeeded: bool, value: Any) -> None:
        with self._lock:
            job.state, job.succeeded = _DONE, succeeded
        try:
            job.loop.call_soon_threadsafe(_settle, job.future, succeeded, value)
        except RuntimeError:
            return  # the loop is closed: nobody awaits this call any more

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
