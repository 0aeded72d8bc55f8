"""Which server a read may go to: the caller's wish to read from the primary only.

Backends with read replicas send plain reads to a replica. Code that must see the
newest data (a read that decides a write, a check right after another process wrote)
wraps it in :func:`primary_reads` (``registry.primary()``): every read of this thread or
asyncio task inside the block goes to the primary. Backends without replicas ignore it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_PRIMARY_ONLY: ContextVar[bool] = ContextVar("aragora_storage_primary_only", default=False)

#: ``True`` inside :func:`primary_reads` (read it with ``.get()``; cheap on the hot path).
primary_only = _PRIMARY_ONLY


@contextmanager
def primary_reads() -> Iterator[None]:
    """Send every read of this thread or task to the primary until the block ends."""
    token = _PRIMARY_ONLY.set(True)
    try:
        yield
    finally:
        _PRIMARY_ONLY.reset(token)
