"""What every shared SQL store has: its database, prepared statements, error mapping."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar

from aragora_storage_core.errors import DuplicateError, NotFoundError
from aragora_storage_core.sql.database import Row, SQLDatabase, Transaction
from aragora_storage_core.sql.dialect import UpdateReturning, check_identifier


def dumps(value: Any) -> str:
    """JSON text as stored in the ``TEXT`` JSON columns."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


loads: Callable[[str], Any] = json.loads


def loads_or(value: str | None, default: Any) -> Any:
    """Decode a JSON column that may be NULL."""
    return default if value is None else json.loads(value)


class SQLStore:
    """Base of the shared SQL stores.

    ``table`` and ``columns`` name what the store writes; statements are prepared once
    in the database's dialect with :meth:`prepare`.
    """

    table: str = ""
    columns: tuple[str, ...] = ()
    #: column -> encoder applied by ``update(**fields)`` (bools to ints, dicts to JSON).
    encoders: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def __init__(self, db: SQLDatabase) -> None:
        self._db = db
        self._update_sql: dict[tuple[str, ...], str] = {}
        self._violations: dict[str, UniqueViolations] = {}

    @property
    def database(self) -> SQLDatabase:
        """The database this store reads and writes."""
        return self._db

    def prepare(self, sql: str) -> str:
        """Rewrite ``sql`` (SQLite spelling, ``?`` placeholders) for this database."""
        return self._db.dialect.sql(sql)

    def insert_sql(self, columns: Sequence[str] | None = None,
                   returning: Sequence[str] = ()) -> str:
        """``INSERT INTO table (...) VALUES (...)`` for ``columns`` (default: all)."""
        return self._db.dialect.insert(self.table, tuple(columns or self.columns), returning)

    def upsert_sql(self, key: Sequence[str], replace: Sequence[str] = (),
                   add: Sequence[str] = ()) -> str:
        """Insert every column; on a row with the same ``key``, see :meth:`Dialect.upsert`."""
        return self._db.dialect.upsert(self.table, self.columns, key, replace, add)

    def update_returning_sql(self, assignments: str, where: str, key: str,
                             returning: Sequence[str]) -> UpdateReturning:
        """An update of this table handing back ``returning`` (:meth:`Dialect.update_returning`)."""
        return self._db.dialect.update_returning(self.table, assignments, where, key, returning)

    @staticmethod
    def fetch_updated(tx: Transaction, statement: UpdateReturning, params: Sequence[Any],
                      label: str) -> Row | None:
        """Run ``statement``; the returned columns of the changed row, or ``None``.

        Where the database has no ``UPDATE ... RETURNING`` the row is read back by its key
        (``params[statement.key_index]``) in the same transaction.
        """
        if statement.select is None:
            return tx.fetch_one(statement.update, params, label)
        if tx.execute(statement.update, params, label) == 0:
            return None
        return tx.fetch_one(statement.select, (params[statement.key_index],), label)

    def unique(self, what: str) -> UniqueViolations:
        """Turn the driver's integrity error into :class:`DuplicateError` naming ``what``.

        The context manager holds no state of its own use, so one per ``what`` serves every
        call and thread (no object built per write).
        """
        violations = self._violations.get(what)
        if violations is None:
            violations = self._violations[what] = UniqueViolations(self, what)
        return violations

    def encode(self, column: str, value: Any) -> Any:
        """The stored form of ``value`` for ``column`` (see ``encoders``)."""
        return self.encoders.get(column, _same)(value)

    def remove_where(self, where: str, params: Sequence[Any], *, dry_run: bool = False) -> int:
        """Delete the rows matching ``where``; with ``dry_run`` only count them (read-only)."""
        if dry_run:
            row = self._db.fetch_one(
                self.prepare(f"SELECT count(*) FROM {self.table} WHERE {where}"), params,
                f"{self.table}.count")
            return int(row[0]) if row else 0
        with self._db.transaction() as tx:
            return tx.execute(self.prepare(f"DELETE FROM {self.table} WHERE {where}"), params,
                              label=f"{self.table}.delete")

    def update_fields(self, key_column: str, key: Any, fields: Mapping[str, Any]) -> None:
        """``UPDATE table SET <fields> WHERE key_column = key``; ``NotFoundError`` if no row."""
        names = tuple(sorted(fields))
        for name in names:
            if name not in self.columns or name == key_column:
                raise ValueError(f"{self.table} has no updatable field {name!r}")
        sql = self._update_sql.get(names)
        if sql is None:
            assignments = ", ".join(f"{check_identifier(n)} = ?" for n in names)
            sql = self.prepare(f"UPDATE {self.table} SET {assignments} WHERE {key_column} = ?")
            self._update_sql[names] = sql
        values = [self.encode(n, fields[n]) for n in names]
        with self.unique(", ".join(names)), self._db.transaction() as tx:
            changed = tx.execute(sql, (*values, key), label=f"{self.table}.update")
        if changed == 0:
            raise NotFoundError(f"{self.table}: no record {key!r}", "check the id")


class UniqueViolations:
    """The context manager of :meth:`SQLStore.unique`.

    A class rather than a ``@contextmanager`` generator because it wraps every create:
    this saves about a microsecond per write (``benchmarks/bench_sqlite.py``).
    """

    __slots__ = ("_store", "_what")

    def __init__(self, store: SQLStore, what: str) -> None:
        self._store = store
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc is not None and isinstance(exc, self._store._db.integrity_error):
            table, what = self._store.table, self._what
            raise DuplicateError(
                f"{table}: {what} already exists or references a missing record",
                f"use a new {what}, or create the referenced record first ({type(exc).__name__})",
            ) from None


def _same(value: Any) -> Any:
    return value


def as_int(value: Any) -> Any:
    """Encode a bool column for storage (``None`` stays ``None``)."""
    return None if value is None else int(value)
