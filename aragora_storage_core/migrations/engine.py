"""Apply, report and roll back migrations on any :class:`SQLDatabase`.

Each migration and its ``schema_version`` row commit in one transaction: a migration
killed half-way leaves nothing behind. Each transaction first takes the dialect's
migration lock (``migration_lock_sql``), then reads whether its version is applied, so
two migrators at once apply each version once. An applied file whose
checksum changed stops ``migrate`` before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.files import (
    discover,
    rename_tables,
    search_path,
    split_statements,
    up_and_down,
)
from aragora_storage_core.migrations.types import (
    AppliedMigration,
    DatabaseStatus,
    MigrationFile,
)
from aragora_storage_core.models import utcnow_iso
from aragora_storage_core.sql.database import SQLDatabase, Transaction
from aragora_storage_core.sql.dialect import Dialect

if TYPE_CHECKING:  # adoption and failure reports load when a status or migration needs them
    from aragora_storage_core.migrations.adoption import Adoption, Schema
    from aragora_storage_core.sql import ddl

#: The bookkeeping table, in the portable spelling (rendered by each database's dialect).
SCHEMA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " database TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
    " checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms REAL NOT NULL,"
    " PRIMARY KEY (database, version))"
)


def upgrade_statements(migration: MigrationFile, up: bool = True) -> list[str]:
    """The statements of a ``.sql`` migration's upgrade (or downgrade) part."""
    upgrade, downgrade = up_and_down(migration.path.read_text(encoding="utf-8"))
    return split_statements(upgrade if up else (downgrade or ""))


def migration_keys(migrations: Sequence[MigrationFile],
                   names: Mapping[str, str] | None = None) -> ddl.KeyColumns:
    """Key columns over every ``.sql`` upgrade of ``migrations``, tables renamed by ``names``
    (see :func:`ddl.key_columns`)."""
    from aragora_storage_core.sql import ddl

    return ddl.key_columns(
        [SCHEMA_VERSION_DDL,
         *(rename_tables(s, dict(names or {})) for m in migrations if m.path.suffix == ".sql"
           for s in upgrade_statements(m))])


class Migrator:
    """Migrations of one logical database ``db`` on one SQL database.

    ``roots`` is the migrations search path (default: :func:`search_path` of the process
    environment); ``names`` renames tables for where they live (consolidated name ->
    actual name, from :meth:`DatabaseInfo.names <aragora_storage_core.layout.DatabaseInfo.names>`).
    """

    def __init__(self, database: SQLDatabase, db: str, location: str,
                 roots: Path | Sequence[Path] | None = None,
                 names: Mapping[str, str] | None = None, *, adopt: bool = True) -> None:
        self.database = database
        self.db = db
        self.location = location
        self.names = dict(names or {})
        #: Compare existing tables without version records with the migrations (False
        #: for a database this process builds from nothing).
        self.adopt = adopt
        self.files = discover(db, search_path() if roots is None else roots)
        dialect = database.dialect
        table, column = dialect.quote("schema_version"), dialect.quote("database")
        self._applied_sql = dialect.sql(
            f"SELECT version, name, checksum, applied_at, duration_ms FROM {table}"
            f" WHERE {column} = ? ORDER BY version"
        )
        self._one_sql = dialect.sql(
            f"SELECT checksum FROM {table} WHERE {column} = ? AND version = ?"
        )
        self._record_sql = dialect.insert(
            table, (column, "version", "name", "checksum", "applied_at", "duration_ms"))
        self._repair_sql = dialect.sql(
            f"UPDATE {table} SET checksum = ? WHERE {column} = ? AND version = ?"
        )
        self._forget_sql = dialect.sql(
            f"DELETE FROM {table} WHERE {column} = ? AND version = ?"
        )

    @cached_property
    def keys(self) -> ddl.KeyColumns:
        """Key columns of every ``.sql`` upgrade (parsed on first use: a status needs none)."""
        return migration_keys(self.files, self.names)

    @cached_property
    def _ddl(self) -> str:
        """``schema_version``'s ``CREATE TABLE`` in this database's dialect."""
        from aragora_storage_core.sql import ddl

        return ddl.render(SCHEMA_VERSION_DDL, self.database.dialect, self.keys)

    def _replay(self, files: Sequence[MigrationFile]) -> list[Schema]:
        return steps(self.db, files, self.names)

    def applied(self) -> list[AppliedMigration]:
        """Rows of ``schema_version`` for this database (none before the first migrate)."""
        if not self.database.exists():
            return []
        tables = {row[0] for row in self.database.fetch_all(self.database.dialect.tables_sql)}
        if "schema_version" not in tables:
            return []
        rows = self.database.fetch_all(self._applied_sql, (self.db,))
        return [AppliedMigration(int(r[0]), r[1], r[2], r[3], float(r[4])) for r in rows]

    def status(self) -> DatabaseStatus:
        """Applied, pending and changed migrations, and tables that exist unversioned."""
        status = DatabaseStatus.compare(self.db, self.location, self.applied(), self.files)
        if self.adopt and not status.applied and status.pending:
            from aragora_storage_core.migrations.adoption import compare

            status.unversioned = list(
                compare(self.database, self.db, self.files, self.names, self._replay).existing)
        return status

    def check_unchanged(self, status: DatabaseStatus) -> None:
        """Raise :class:`ChecksumMismatchError` if an applied file was edited."""
        status.check_unchanged()

    def repair(self) -> DatabaseStatus:
        """Record the current checksum of every applied file that changed since (``--repair``).

        For an edit that was intended (a comment, a typo in a name nobody used): nothing
        runs; only ``schema_version`` learns the file's new checksum.
        """
        status = self.status()
        with self.database.transaction() as tx:
            for migration in status.changed:
                tx.execute(self._repair_sql, (migration.checksum, self.db, migration.version))
                status.ran.append(f"{migration.version:03d}_{migration.name}")
        return self._after(status)

    def baseline(self) -> DatabaseStatus:
        """Adopt tables made without version records: record the versions they match.

        Nothing runs and no table changes; the status lists what stays pending. Raises
        :class:`MigrationError` when the tables match no first migration.
        """
        from aragora_storage_core.migrations.adoption import (
            compare,
            holds_tables,
            refuse_partial,
        )

        status = self.status()
        if status.applied or not holds_tables(self.database, self.files, self.names):
            return status
        # The tables are compared under the migration lock: another migrator may be
        # applying this database's migrations one transaction at a time, and a view taken
        # between two of them would be refused as a partial schema, or recorded twice.
        with self.database.migration_session() as session, session.transaction() as tx:
            self._lock(tx)
            if self.applied():  # read in this transaction, after the lock
                return self._after(status)  # another migrator applied or adopted meanwhile
            adoption = compare(session, self.db, self.files, self.names, self._replay)
            if adoption.existing and len(adoption.matched) < len(self.files) \
                    and any(self._creates_existing(adoption)):
                raise refuse_partial(self.db, self.location, adoption, self.files, self.names)
            if adoption.matched:  # MariaDB commits at DDL: none before a refusal
                tx.execute(self._ddl, label="schema_version")
            for migration in adoption.matched:
                tx.execute(self._record_sql, (self.db, migration.version, migration.name,
                                              migration.checksum, utcnow_iso(), 0.0))
                status.ran.append(f"={migration.version:03d}_{migration.name}")
        return self._after(status)

    def _creates_existing(self, adoption: Adoption) -> list[str]:
        """Tables the first unmatched migration creates that already exist."""
        index = len(adoption.matched)
        before = steps(self.db, self.files[:index + 1], self.names)
        made = set(before[-1]) - (set(before[-2]) if index else set())
        return [t for t in made if t in adoption.existing]

    def migrate(self, target: int | None = None) -> DatabaseStatus:
        """Apply pending migrations up to ``target`` (default: all); return the status.

        A database holding this logical database's tables without version records is
        adopted first (:meth:`baseline`): only what it lacks is applied.
        """
        latest = self.files[-1].version if self.files else 0
        if target is not None and target > latest:
            raise MigrationError(f"{self.db} has no migration {target}: the latest is {latest}",
                                 f"use --to {latest} or lower (aragora-storage migrate --status"
                                 f" --db {self.db})")
        status = self.status()
        self.check_unchanged(status)
        if not status.pending:  # up to date (the usual first use): no lock, no re-read
            return status
        with self.database.migration_session() as session:
            # Decided under the session's lock (where the database has one): tables another
            # migrator is creating right now are not mistaken for a database to adopt.
            status = self.status()
            if self.adopt and not status.applied and status.pending and self.database.exists():
                adopted = self.baseline()
                status = self.status()
                status.ran = adopted.ran
            self.check_unchanged(status)
            for migration in status.pending:
                if target is not None and migration.version > target:
                    break
                if self._apply(session, migration):
                    status.ran.append(f"{migration.version:03d}_{migration.name}")
        return self._after(status)

    def _after(self, before: DatabaseStatus) -> DatabaseStatus:
        """The status now, carrying what this run did."""
        after = self.status()
        after.ran = before.ran
        return after

    def _apply(self, session: SQLDatabase, migration: MigrationFile) -> bool:
        with session.transaction() as tx:
            self._lock(tx)
            tx.execute(self._ddl, label="schema_version")
            if tx.fetch_one(self._one_sql, (self.db, migration.version)) is not None:
                return False
            start = perf_counter()
            self._run(tx, session, migration, up=True)
            duration_ms = (perf_counter() - start) * 1000
            tx.execute(self._record_sql, (self.db, migration.version, migration.name,
                                          migration.checksum, utcnow_iso(), duration_ms))
        return True

    def downgrade(self, target: int) -> DatabaseStatus:
        """Reverse applied migrations above ``target``, newest first."""
        status = self.status()
        self.check_unchanged(status)
        by_version = {m.version: m for m in self.files}
        to_reverse = [a for a in reversed(status.applied) if a.version > target]
        for applied in to_reverse:
            migration = by_version.get(applied.version)
            if migration is None or not _has_downgrade(migration):
                raise MigrationError(
                    f"migration {self.db}/{applied.version:03d}_{applied.name} cannot be reversed",
                    "it has no downgrade; restore a backup instead",
                )
        with self.database.migration_session() as session:
            for applied in to_reverse:
                migration = by_version[applied.version]
                with session.transaction() as tx:
                    self._lock(tx)
                    self._run(tx, session, migration, up=False)
                    tx.execute(self._forget_sql, (self.db, migration.version))
                status.ran.append(f"-{migration.version:03d}_{migration.name}")
        return self._after(status)

    def _lock(self, tx: Transaction) -> None:
        """Wait for other migrators: the lock is held until this transaction ends."""
        if self.database.dialect.migration_lock_sql:
            tx.execute(self.database.dialect.migration_lock_sql, label="migration lock")

    def _run(self, tx: Transaction, session: SQLDatabase, migration: MigrationFile,
             up: bool) -> None:
        from aragora_storage_core.migrations.context import MigrationContext
        from aragora_storage_core.migrations.failure import failed
        from aragora_storage_core.sql import ddl

        dialect = session.dialect
        if migration.path.suffix == ".sql":
            for number, statement in enumerate(upgrade_statements(migration, up), 1):
                statement = rename_tables(statement, self.names)
                if _adds_a_present_column(tx, dialect, statement):
                    continue
                try:
                    tx.execute(ddl.render(statement, dialect, self.keys),
                               label=f"{self.db}/{migration.name}")
                except Exception as error:
                    raise failed(self.db, migration, number, error, up) from None
            return
        module = _load(migration)
        function = getattr(module, "upgrade" if up else "downgrade")
        context = MigrationContext(tx, dialect, self.db, self.names, self.keys)
        try:
            function(context)
        except Exception as error:
            raise failed(self.db, migration, context.statements, error, up) from None


def _adds_a_present_column(tx: Transaction, dialect: Dialect, statement: str) -> bool:
    """True for an ``ADD COLUMN`` whose column the table already has.

    A deployment made by the application may hold some of a migration's columns already
    (added by hand, by ``safe_add_column`` or by its own older migration): only the
    missing ones are added, as ``ADD COLUMN IF NOT EXISTS`` would.
    """
    from aragora_storage_core.sql import ddl

    added = ddl.added_column(statement)
    if added is None:
        return False
    table, column = added
    present = {str(r[0]).casefold() for r in tx.fetch_all(dialect.columns_sql, (table,))}
    return column.casefold() in present


def _has_downgrade(migration: MigrationFile) -> bool:
    if migration.path.suffix == ".sql":
        return up_and_down(migration.path.read_text(encoding="utf-8"))[1] is not None
    return hasattr(_load(migration), "downgrade")


def _load(migration: MigrationFile) -> object:
    import importlib.util  # only Python migrations need it

    name = f"aragora_migration_{migration.path.parent.name}_{migration.version:03d}"
    spec = importlib.util.spec_from_file_location(name, migration.path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"cannot load {migration.path.name}", "check the file is Python")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ordered(names: Sequence[str], only: str | None) -> list[str]:
    """``names`` limited to ``only`` when given; unknown ``only`` is an error."""
    if only is None:
        return list(names)
    if only not in names:
        raise MigrationError(
            f"unknown database {only!r}", f"use one of: {', '.join(names)}"
        )
    return [only]


def steps(db: str, files: Sequence[MigrationFile], names: dict[str, str]) -> list[Schema]:
    """The schema after each of ``files``, built in a scratch in-memory SQLite database."""
    from aragora_storage_core.migrations.adoption import schema_of
    from aragora_storage_core.sqlite.database import SQLiteDatabase

    scratch = SQLiteDatabase(":memory:")
    try:
        migrator = Migrator(scratch, db, "scratch", (), names, adopt=False)
        migrator.files = list(files)
        after = []
        for migration in files:
            migrator.migrate(migration.version)
            after.append(schema_of(scratch))
        return after
    finally:
        scratch.close()
