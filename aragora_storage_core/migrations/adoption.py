"""Adopt a database made before version records existed (a deployment of the application).

Such a database holds tables but no ``schema_version`` rows for its logical database.
Running the migrations would fail with "table already exists", so instead the schema each
migration leaves is rebuilt in a scratch SQLite database, one version at a time, and
compared with what is there: every version whose tables and columns are all present is
recorded as applied (nothing runs); the versions after it are left pending, to be applied
by ``migrate`` (e.g. the lockout columns of ``users/002`` on a seed-made ``users.db``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.files import rename_tables
from aragora_storage_core.migrations.types import MigrationFile
from aragora_storage_core.records import dataclass
from aragora_storage_core.sql.database import SQLDatabase

Schema = dict[str, frozenset[str]]


@dataclass(frozen=True)
class Adoption:
    """What comparing a database with its migrations found."""

    matched: tuple[MigrationFile, ...]
    #: Tables of this logical database that exist although no version is recorded.
    existing: tuple[str, ...]


def schema_of(database: SQLDatabase, tables: Sequence[str] | None = None) -> Schema:
    """Table -> column names of ``database`` (or of ``tables`` only), without bookkeeping."""
    dialect = database.dialect
    names = [r[0] for r in database.fetch_all(dialect.tables_sql)]
    wanted = set(tables) if tables is not None else None
    return {name: frozenset(r[0] for r in database.fetch_all(dialect.columns_sql, (name,)))
            for name in names
            if name != "schema_version" and (wanted is None or name in wanted)}


_CREATE = re.compile(r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`]?(\w+)", re.I)


def declared_tables(files: Sequence[MigrationFile], names: dict[str, str]) -> set[str] | None:
    """Tables the ``.sql`` files create (renamed), or ``None`` when a ``.py`` file may too."""
    found: set[str] = set()
    for migration in files:
        if migration.path.suffix != ".sql":
            return None
        text = rename_tables(migration.path.read_text(encoding="utf-8"), names)
        found.update(_CREATE.findall(text))
    return found


def holds_tables(database: SQLDatabase, files: Sequence[MigrationFile],
                 names: dict[str, str]) -> bool:
    """Whether ``database`` may hold tables of ``files``' logical database (cheap: nothing
    is replayed); ``False`` means there is nothing to adopt."""
    if not files or not database.exists():
        return False
    present = {r[0] for r in database.fetch_all(database.dialect.tables_sql)}
    declared = declared_tables(files, names)
    return bool(present - {"schema_version"}) and (declared is None or bool(declared & present))


def compare(database: SQLDatabase, db: str, files: Sequence[MigrationFile],
            names: dict[str, str],
            replay: Callable[[Sequence[MigrationFile]], list[Schema]]) -> Adoption:
    """Which of ``files`` the tables already in ``database`` match, in order.

    ``replay(files)`` is the schema after each file (the engine replays them on a scratch
    database).
    """
    if not holds_tables(database, files, names):
        return Adoption((), ())  # none of this database's tables is there: nothing to adopt
    after = replay(files)
    ours = set().union(*after)
    actual = schema_of(database, sorted(ours))
    matched: list[MigrationFile] = []
    for migration, expected in zip(files, after, strict=True):
        if not all(table in actual and columns <= actual[table]
                   for table, columns in expected.items()):
            break
        matched.append(migration)
    return Adoption(tuple(matched), tuple(sorted(actual)))


def refuse_partial(db: str, location: str, adoption: Adoption, files: Sequence[MigrationFile],
                   names: dict[str, str]) -> MigrationError:
    """The error for tables that exist but match no migration (running it would clash)."""
    nxt = files[len(adoption.matched)]
    return MigrationError(
        f"{location} already holds {', '.join(adoption.existing)} of {db} without version"
        f" records, but not as migration {nxt.version:03d}_{nxt.name} leaves them",
        f"compare the tables with {nxt.path} and add what is missing by hand, then run:"
        f" aragora-storage migrate --baseline --db {db}")
