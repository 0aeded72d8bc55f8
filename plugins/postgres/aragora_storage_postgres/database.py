"""A PostgreSQL database for the shared SQL stores: pooled autocommit connections.

Reads run in autocommit on a pooled connection (no ``BEGIN``/``ROLLBACK`` round trips)
and go straight to psycopg2: no hook, no event, no context manager. A read that failed
because the server had closed the connection (a restart) is retried once on a new one.
Writes run between ``BEGIN`` (sent with the first statement) and ``COMMIT`` on one
connection, which goes back to the pool only after the transaction is finished; a write
is never retried once it may have reached the server: a connection lost mid-transaction
raises :class:`ConnectionLostError`.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import TYPE_CHECKING, Any, cast

from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.sql.database import Cursor, Params, Row, SQLDatabase, Transaction
from aragora_storage_core.sql.slowlog import report
from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.connection import connect_kwargs, open_connection, where
from aragora_storage_postgres.copy_rows import copy_csv
from aragora_storage_postgres.dialect import POSTGRES
from aragora_storage_postgres.errors import ConnectionLostError, refusal
from aragora_storage_postgres.pool import ConnectionPool, Lease
from aragora_storage_postgres.write_cursor import WriteCursor

if TYPE_CHECKING:
    import psycopg2.extensions

#: The ``pg_advisory_lock`` key every migrator of this project takes.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"aragora_storage.migrations").digest()[:8], "big", signed=True)
#: Rows per ``execute_values`` statement.
BULK_PAGE_SIZE = 1000
_COPY_TARGET = re.compile(r"^\s*INSERT\s+INTO\s+(\w+\s*\([\w\s,]+\))\s*VALUES\s*$", re.I)
_IDLE = 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE, without importing the driver
_VALUES = re.compile(r"^(.*?\bVALUES\s*)(\((?:\s*%s\s*,)*\s*%s\s*\))(.*)$", re.S | re.I)


class _ThreadState(threading.local):
    """The connection this thread holds (in a transaction or a migration session)."""

    lease: Lease | None = None
    cursor: WriteCursor | None = None


class PostgresDatabase(SQLDatabase):
    """One PostgreSQL database holding every logical database's tables."""

    dialect = POSTGRES

    def __init__(self, url: StorageURL, *, pool_size: int = 10, max_overflow: int = 5,
                 pool_timeout: float = 30.0, slow_query_ms: float = 500.0) -> None:
        import psycopg2

        self.url = url
        self.label = url.database or "postgresql"
        self.integrity_error = psycopg2.IntegrityError
        self.slow_query_seconds = slow_query_ms / 1000.0
        self._errors = psycopg2.Error
        self._lost = (psycopg2.OperationalError, psycopg2.InterfaceError)
        kwargs = connect_kwargs(url)
        self.pool = ConnectionPool(lambda: open_connection(url, kwargs), size=pool_size,
                                   max_overflow=max_overflow, timeout=pool_timeout)
        self._state = _ThreadState()

    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a read on a pooled connection; return the first row."""
        row: Row | None = self._read(sql, params, label, False)
        return row

    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a read on a pooled connection; return every row."""
        rows: list[Row] = self._read(sql, params, label, True)
        return rows

    def _read(self, sql: str, params: Params, label: str, every: bool,
              retry: bool = True) -> Any:
        held = self._state.lease
        lease = held or self.pool.acquire()
        start = perf_counter()
        try:
            cursor = lease.raw.cursor()
            cursor.execute(sql, params)
            result = cursor.fetchall() if every else cursor.fetchone()
        except self._lost as exc:
            if held is not None or not lease.raw.closed:
                self._put_back(lease, held)
                raise refusal(exc) or exc from None
            self.pool.discard(lease)
            if not retry:
                raise BackendUnavailableError(
                    f"the connection to PostgreSQL at {where(self.url)} was lost twice in a row",
                    "check the server's logs and network; then retry") from None
            return self._read(sql, params, label, every, retry=False)
        except self._errors as exc:
            self._put_back(lease, held)
            refused = refusal(exc)
            if refused is not None:
                raise refused from None
            raise
        except BaseException:
            if held is None:
                self.pool.discard(lease)  # interrupted mid-query: state unknown
            raise
        if held is None:
            self.pool.release(lease)
        elapsed = perf_counter() - start
        if elapsed > self.slow_query_seconds:
            report(label, elapsed, self.slow_query_seconds)
        return result

    def _put_back(self, lease: Lease, held: Lease | None) -> None:
        if held is None:
            self.pool.release(lease)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN`` ... ``COMMIT`` on one connection; ``ROLLBACK`` if the block raises.

        Inside another transaction of this thread it joins that one. ``BEGIN`` is sent with
        the first statement (see :mod:`write_cursor`). A connection lost after that raises
        :class:`ConnectionLostError`; nothing is retried.
        """
        state = self._state
        if state.cursor is not None:
            yield Transaction(cast(Cursor, state.cursor), self)
            return
        pinned = state.lease
        cursor = WriteCursor(pinned or self.pool.acquire(),
                             None if pinned else self._replace_lease, self._lost)
        state.lease, state.cursor = cursor.lease, cursor
        try:
            try:
                yield Transaction(cast(Cursor, cursor), self)
            except BaseException as exc:
                self._rollback(cursor.lease)
                if isinstance(exc, self._lost) and cursor.lease.raw.closed:
                    raise self._lost_error(committing=False) from None
                refused = refusal(exc)
                if refused is not None:
                    raise refused from None
                raise
            if cursor.begun:
                self._commit(cursor.lease)
        finally:
            state.cursor = None
            if pinned is None:
                state.lease = None
                if cursor.lease.raw.closed:
                    self.pool.discard(cursor.lease)
                else:
                    self.pool.release(cursor.lease)

    def _replace_lease(self, closed: Lease) -> Lease:
        """A fresh connection for this thread's transaction in place of a closed one."""
        self.pool.discard(closed)
        self._state.lease = fresh = self.pool.acquire()
        return fresh

    def _commit(self, lease: Lease) -> None:
        try:
            lease.raw.cursor().execute("COMMIT")
        except self._lost as exc:
            if not lease.raw.closed:
                raise refusal(exc) or exc from None
            raise self._lost_error(committing=True) from None

    def _lost_error(self, committing: bool) -> ConnectionLostError:
        if committing:
            return ConnectionLostError(
                f"the connection to PostgreSQL at {where(self.url)} was lost while committing;"
                " the write may or may not have been saved",
                "check whether the change is there before doing it again")
        return ConnectionLostError(
            f"the connection to PostgreSQL at {where(self.url)} was lost during a write"
            " transaction; nothing of it was saved",
            "retry the operation once the server is back")

    def _rollback(self, lease: Lease) -> None:
        """``ROLLBACK`` if the server has a transaction open (known without a round trip)."""
        if lease.raw.closed or lease.raw.info.transaction_status == _IDLE:
            return
        try:
            lease.raw.cursor().execute("ROLLBACK")
        except self._errors:
            lease.raw.close()

    def bulk_execute(self, cursor: Cursor, sql: str, rows: Iterable[Params]) -> int:
        """A plain ``INSERT ... VALUES`` by ``COPY``; one with a suffix (``ON CONFLICT``,
        ``RETURNING``) or odd values by ``execute_values``; anything else by ``executemany``.
        """
        rows = list(rows)
        match = _VALUES.match(sql)
        if match is None or not rows:
            return super().bulk_execute(cursor, sql, rows)
        raw = cursor.started() if isinstance(cursor, WriteCursor) else cast(
            "psycopg2.extensions.cursor", cursor)
        head, template, tail = match.groups()
        target = _COPY_TARGET.match(head)
        if target is not None and not tail.strip():
            try:
                data = copy_csv(rows)
            except TypeError:
                pass
            else:
                raw.copy_expert(f"COPY {target.group(1)} FROM STDIN WITH (FORMAT csv)",
                                io.StringIO(data))
                return len(rows)
        from psycopg2.extras import execute_values

        execute_values(raw, f"{head}%s{tail}", rows, template=template,
                       page_size=BULK_PAGE_SIZE)
        return len(rows)

    @contextmanager
    def migration_session(self) -> Iterator[SQLDatabase]:
        """This database with one connection pinned to the thread, holding the advisory lock.

        A second migrator (thread or process) waits here until the first one is done, then
        finds every version it wanted already applied. A connection lost meanwhile (a
        server restart) raises :class:`ConnectionLostError`.
        """
        state = self._state
        if state.lease is not None:
            yield self
            return
        lease = self.pool.acquire()
        cursor = lease.raw.cursor()
        try:
            cursor.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        except BaseException as exc:
            self.pool.discard(lease)
            if isinstance(exc, self._lost) and lease.raw.closed:
                raise self._migrations_lost() from None
            raise
        state.lease = lease
        try:
            yield self
        except self._lost:
            if not lease.raw.closed:
                raise
            raise self._migrations_lost() from None
        finally:
            state.lease = None
            try:
                cursor.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
                self.pool.release(lease)
            except self._errors:
                self.pool.discard(lease)  # the server drops the lock with the connection

    def _migrations_lost(self) -> ConnectionLostError:
        return ConnectionLostError(
            f"the connection to PostgreSQL at {where(self.url)} was lost during migrations;"
            " those applied before it are kept",
            "run aragora-storage migrate again once the server is back")

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """The raw connection this thread holds, else a pooled one, for tools (backup, COPY).

        Autocommit unless a transaction of this thread is open; put back afterwards.
        """
        state = self._state
        if state.lease is not None:
            if state.cursor is not None:
                state.cursor.started()
            yield state.lease.raw
            return
        lease = self.pool.acquire()
        try:
            yield lease.raw
        except BaseException:
            self._rollback(lease)
            raise
        finally:
            if lease.raw.closed:
                self.pool.discard(lease)
            else:
                self.pool.release(lease)

    def server_facts(self) -> dict[str, Any]:
        """Server version, whether TLS is in use, and pool usage (for ``doctor``)."""
        lease = self.pool.acquire()
        try:
            facts = {"server_version": lease.raw.info.server_version,
                     "ssl_in_use": bool(lease.raw.info.ssl_in_use)}
        finally:
            self.pool.release(lease)
        return facts | {"pool": self.pool.usage()}

    def close(self) -> None:
        """Close every pooled connection."""
        self.pool.close()
