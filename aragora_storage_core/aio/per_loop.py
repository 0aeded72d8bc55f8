"""One value per event loop: a driver's client, a loop's pools, a loop's outbox.

Async drivers' clients and pools belong to the event loop they were made in. A backend
keeps one per loop in a :class:`PerLoop`, made on the loop's first use and forgotten with
the loop (the loop is held weakly). Most programs run one loop: the loop asked last is
answered without a dictionary lookup, on every call's path.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
Loop = asyncio.AbstractEventLoop


class PerLoop(Generic[T]):
    """The value of each event loop, made by ``make(loop)`` on that loop's first use."""

    def __init__(self, make: Callable[[Loop], T]) -> None:
        self._make = make
        self._values: weakref.WeakKeyDictionary[Loop, T] = weakref.WeakKeyDictionary()
        self._last: tuple[weakref.ref[Loop], T] | None = None
        self._lock = threading.Lock()

    def here(self) -> T:
        """The running loop's value, made now if it has none."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        with self._lock:
            value = self._values.get(loop)
            if value is None:
                value = self._values[loop] = self._make(loop)
            self._last = (weakref.ref(loop), value)
        return value

    def pop(self) -> T | None:
        """Forget the running loop's value; return it (``None`` if it had none)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._last = None
            return self._values.pop(loop, None)

    def clear(self) -> list[tuple[Loop, T]]:
        """Forget every loop's value; return the loops and values that were kept."""
        with self._lock:
            kept = list(self._values.items())
            self._values = weakref.WeakKeyDictionary()
            self._last = None
        return kept

    def __len__(self) -> int:
        """How many loops have a value."""
        return len(self._values)
