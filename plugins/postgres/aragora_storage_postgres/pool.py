"""SQLAlchemy's ``QueuePool`` (standalone, over psycopg2) behind a lock-free idle stack.

``QueuePool`` owns the connections: how many exist (size + overflow), waiting up to the
timeout when all are busy, replacing broken ones, closing overflow ones. Its checkout and
checkin cost about 8 µs, a quarter of a point read on a local server, so a released
connection first goes onto a LIFO stack of idle leases that the next caller pops without
a lock. A lease goes back to ``QueuePool`` instead as soon as a caller is waiting there,
so nobody waits while a connection sits idle, and while overflow connections are open, so
that ``QueuePool`` closes them: once the load is gone, ``size`` connections stay open.

A lease idle for longer than :data:`IDLE_CHECK_SECONDS` is checked with a round trip
before use (HikariCP's rule): a busy pool pays nothing, and a connection the server
closed while it sat in the pool is replaced instead of failing the caller. Once one
connection turns out closed by the server, every idle one is checked before its next use.
A forked child starts with empty pools and never uses (or ends) its parent's sessions.
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
    """One connection checked out of ``QueuePool``: the pool's proxy and the raw connection."""

    __slots__ = ("fairy", "raw", "released_at")

    def __init__(self, fairy: Any, released_at: float) -> None:
        self.fairy = fairy
        self.raw: psycopg2.extensions.connection = fairy.dbapi_connection
        self.released_at = released_at


class ConnectionPool:
    """Leases of psycopg2 connections made by ``creator``."""

    def __init__(self, creator: Callable[[], Any], *, size: int, max_overflow: int,
                 timeout: float, idle_check: float = IDLE_CHECK_SECONDS) -> None:
        self.size, self.max_overflow, self.timeout = size, max_overflow, timeout
        self.idle_check = idle_check
        self._creator = creator
        self._start()
        _POOLS.add(self)

    def _start(self) -> None:
        from sqlalchemy.pool import QueuePool

        self._opened: weakref.WeakSet[Any] = weakref.WeakSet()
        self._pool = QueuePool(self._create, pool_size=self.size,
                               max_overflow=self.max_overflow, timeout=self.timeout,
                               use_lifo=True, reset_on_return=None)
        self._idle: deque[Lease] = deque()
        self._waiting = 0
        self._lock = threading.Lock()

    def _create(self) -> Any:
        conn = self._creator()
        self._opened.add(conn)
        return conn

    def acquire(self) -> Lease:
        """A live connection: the most recently released one, else one from ``QueuePool``.

        Raises :class:`PoolTimeoutError` after ``timeout`` seconds when all are busy.
        """
        while True:
            try:
                lease = self._idle.pop()
            except IndexError:
                lease = self._checkout()
            if not lease.raw.closed and (
                monotonic() - lease.released_at <= self.idle_check or self._alive(lease)
            ):
                return lease
            self.discard(lease)

    def release(self, lease: Lease) -> None:
        """Put back a connection whose transaction is finished.

        While overflow connections are open, every idle one goes back to ``QueuePool``,
        which keeps ``size`` of them and closes the others.
        """
        lease.released_at = monotonic()
        self._idle.append(lease)
        if self._pool.overflow() > 0:
            while self._idle:
                self._hand_back()
        elif self._waiting:
            self._hand_back()

    def discard(self, lease: Lease) -> None:
        """Close a broken connection; ``QueuePool`` opens a new one when needed.

        The server that closed it (a restart) has likely closed the idle ones too, so each
        idle connection is checked before its next use. Discarding a lease twice (a
        transaction whose replacement connection could not be opened) does nothing more.
        """
        if lease.fairy.is_valid:
            lease.fairy.invalidate()
        for idle in list(self._idle):
            idle.released_at = float("-inf")

    def usage(self) -> dict[str, int]:
        """Connections open, in use and idle, and the configured limits."""
        open_now = self._pool.checkedin() + self._pool.checkedout()
        idle = self._pool.checkedin() + len(self._idle)
        return {"size": self.size, "max_overflow": self.max_overflow, "open": open_now,
                "in_use": open_now - idle, "idle": idle}

    def close(self) -> None:
        """Close every idle connection and the pool."""
        while self._idle:
            self._hand_back()
        self._pool.dispose()

    def _checkout(self) -> Lease:
        with self._lock:
            self._waiting += 1
        try:
            try:
                return self._idle.pop()  # released after our first look: no need to wait
            except IndexError:
                pass
            from sqlalchemy.exc import TimeoutError as QueueTimeout

            try:
                fairy = self._pool.connect()
            except QueueTimeout:
                raise PoolTimeoutError(
                    f"no PostgreSQL connection became free within {self.timeout:g}s "
                    f"(pool size {self.size} + overflow {self.max_overflow}, all in use)",
                    "raise ARAGORA_DB_POOL_SIZE, ARAGORA_DB_POOL_MAX_OVERFLOW or "
                    "ARAGORA_DB_POOL_TIMEOUT, or find code holding transactions open",
                ) from None
        finally:
            with self._lock:
                self._waiting -= 1
        return Lease(fairy, fairy.info.pop("released_at", monotonic()))

    def _hand_back(self) -> None:
        try:
            lease = self._idle.popleft()
        except IndexError:
            return
        lease.fairy.info["released_at"] = lease.released_at
        lease.fairy.close()

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
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for conn in list(self._opened):
                if not conn.closed:
                    os.dup2(devnull, conn.fileno())
        finally:
            os.close(devnull)
        _INHERITED.append((self._pool, list(self._idle), list(self._opened)))
        self._start()


#: Every pool, so that a forked child can drop the connections it inherited.
_POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()
#: What a forked child inherited: kept referenced, never used again.
_INHERITED: list[Any] = []


def _forget_inherited_connections() -> None:
    for pool in list(_POOLS):
        pool._forget_after_fork()


os.register_at_fork(after_in_child=_forget_inherited_connections)
