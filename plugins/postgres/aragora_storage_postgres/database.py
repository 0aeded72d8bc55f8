"""A PostgreSQL database for the shared SQL stores: pooled autocommit connections.

Reads run in autocommit on a pooled connection (no ``BEGIN``/``ROLLBACK`` round trips)
and go straight to psycopg2: no hook, no event, no context manager. A read that failed
because the server had closed the connection (a restart) is retried once on a new one.
With read replicas (:mod:`replicas`) a plain read outside a transaction may go to a
replica; one that fails there is retried on the primary.
Writes run between ``BEGIN`` (sent with the first statement) and ``COMMIT`` on one
connection, which goes back to the pool only after the transaction is finished; a write
is never retried once it may have reached the server: a connection lost mid-transaction
raises :class:`ConnectionLostError`.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from time import perf_counter
from typing import TYPE_CHECKING, Any, cast

from aragora_storage_core.errors import StorageError
from aragora_storage_core.sql.database import Cursor, Params, Row, SQLDatabase, Transaction
from aragora_storage_core.sql.slowlog import report
from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.connection import connect_kwargs, open_connection, where
from aragora_storage_postgres.dialect import POSTGRES
from aragora_storage_postgres.errors import (
    ConnectionLostError,
    connection_lost,
    lost_twice,
    refusal,
)
from aragora_storage_postgres.pool import ConnectionPool, Lease
from aragora_storage_postgres.write_cursor import WriteCursor

if TYPE_CHECKING:
    import psycopg2.extensions

    from aragora_storage_postgres.replicas import ReplicaSet

#: Rows per ``execute_values`` statement.
BULK_PAGE_SIZE = 1000
#: What ``bulk_execute`` rewrites (compiled on first use by ``re.match``: only bulk writes
#: read them, not a store's first call).
_COPY_TARGET = r"^\s*INSERT\s+INTO\s+(\w+\s*\([\w\s,]+\))\s*VALUES\s*$"
_IDLE = 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE, without importing the driver
_VALUES = r"^(.*?\bVALUES\s*)(\((?:\s*%s\s*,)*\s*%s\s*\))(.*)$"


class _ThreadState(threading.local):
    """The connection this thread holds while it has a transaction open."""

    lease: Lease | None = None
    cursor: WriteCursor | None = None


class PostgresDatabase(SQLDatabase):
    """One PostgreSQL database holding every logical database's tables."""

    dialect = POSTGRES

    #: The read replicas, or ``None`` (every read on the primary).
    replicas: ReplicaSet | None = None

    def __init__(self, url: StorageURL, *, pool_size: int = 10, max_overflow: int = 5,
                 pool_timeout: float = 30.0, slow_query_ms: float = 500.0) -> None:
        import psycopg2

        self.url = url
        self.label = url.database or "postgresql"
        self.integrity_error = psycopg2.IntegrityError
        self.slow_query_seconds = slow_query_ms / 1000.0
        self._errors = psycopg2.Error
        self._lost = (psycopg2.OperationalError, psycopg2.InterfaceError)
        self.pool = self._pool_for(url, pool_size, max_overflow, pool_timeout)
        self._state = _ThreadState()

    @staticmethod
    def _pool_for(url: StorageURL, size: int, max_overflow: int,
                  timeout: float) -> ConnectionPool:
        kwargs = connect_kwargs(url)
        return ConnectionPool(lambda: open_connection(url, kwargs), size=size,
                              max_overflow=max_overflow, timeout=timeout)

    def add_replicas(self, urls: list[StorageURL], *, max_lag: float, window: float) -> None:
        """Send plain reads to these replicas when fresh enough (see :mod:`replicas`).

        Each replica gets a pool as large as the primary's; the checker starts at once.
        """
        from aragora_storage_postgres.replicas import Replica, ReplicaSet  # only with replicas

        pool = self.pool
        replicas = [Replica(u, self._pool_for(u, pool.size, pool.max_overflow, pool.timeout))
                    for u in urls]
        self.replicas = ReplicaSet(pool, replicas, max_lag=max_lag, window=window,
                                   errors=self._errors)
        self.replicas.choose()

    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a read on a pooled connection; return the first row."""
        row: Row | None = (self._read(sql, params, label, False) if self.replicas is None
                           else self._routed(self.replicas, sql, params, label, False))
        return row

    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a read on a pooled connection; return every row."""
        rows: list[Row] = (self._read(sql, params, label, True) if self.replicas is None
                           else self._routed(self.replicas, sql, params, label, True))
        return rows

    def _routed(self, replicas: ReplicaSet, sql: str, params: Params, label: str,
                every: bool) -> Any:
        """A read on a fresh enough replica; on the primary inside a transaction, when none
        is, or when the replica fails (a replica that stopped answering is left out)."""
        replica = None if self._state.lease is not None else replicas.choose()
        if replica is None:
            return self._read(sql, params, label, every)
        try:
            lease = replica.pool.acquire()
        except StorageError as error:
            replicas.lost(replica, error.message)
            return self._read(sql, params, label, every)
        start = perf_counter()
        try:
            cursor = lease.raw.cursor()
            cursor.execute(sql, params)
            result = cursor.fetchall() if every else cursor.fetchone()
        except self._errors:
            if lease.raw.closed:
                replica.pool.discard(lease)
                replicas.lost(replica, f"{replica.label} stopped answering")
            else:  # e.g. cancelled by a conflict with recovery: the primary answers instead
                replica.pool.release(lease)
            return self._read(sql, params, label, every)
        except BaseException:
            replica.pool.discard(lease)  # interrupted mid-query: state unknown
            raise
        replica.pool.release(lease)
        self.timed(label, start)
        return result

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
                raise lost_twice(where(self.url)) from None
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
        cursor = WriteCursor(self.pool.acquire(), self._replace_lease, self._lost)
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
            if cursor.begun and self.replicas is not None:
                self.replicas.wrote()
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
        return connection_lost(where(self.url), committing)

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
        match = re.match(_VALUES, sql, re.S | re.I)
        if match is None or not rows:
            return super().bulk_execute(cursor, sql, rows)
        raw = cursor.started() if isinstance(cursor, WriteCursor) else cast(
            "psycopg2.extensions.cursor", cursor)
        head, template, tail = match.groups()
        target = re.match(_COPY_TARGET, head, re.I)
        if target is not None and not tail.strip():
            from aragora_storage_postgres.copy_guard import quiet_copy  # not on a store's path
            from aragora_storage_postgres.copy_rows import copy_csv

            try:
                data = copy_csv(rows)
            except TypeError:
                pass
            else:
                with quiet_copy():
                    raw.copy_expert(f"COPY {target.group(1)} FROM STDIN WITH (FORMAT csv)",
                                    io.StringIO(data))
                return len(rows)
        from psycopg2.extras import execute_values

        execute_values(raw, f"{head}%s{tail}", rows, template=template,
                       page_size=BULK_PAGE_SIZE)
        return len(rows)

    def bulk_load(self, table: str, columns: Sequence[str], key: Sequence[str],
                  batches: Iterable[Sequence[Row]], commit_rows: int = 0) -> Iterator[int]:
        """``COPY`` into ``table``; into a staging table and upserted from it when ``table``
        already holds rows (:mod:`bulk_load`). Commits every ``commit_rows`` rows."""
        from aragora_storage_postgres.bulk_load import bulk_load  # copy only: kept off imports

        return bulk_load(self, table, columns, key, batches, commit_rows)

    @contextmanager
    def migration_session(self) -> Iterator[SQLDatabase]:
        """This database, for a migrator; a lost connection says what was kept.

        No connection is pinned and no session lock taken: each migration transaction
        first takes ``pg_advisory_xact_lock`` (the dialect's ``migration_lock_sql``), which
        ends with the transaction, so migrators serialize behind a transaction-mode pooler
        (PgBouncer, Supavisor) too. A second migrator waits there, then finds the version
        applied.
        """
        try:
            yield self
        except ConnectionLostError:
            raise self._migrations_lost() from None

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
        if state.cursor is not None:
            yield state.cursor.started().connection
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
        """Close every pooled connection (the replicas' too)."""
        if self.replicas is not None:
            self.replicas.close()
        self.pool.close()
