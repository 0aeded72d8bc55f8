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
    """The greenlet running one store call, with its write tracker."""

    def __init__(self, fn: Callable[..., Any], parent: greenlet.greenlet) -> None:
        super().__init__(fn, parent)
        self.writes = WriteTracker()


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
    call = _Call(fn, greenlet.getcurrent())
    call.gr_context = contextvars.copy_context()
    at_cancel: WriteOutcome | None = None
    pending: Any = call.switch(*args, **kwargs)
    while not call.dead:
        failure: BaseException | None = None
        try:
            value = await pending
        except BaseException as exc:  # the driver's error (or the cancellation) goes in
            failure = exc
            if at_cancel is None and isinstance(exc, asyncio.CancelledError):
                at_cancel = call.writes.outcome()
        try:
            pending = call.switch(value) if failure is None else call.throw(failure)
        except asyncio.CancelledError as raised:
            if at_cancel is not None:
                mark(raised, max(at_cancel, call.writes.outcome(), key=_severity))
            raise
    result: T = pending
    return result


def _severity(outcome: WriteOutcome) -> int:
    """Order outcomes so the one least sure of "not applied" wins."""
    return (WriteOutcome.NOT_APPLIED, WriteOutcome.APPLIED, WriteOutcome.UNKNOWN).index(outcome)
