"""The cursor of one write transaction: ``BEGIN`` travels with its first statement.

Sending ``BEGIN;`` in front of the first statement saves one round trip per write
transaction (psycopg2 itself sends ``BEGIN`` alone). A transaction that runs no statement
sends nothing at all. If the server had closed the connection before that first
statement, nothing can have been saved (no ``COMMIT`` was sent), so the statement goes
once more on a fresh connection when the caller allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aragora_storage_core.sql.database import Params
from aragora_storage_postgres.pool import Lease

if TYPE_CHECKING:
    import psycopg2.extensions


class WriteCursor:
    """A psycopg2 cursor inside ``BEGIN`` ... ``COMMIT`` that begins lazily.

    ``replace`` gives a fresh lease for a closed one; ``lost`` are the driver's connection
    errors.
    """

    __slots__ = ("_lost", "_replace", "begun", "cursor", "lease")

    def __init__(self, lease: Lease, replace: Callable[[Lease], Lease],
                 lost: tuple[type[Exception], ...]) -> None:
        self.lease = lease
        self.cursor: psycopg2.extensions.cursor = lease.raw.cursor()
        self.begun = False
        self._replace = replace
        self._lost = lost

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self.cursor.rowcount

    def execute(self, sql: str, params: Params = ()) -> None:
        """Run one statement (with ``BEGIN`` in front when it is the first)."""
        if self.begun:
            self.cursor.execute(sql, params)
        else:
            self._first("BEGIN;" + sql, params)

    def started(self) -> psycopg2.extensions.cursor:
        """The raw cursor, with the transaction begun (for ``COPY`` and bulk methods)."""
        if not self.begun:
            self._first("BEGIN", ())
        return self.cursor

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for many parameter rows."""
        self.started().executemany(sql, rows)

    def fetchone(self) -> Any:
        """Next row of the last statement, or ``None``."""
        return self.cursor.fetchone()

    def fetchall(self) -> list[Any]:
        """Remaining rows of the last statement."""
        return self.cursor.fetchall()

    def _first(self, sql: str, params: Params) -> None:
        try:
            self.cursor.execute(sql, params)
        except self._lost:
            if not self.lease.raw.closed:
                raise
            self.lease = self._replace(self.lease)
            self.cursor = self.lease.raw.cursor()
            self.cursor.execute(sql, params)
        self.begun = True
