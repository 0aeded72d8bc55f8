"""A fair pool of psycopg2 connections: first come, first served when all are busy.

The pool opens up to ``size + max_overflow`` connections. A caller finding none idle and
none left to open queues; a released connection goes straight to the caller that has
waited longest (a FIFO hand-off), never back to the thread that released it, so no thread
starves while others keep re-taking connections (what psycopg2's and SQLAlchemy's pools
allow). Without waiters a released connection goes onto a LIFO stack of idle ones, unless
it is an overflow connection, which is closed: once the load is gone, ``size`` stay open.
A caller that waited ``timeout`` seconds gets :class:`PoolTimeoutError`.

A connection idle for longer than :data:`IDLE_CHECK_SECONDS` is checked with a round trip
before use (HikariCP's rule): a busy pool pays nothing, and a connection the server
closed while it sat in the pool is replaced instead of failing the caller. Once one
connection turns out closed by the server, every idle one is checked before its next use.
A forked child starts with empty pools and never uses (or ends) its parent's sessions.

Pure Python over one lock: no SQLAlchemy, so importing the plugin stays cheap.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from aragora_storage_postgres.errors import PoolTimeoutError

if TYPE_CHECKING:
    import psycopg2.extensions

#: A connection idle longer than this is checked before it is handed out.
IDLE_CHECK_SECONDS = 0.5


class Lease:
    """One connection of the pool, in use or idle, and when it was last released."""

    __slots__ = ("live", "raw", "released_at")

    def __init__(self, raw: psycopg2.extensions.connection) -> None:
        self.raw = raw
        self.released_at = monotonic()
        self.live = True  # counted among the pool's open connections


class _Waiter:
    """A caller queued for a connection: woken with a lease, or with leave to open one."""

    __slots__ = ("lease", "may_open", "wake")

    def __init__(self) -> None:
        self.wake = threading.Lock()
        self.wake.acquire()
        self.lease: Lease | None = None
        self.may_open = False


class ConnectionPool:
    """Up to ``size + max_overflow`` connections made by ``creator``, handed out fairly."""

    def __init__(self, creator: Callable[[], Any], *, size: int, max_overflow: int,
                 timeout: float, idle_check: float = IDLE_CHECK_SECONDS) -> None:
        self.size, self.max_overflow, self.timeout = size, max_overflow, timeout
        self.idle_check = idle_check
        self._creator = creator
        self._start()
        _POOLS.add(self)

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[Lease] = []
        self._waiters: deque[_Waiter] = deque()
        self._leases: set[Lease] = set()  # every open connection, in use or idle
        self._slots = 0  # connections open or being opened

    def waiting(self) -> int:
        """How many callers are queued for a connection."""
        return len(self._waiters)

    def acquire(self) -> Lease:
        """A live connection: an idle one, a new one, else the next one released.

        Raises :class:`PoolTimeoutError` after ``timeout`` seconds when all are busy.
        """
        while True:
            waiter = lease = None
            with self._lock:
                if self._waiters or (not self._idle
                                     and self._slots >= self.size + self.max_overflow):
                    waiter = _Waiter()
                    self._waiters.append(waiter)
                elif self._idle:
                    lease = self._idle.pop()
                else:
                    self._slots += 1
            if waiter is not None:
                lease = self._wait(waiter)
                if lease is not None:
                    return lease  # just released: no check needed
            if lease is None:
                return self._open()
            if monotonic() - lease.released_at <= self.idle_check or self._alive(lease):
                return lease
            self.discard(lease)

    def _wait(self, waiter: _Waiter) -> Lease | None:
        """The lease handed to ``waiter``, or ``None`` when it may open a connection."""
        try:
            woken = waiter.wake.acquire(timeout=max(self.timeout, 0.0))
        except BaseException:  # interrupted: what was handed over meanwhile goes on
            if self._withdraw(waiter):
                self._pass_on(waiter)
            raise
        if not woken and not self._withdraw(waiter):
            raise PoolTimeoutError(
                f"no PostgreSQL connection became free within {self.timeout:g}s "
                f"(pool size {self.size} + overflow {self.max_overflow}, all in use)",
                "raise ARAGORA_DB_POOL_SIZE, ARAGORA_DB_POOL_MAX_OVERFLOW or "
                "ARAGORA_DB_POOL_TIMEOUT, or find code holding transactions open",
            )
        return waiter.lease

    def _withdraw(self, waiter: _Waiter) -> bool:
        """Take ``waiter`` out of the queue; ``True`` if it was handed something first."""
        with self._lock:
            if waiter.lease is None and not waiter.may_open:
                self._waiters.remove(waiter)
                return False
        return True

    def _pass_on(self, waiter: _Waiter) -> None:
        """Give what ``waiter`` was handed (a connection or a slot) to the next caller."""
        if waiter.lease is not None:
            self.release(waiter.lease)
            return
        with self._lock:
            self._slots -= 1
            self._grant_slot()

    def _open(self) -> Lease:
        """A new connection in a slot already counted; the slot is freed if opening fails."""
        try:
            lease = Lease(self._creator())
        except BaseException:
            with self._lock:
                self._slots -= 1
                self._grant_slot()
            raise
        with self._lock:
            self._leases.add(lease)
        return lease

    def release(self, lease: Lease) -> None:
        """Put back a connection whose transaction is finished.

        It goes to the longest-waiting caller if any; else it stays idle, unless it is an
        overflow connection, which is closed.
        """
        lease.released_at = monotonic()
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.lease = lease
                waiter.wake.release()
                return
            if self._slots <= self.size:
                self._idle.append(lease)
                return
            self._forget(lease)
        lease.raw.close()

    def discard(self, lease: Lease) -> None:
        """Close a broken connection; its slot goes to a waiting caller, if any.

        The server that closed it (a restart) has likely closed the idle ones too, so each
        idle connection is checked before its next use. Discarding a lease twice (a
        transaction whose replacement connection could not be opened) does nothing more.
        """
        with self._lock:
            for idle in self._idle:
                idle.released_at = float("-inf")
            if not lease.live:
                return
            self._forget(lease)
            self._grant_slot()
        if not lease.raw.closed:
            lease.raw.close()

    def _forget(self, lease: Lease) -> None:
        """With the lock held: ``lease`` no longer counts among the open connections."""
        lease.live = False
        self._leases.discard(lease)
        self._slots -= 1

    def _grant_slot(self) -> None:
        """With the lock held: let the longest-waiting caller open a connection, if any."""
        if self._waiters and self._slots < self.size + self.max_overflow:
            waiter = self._waiters.popleft()
            self._slots += 1
            waiter.may_open = True
            waiter.wake.release()

    def usage(self) -> dict[str, int]:
        """Connections open, in use and idle, and the configured limits."""
        with self._lock:
            open_now, idle = len(self._leases), len(self._idle)
        return {"size": self.size, "max_overflow": self.max_overflow, "open": open_now,
                "in_use": open_now - idle, "idle": idle}

    def close(self) -> None:
        """Close every idle connection (the pool opens new ones when used again)."""
        with self._lock:
            idle, self._idle = self._idle, []
            for lease in idle:
                self._forget(lease)
        for lease in idle:
            lease.raw.close()

    @staticmethod
    def _alive(lease: Lease) -> bool:
        import psycopg2

        try:
            with lease.raw.cursor() as cursor:
                cursor.execute("SELECT 1")
        except psycopg2.Error:
            return False
        return True

    def _forget_after_fork(self) -> None:
        """In a forked child: never touch the parent's sessions, start with no connection.

        Each inherited socket is pointed at ``/dev/null`` so that closing the connection
        (at exit) cannot end the parent's session; the objects are kept, never used.
        """
        inherited = [lease.raw for lease in self._leases]
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for conn in inherited:
                if not conn.closed:
                    os.dup2(devnull, conn.fileno())
        finally:
            os.close(devnull)
        _INHERITED.append(inherited)
        self._start()


#: Every pool, so that a forked child can drop the connections it inherited.
_POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()
#: What a forked child inherited: kept referenced, never used again.
_INHERITED: list[Any] = []


def _forget_inherited_connections() -> None:
    for pool in list(_POOLS):
        pool._forget_after_fork()


os.register_at_fork(after_in_child=_forget_inherited_connections)
