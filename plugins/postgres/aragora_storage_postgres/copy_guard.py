"""Keep psycopg2's stray ``SystemError`` print off the terminal when a COPY is cut short.

When the server ends the connection in the middle of ``COPY ... FROM STDIN`` (a restart),
psycopg2 2.9 raises for the first failed result, then handles the second one with that
exception still set; the ``SystemError`` this causes is printed with ``PyErr_Print``,
that is through ``sys.excepthook``, before the connection error is raised as usual (and
translated by the caller). :func:`quiet_copy` drops exactly that print: a ``SystemError``
caused by a psycopg2 error, reported while this thread runs a COPY. Every other
exception reaches the hook that was installed before.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

Hook = Callable[[type[BaseException], BaseException, TracebackType | None], object]

_copying = threading.local()
_previous: list[Hook] = []


def _hook(kind: type[BaseException], error: BaseException,
          traceback: TracebackType | None) -> None:
    import psycopg2

    if (getattr(_copying, "active", False) and issubclass(kind, SystemError)
            and isinstance(error.__cause__, psycopg2.Error)):
        return
    _previous[-1](kind, error, traceback)


@contextmanager
def quiet_copy() -> Iterator[None]:
    """Run a COPY with psycopg2's stray ``SystemError`` print suppressed in this thread."""
    if sys.excepthook is not _hook:
        _previous.append(sys.excepthook)
        sys.excepthook = _hook
    _copying.active = True
    try:
        yield
    finally:
        _copying.active = False
