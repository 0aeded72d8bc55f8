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

**Reads without a greenlet.** Most calls are one read, and a greenlet's switches cost
more than the rest of the framework together. An adapter passes ``key`` to
:func:`await_` for a read: an awaitable that changes nothing on the server and whose
result ``key`` (target, statement, parameters) determines. :func:`run` first calls the
store method directly, in a copy of the caller's context; the first keyed read raises out
of it carrying its awaitable, :func:`run` awaits that, and calls the method again, where
the same read (same ``key``) now returns the answer at once. A method done after at most
:data:`_MAX_ANSWERS` reads never needs a greenlet. Anything else (an unkeyed awaitable,
which is every write, or a read whose ``key`` differs on the next pass) falls back to a
greenlet that runs the method once more, from the start, handed the answers so far: a
write is only ever sent from the greenlet, once. A method that needed the greenlet once
goes straight to it from then on.
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
        self.answers: list[_Answer] = []

    def _serve(self, job: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]) -> None:
        """Run each job as ``(True, result)`` or ``(False, what it raised)`` in
        ``finished``, then idle until the next job."""
        while True:
            fn, args, kwargs = job
            try:
                self.finished = (True, fn(*args, **kwargs))
            except BaseException as exc:  # handed to the awaiting coroutine by run()
                self.finished = (False, exc)
            job = self.parent.switch(_FINISHED)


#: What a :class:`_Call` switches to its parent when a call ended (see ``finished``).
_FINISHED = object()
#: Idle greenlets kept per thread; more than this many calls at once make new ones.
_IDLE_KEPT = 256


class _PerThread(threading.local):
    """Per thread: its idle greenlets (``calls``, :func:`run` reuses them) and the direct
    pass running now (``direct``)."""

    def __init__(self) -> None:
        self.calls: list[_Call] = []
        self.direct: _Pass | None = None


_per_thread = _PerThread()


class _Outside:
    """The tracker used outside a bridged call (synchronous use): it records nothing."""

    __slots__ = ()

    def began(self) -> None:
        """Nothing to record."""

    committing = committed = ended = began


_OUTSIDE = _Outside()


#: An awaited read: ``(key, succeeded, result or exception)``.
_Answer = tuple[Any, bool, Any]
#: Reads :func:`run` awaits for one call before it hands the call to a greenlet.
_MAX_ANSWERS = 4
#: Store functions whose calls go straight to a greenlet (see the module docs).
_BRIDGED: set[Any] = set()


class _Pass:
    """The direct (greenlet-free) passes of one store call: the reads answered so far,
    and where the pass that stopped left off."""

    __slots__ = ("answers", "key", "pending", "position")

    def __init__(self, answers: list[_Answer]) -> None:
        self.answers = answers
        self.position = 0
        self.pending: Awaitable[Any] | None = None
        self.key: object = None


class _Deferred(BaseException):
    """Leaves a direct pass at a read not answered yet (``pending`` on its :class:`_Pass`).

    A ``BaseException``, like ``GeneratorExit``: store code's ``except Exception`` lets it
    through.
    """


class _NeedsGreenlet(BaseException):
    """Leaves a direct pass that cannot go on without a greenlet (see the module docs)."""


def writes() -> WriteTracker | _Outside:
    """The write tracker of the store call running in this greenlet."""
    current = greenlet.getcurrent()
    return current.writes if isinstance(current, _Call) else _OUTSIDE


def await_(awaitable: Awaitable[T], key: object = None) -> T:
    """From store code running under :func:`run`: the result of ``awaitable``.

    ``key``: only for a read (``awaitable`` changes nothing on the server), the values
    that determine its result, e.g. ``(target, sql, params)``; it lets :func:`run` answer
    the read without a greenlet (see the module docs). Outside :func:`run` this is a
    programming error (an async adapter used from synchronous code) and raises
    ``RuntimeError`` instead of blocking.
    """
    current = greenlet.getcurrent()
    if isinstance(current, _Call):
        if key is not None and current.answers:
            answer = current.answers.pop(0)
            if answer[0] == key:
                return _answered(awaitable, answer)
            current.answers.clear()  # this pass went another way: ask afresh from here
        result: T = current.parent.switch(awaitable)
        return result
    direct = _per_thread.direct
    if direct is None:
        _close(awaitable)
        raise RuntimeError("an async store adapter was called outside an async store call; "
                           "use registry.astore(...) from a coroutine")
    position = direct.position
    if key is None:
        _close(awaitable)
        raise _NeedsGreenlet
    if position == len(direct.answers):
        direct.pending, direct.key = awaitable, key
        raise _Deferred
    answer = direct.answers[position]
    direct.position = position + 1
    if answer[0] != key:
        _close(awaitable)
        raise _NeedsGreenlet
    return _answered(awaitable, answer)


def _answered(awaitable: Awaitable[T], answer: _Answer) -> T:
    """The result of an awaited read, for a pass that asks for it again (``awaitable``,
    its new twin, is dropped unawaited)."""
    _close(awaitable)
    succeeded, value = answer[1], answer[2]
    if succeeded:
        returned: T = value
        return returned
    raise value


def _close(awaitable: Awaitable[Any]) -> None:
    """Drop an awaitable that will never be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Await ``fn(*args, **kwargs)``: directly when its driver calls are keyed reads,
    else in a greenlet (see the module docs).

    The call sees the caller's context variables (``registry.primary()`` for one); what it
    sets in them stays in the call. (One coroutine for both ways: each layer more would
    cost every call.)
    """
    function = getattr(fn, "__func__", fn)
    answers: list[_Answer] = []
    if function not in _BRIDGED:
        direct = _Pass(answers)
        while True:
            direct.position = 0
            _per_thread.direct = direct
            try:
                returned: T = contextvars.copy_context().run(fn, *args, **kwargs)
                return returned
            except _Deferred:
                pass
            except _NeedsGreenlet:
                _BRIDGED.add(function)
                break
            finally:
                _per_thread.direct = None
            read: Any = direct.pending
            direct.pending = None
            try:
                answers.append((direct.key, True, await read))
            except asyncio.CancelledError as exc:
                mark(exc, WriteOutcome.NOT_APPLIED)  # only reads were sent
                raise
            except Exception as exc:  # the read's error, raised where the method reads it
                answers.append((direct.key, False, exc))
            if len(answers) == _MAX_ANSWERS:
                _BRIDGED.add(function)
                break
    # in a greenlet (an idle one of this thread's), its first reads answered by ``answers``
    idle = _per_thread.calls
    if idle:
        call = idle.pop()
        call.parent = greenlet.getcurrent()
    else:
        call = _Call()
    call.writes = WriteTracker()
    call.gr_context = contextvars.copy_context()
    call.answers = answers
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
    call.finished = call.gr_context = None
    call.answers = []
    if len(idle) < _IDLE_KEPT:
        idle.append(call)  # kept for a later call: it waits in its _serve loop
    succeeded, result = finished
    if succeeded:
        done: T = result
        return done
    if at_cancel is not None and isinstance(result, asyncio.CancelledError):
        mark(result, max(at_cancel, writes.outcome(), key=_severity))
    raise result


def _severity(outcome: WriteOutcome) -> int:
    """Order outcomes so the one least sure of "not applied" wins."""
    return (WriteOutcome.NOT_APPLIED, WriteOutcome.APPLIED, WriteOutcome.UNKNOWN).index(outcome)
