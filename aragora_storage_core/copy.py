"""Copy every store table from one SQL backend to another, streaming, resumable, verified.

Works over the generic :class:`~aragora_storage_core.sql.database.SQLDatabase` interface,
so any SQL backend can be a source or a target. The target is migrated first (through the
``storage_migrate`` hook); each table is read one batch at a time (memory stays flat
however large the table: see :func:`read_batches`) and handed to the target's
:meth:`~aragora_storage_core.sql.database.SQLDatabase.bulk_load`, which replaces a row
with the same primary key and never duplicates one (generic: an upsert per batch;
PostgreSQL: ``COPY`` into an empty table, upserting only into one that holds rows). At
the end the row counts of source and target are compared.

A target that already holds rows is refused, unless the copy resumes an interrupted copy
of the same source (a marker table, :data:`MARKER_TABLE`, names the source while a copy
runs and is dropped when it finishes) or the caller asked to overwrite.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from typing import TYPE_CHECKING, Any, TextIO, cast

from aragora_storage_core.consolidate.schema import TableSchema, reference_schema
from aragora_storage_core.errors import CopyError, StorageError
from aragora_storage_core.layout import DATABASES, DatabaseType, Naming
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.progress import Progress
from aragora_storage_core.records import dataclass, field
from aragora_storage_core.sql import ddl
from aragora_storage_core.sql.database import Row, SQLDatabase

if TYPE_CHECKING:
    from aragora_storage_core.backend import Backend, SQLBackend

DEFAULT_BATCH = 1000
#: Rows per transaction of a bulk load that commits less often than every batch (COPY):
#: an interrupted copy keeps what it committed, and a commit is rare enough not to count.
DEFAULT_COMMIT = 100_000
#: Exists in the target's first database only while a copy into it is unfinished; its one
#: row names the source (URL with the password masked).
MARKER_TABLE = "aragora_copy_in_progress"


@dataclass(frozen=True)
class TableCopy:
    """One table copied: rows in the source, rows written, rows in the target after."""

    table: str
    source_rows: int
    written: int
    target_rows: int

    @property
    def ok(self) -> bool:
        """The target holds exactly as many rows as the source."""
        return self.source_rows == self.target_rows


@dataclass
class CopyReport:
    """Every table copied, and every table skipped with the reason."""

    tables: list[TableCopy] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every copied table's counts match."""
        return all(t.ok for t in self.tables)


@dataclass(frozen=True)
class TableSource:
    """A table to copy: its schema and the columns the source actually has."""

    schema: TableSchema
    columns: tuple[str, ...]
    #: The table's name in the target (legacy files and shared databases name a few
    #: tables differently, :class:`~aragora_storage_core.layout.Naming`).
    target_name: str = ""

    @property
    def written_name(self) -> str:
        """Where rows are written."""
        return self.target_name or self.schema.name

    @property
    def key(self) -> tuple[str, ...]:
        """The columns rows are paged and matched by."""
        return tuple(c for c in self.schema.order_key if c in self.columns) or self.columns


def _sql_backend(backend: Backend, role: str) -> SQLBackend:
    """``backend`` if it keeps SQL databases (``database_for``), else a CopyError."""
    if not callable(getattr(backend, "database_for", None)):
        raise CopyError(f"the {role} backend {backend.name} is not a SQL backend",
                        "copy works between SQL backends (sqlite, postgresql, ...)")
    return cast("SQLBackend", backend)


def migrate_target(hook: Any, target: SQLBackend) -> None:
    """Apply the target's pending migrations through the ``storage_migrate`` hook."""
    report = hook.storage_migrate(backend=target,
                                  request=MigrationRequest(MigrationAction.MIGRATE))
    if report is None:
        raise CopyError(f"the {target.name} backend cannot be migrated",
                        "upgrade its plugin (see aragora-storage plugins)")


def read_batches(database: SQLDatabase, table: TableSource,
                 batch_size: int) -> Generator[list[Row]]:
    """Every row of ``table``, ``batch_size`` rows at a time, memory flat.

    A database that streams reads (:attr:`SQLDatabase.streams`, SQLite) hands them from
    one cursor in its own order: no sort, and the time per row stays the same however
    large the table. Any other is paged through in key order (keyset pagination, each
    page found by the key's index).
    """
    quote = database.dialect.quote
    name = quote(table.schema.name)
    columns = ", ".join(quote(c) for c in table.columns)
    if database.streams:
        yield from database.stream(f"SELECT {columns} FROM {name}", (), batch_size,
                                   f"copy.{table.schema.name}")
        return
    key = table.key
    order = ", ".join(quote(c) for c in key)
    positions = [table.columns.index(c) for c in key]
    after = (f"({order}) > ({', '.join('?' * len(key))})" if len(key) > 1
             else f"{order} > ?")
    first = database.dialect.sql(f"SELECT {columns} FROM {name} ORDER BY {order} LIMIT ?")
    rest = database.dialect.sql(
        f"SELECT {columns} FROM {name} WHERE {after} ORDER BY {order} LIMIT ?")
    rows = database.fetch_all(first, (batch_size,), f"copy.{table.schema.name}")
    while rows:
        yield rows
        if len(rows) < batch_size:
            return
        last = rows[-1]
        rows = database.fetch_all(rest, (*(last[p] for p in positions), batch_size),
                                  f"copy.{table.schema.name}")


def count(database: SQLDatabase, table: str) -> int:
    """Rows in ``table``."""
    row = database.fetch_one(f"SELECT count(*) FROM {database.dialect.quote(table)}")
    return int(row[0]) if row else 0


def copy_table(source: SQLDatabase, target: SQLDatabase, table: TableSource,
               batch_size: int, progress: Progress, commit_rows: int = DEFAULT_COMMIT) -> int:
    """Stream ``table`` from ``source`` into ``target`` by the target's bulk load.

    The target commits every ``commit_rows`` rows or more often (the generic load: every
    batch); progress counts committed rows.
    """
    written = 0
    with closing(read_batches(source, table, batch_size)) as batches:  # ends the read
        for rows in target.bulk_load(table.written_name, table.columns, table.key, batches,
                                     commit_rows):
            written += rows
            progress.advance(rows, note=table.schema.name)
    if table.schema.integer_key and target.dialect.identity_reset_sql:
        with target.transaction() as tx:
            tx.execute(target.dialect.identity_reset_sql.format(
                table=table.written_name, column=table.schema.primary_key[0]))
    return written


Planned = tuple[SQLDatabase, DatabaseType, TableSource, int]


def plan_tables(source: SQLBackend, report: CopyReport,
                target: SQLBackend | None = None) -> list[Planned]:
    """``(source database, logical database, table, rows)`` of every table the source has."""
    schema = reference_schema()
    planned = []
    for info in DATABASES:
        database = source.database_for(info.type)
        if not database.exists():
            report.skipped.extend((t, "not in the source") for t in info.table_names)
            continue
        present = _tables_in(database)
        for table in info.tables:
            name = source.table_name(info, table.name)
            if name not in present:
                report.skipped.append((name, "not in the source"))
                continue
            found = tuple(r[0] for r in database.fetch_all(database.dialect.columns_sql,
                                                           (name,)))
            reference = schema[table.named(Naming.SHARED)].with_name(name)
            written = target.table_name(info, table.name) if target is not None else name
            entry = TableSource(reference, found, written)
            planned.append((database, info.type, entry, count(database, name)))
    return planned


def check_columns(target: SQLBackend, planned: list[Planned]) -> None:
    """Refuse when a source table has a column its (migrated) target table lacks.

    Such a column (added to the application's tables by hand or by its own migrations)
    would otherwise be dropped silently; the hint names the migration that carries it.
    """
    for _, db, table, _ in planned:
        database = target.database_for(db)
        present = {str(r[0]).casefold() for r in database.fetch_all(
            database.dialect.columns_sql, (table.written_name,))}
        missing = [c for c in table.columns if c.casefold() not in present]
        if missing:
            them = "them" if len(missing) > 1 else "it"
            raise CopyError(
                f"table {table.schema.name} of the source has column"
                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} that the target's"
                f" {table.written_name} lacks: the copy would drop {them}",
                f"add {them} with a migration in your ARAGORA_MIGRATIONS_PATH folder (ALTER"
                f" TABLE {table.written_name} ADD COLUMN {missing[0]} <type>), then copy again")


def _tables_in(database: SQLDatabase) -> set[str]:
    if not database.exists():
        return set()
    return {r[0] for r in database.fetch_all(database.dialect.tables_sql)}


def rows_held(target: SQLBackend) -> dict[str, int]:
    """Rows of every non-empty store table in ``target`` (nothing is created to look)."""
    held = {}
    for info in DATABASES:
        database = target.database_for(info.type)
        present = _tables_in(database)
        for table in (target.table_name(info, t) for t in info.table_names):
            rows = count(database, table) if table in present else 0
            if rows:
                held[table] = rows
    return held


def _marker_database(target: SQLBackend) -> SQLDatabase:
    return target.database_for(DATABASES[0].type)


def interrupted_copy_source(target: SQLBackend) -> str | None:
    """The source of the unfinished copy into ``target``, or ``None`` when there is none."""
    database = _marker_database(target)
    if MARKER_TABLE not in _tables_in(database):
        return None
    row = database.fetch_one(f"SELECT source FROM {MARKER_TABLE}")
    return str(row[0]) if row else ""


def check_target(target: SQLBackend, source_name: str, *, resume: bool,
                 overwrite: bool) -> None:
    """Refuse a target that holds rows unless ``resume`` (of this source) or ``overwrite``."""
    held = rows_held(target)
    unfinished = interrupted_copy_source(target)
    if resume:
        if unfinished is not None and unfinished != source_name:
            raise CopyError(
                f"the target holds an interrupted copy from {unfinished}, not from"
                f" {source_name}",
                "resume with that --from, or pass --overwrite to copy this source over it")
        if unfinished is None and held:
            raise CopyError(
                f"the target {target.url} holds rows but no interrupted copy to resume",
                "pass --overwrite to write the source's rows over the target's")
        return
    if not held or overwrite:
        return
    if unfinished == source_name:
        hint = ("a copy from this source into it was interrupted: pass --resume to finish"
                " it (nothing is duplicated)")
    else:
        hint = ("pass --overwrite to write the source's rows over the target's (rows with"
                " the same key are replaced, other rows kept), or copy into an empty database")
    raise CopyError(f"the target {target.url} already holds {sum(held.values())} rows in"
                    f" {len(held)} tables", hint)


def mark_started(target: SQLBackend, source_name: str) -> None:
    """Record in ``target`` that a copy from ``source_name`` is under way."""
    database = _marker_database(target)
    with database.transaction() as tx:
        tx.execute(ddl.render(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (source TEXT NOT NULL)",
                              database.dialect))
        tx.execute(f"DELETE FROM {MARKER_TABLE}")
        tx.execute(database.dialect.sql(f"INSERT INTO {MARKER_TABLE} (source) VALUES (?)"),
                   (source_name,))


def mark_finished(target: SQLBackend) -> None:
    """Drop the marker: the copy into ``target`` is complete."""
    with _marker_database(target).transaction() as tx:
        tx.execute(f"DROP TABLE IF EXISTS {MARKER_TABLE}")


def copy_backend(hook: Any, source: Backend, target: Backend, *,
                 batch_size: int = DEFAULT_BATCH, stream: TextIO | None = None,
                 resume: bool = False, overwrite: bool = False,
                 commit_rows: int = DEFAULT_COMMIT) -> CopyReport:
    """Copy every store table from ``source`` to ``target``; return what was copied.

    The source is only read. A target that already holds rows is refused
    (:class:`CopyError` with the count) unless ``resume`` continues an interrupted copy
    of the same source, or ``overwrite`` allows writing over rows with the same key.
    """
    src, dst = _sql_backend(source, "source"), _sql_backend(target, "target")
    if src.url.render() == dst.url.render():
        raise CopyError("the source and target are the same database",
                        "pass two different URLs to --from and --to")
    report = CopyReport()
    planned = plan_tables(src, report, dst)
    if not planned:
        raise CopyError(f"the source {src.url} holds none of the store tables",
                        "check the --from URL (an absolute sqlite path has four slashes:"
                        " sqlite:////abs/dir)")
    source_name = src.url.render()
    check_target(dst, source_name, resume=resume, overwrite=overwrite)
    migrate_target(hook, dst)
    check_columns(dst, planned)
    mark_started(dst, source_name)
    progress = Progress("copy", total=sum(rows for *_, rows in planned), stream=stream)
    try:
        for database, db, table, rows in planned:
            destination = dst.database_for(db)
            try:
                written = copy_table(database, destination, table, batch_size, progress,
                                     commit_rows)
            except StorageError:
                raise
            except Exception as exc:  # the driver's error, named by table
                raise CopyError(
                    f"copying {table.schema.name} failed: {type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}",
                    "the source breaks a rule of the target's schema in that table; fix it"
                    " there and run the copy again (copied rows are kept, none duplicated)",
                ) from None
            report.tables.append(TableCopy(table.schema.name, rows, written,
                                           count(destination, table.written_name)))
    finally:
        progress.close()
    mark_finished(dst)
    return report
