"""Run synchronous store code against an async driver, without blocking the event loop.

:func:`run` starts the store method in a greenlet. Where the store's database (or client)
adapter needs the driver, it calls :func:`await_` with the driver's awaitable: the
greenlet pauses, :func:`run` awaits the awaitable on the event loop and resumes the
greenlet with its result (or throws its exception into it). The store code, with its
SQL, parameters and row mapping, is the synchronous store's, unchanged.

A cancellation (``task.cancel()``, ``asyncio.timeout``) is thrown into the greenlet at
the driver call it interrupted: the store's ``with transaction()`` block sees it and
rolls back through the same adapter, then the ``CancelledError`` leaves :func:`run`
carrying the :class:`~aragora_storage_core.aio.outcome.WriteOutcome` the adapter's
:class:`WriteTracker` calls decided.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import greenlet

from aragora_storage_core.aio.outcome import WriteOutcome, mark

T = TypeVar("T")


class WriteTracker:
    """What one store call has written so far, told by the adapter as it goes.

    SQL adapters call :meth:`began` after ``BEGIN``, :meth:`committing` before sending
    ``COMMIT``, :meth:`committed` after it returns and :meth:`ended` after a rollback.
    Adapters of databases without transactions wrap each write request in
    :meth:`committing` ... :meth:`committed`.
    """

    __slots__ = ("_committed", "_in_flight", "_open")

    def __init__(self) -> None:
        self._open = self._in_flight = self._committed = False

    def began(self) -> None:
        """A transaction is open: its statements are not applied until it commits."""
        self._open = True

    def committing(self) -> None:
        """A commit (or a write that applies on arrival) is on its way to the server."""
        self._in_flight = True

    def committed(self) -> None:
        """The commit (or write) returned: its changes are applied."""
        self._in_flight = self._open = False
        self._committed = True

    def ended(self) -> None:
        """The transaction rolled back: nothing of it is applied."""
        self._in_flight = self._open = False

    def outcome(self) -> WriteOutcome:
        """What a cancellation now leaves behind."""
        if self._in_flight or (self._committed and self._open):
            return WriteOutcome.UNKNOWN
        return WriteOutcome.APPLIED if self._committed else WriteOutcome.NOT_APPLIED


class _Call(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running store calls, one at a time, each with a fresh write tracker.

    It is kept for the next call when one ends (:func:`run` takes it from the thread's
    idle ones): starting a new greenlet costs a fresh Python data stack, an ``mmap`` and
    ``munmap`` each, which was most of the bridge's cost per call.
    """

    def __init__(self) -> None:
        super().__init__(self._serve)
        self.writes = WriteTracker()
        self.finished: tuple[bool, Any] | None = None

    def _serve(self, job: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]) -> None:
        while True:
            self.finished = _call(*job)
            job = self.parent.switch(_FINISHED)  # idle until the next call's job


def _call(fn: Callable[..., Any], args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> tuple[bool, Any]:
    """``(True, result)`` of ``fn(*args, **kwargs)``, or ``(False, what it raised)``."""
    try:
        return True, fn(*args, **kwargs)
    except BaseException as exc:  # handed to the awaiting coroutine by run()
        return False, exc


#: What a :class:`_Call` switches to its parent when a call ended (see ``finished``).
_FINISHED = object()
#: Idle greenlets kept per thread; more than this many calls at once make new ones.
_IDLE_KEPT = 256
_idle = threading.local()


def _take() -> _Call:
    """An idle :class:`_Call` of this thread (a new one if there is none)."""
    stack: list[_Call] | None = getattr(_idle, "calls", None)
    if stack:
        call = stack.pop()
        call.parent = greenlet.getcurrent()
        return call
    if stack is None:
        _idle.calls = []
    return _Call()


def _give_back(call: _Call) -> None:
    """Keep ``call`` for a later one (it waits in its ``_serve`` loop)."""
    call.finished = None
    call.gr_context = None
    stack: list[_Call] = _idle.calls
    if len(stack) < _IDLE_KEPT:
        stack.append(call)


class _Outside:
    """The tracker used outside a bridged call (synchronous use): it records nothing."""

    __slots__ = ()

    def began(self) -> None:
        """Nothing to record."""

    committing = committed = ended = began


_OUTSIDE = _Outside()


def writes() -> WriteTracker | _Outside:
    """The write tracker of the store call running in this greenlet."""
    current = greenlet.getcurrent()
    return current.writes if isinstance(current, _Call) else _OUTSIDE


def await_(awaitable: Awaitable[T]) -> T:
    """From store code running under :func:`run`: the result of ``awaitable``.

    Outside :func:`run` this is a programming error (an async adapter used from
    synchronous code) and raises ``RuntimeError`` instead of blocking.
    """
    current = greenlet.getcurrent()
    if not isinstance(current, _Call):
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()  # no "coroutine was never awaited" warning on top of the error
        raise RuntimeError("an async store adapter was called outside an async store call; "
                           "use registry.astore(...) from a coroutine")
    result: T = current.parent.switch(awaitable)
    return result


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Await ``fn(*args, **kwargs)``, running it in a greenlet (see the module docs).

    The call sees the caller's context variables (``registry.primary()`` for one).
    """
    call = _take()
    call.writes = WriteTracker()
    call.gr_context = contextvars.copy_context()
    at_cancel: WriteOutcome | None = None
    pending: Any = call.switch((fn, args, kwargs))
    while pending is not _FINISHED:
        failure: BaseException | None = None
        try:
            value = await pending
        except BaseException as exc:  # the driver's error (or the cancellation) goes in
            failure = exc
            if at_cancel is None and isinstance(exc, asyncio.CancelledError):
                at_cancel = call.writes.outcome()
        pending = call.switch(value) if failure is None else call.throw(failure)
    finished, writes = call.finished, call.writes
    assert finished is not None
    _give_back(call)
    succeeded, result = finished
    if succeeded:
        returned: T = result
        return returned
    if at_cancel is not None and isinstance(result, asyncio.CancelledError):
        mark(result, max(at_cancel, writes.outcome(), key=_severity))
    raise result


def _severity(outcome: WriteOutcome) -> int:
    """Order outcomes so the one least sure of "not applied" wins."""
    return (WriteOutcome.NOT_APPLIED, WriteOutcome.APPLIED, WriteOutcome.UNKNOWN).index(outcome)
