"""The schema the migrations create, read once from an in-memory SQLite database.

Column lists and primary keys of every mapped table, without touching any real file:
consolidation copies by these column lists, checksums order rows by these keys, and
copying between backends pages through tables by them.
"""

from __future__ import annotations

from functools import cache

from aragora_storage_core.layout import DATABASES, Naming
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.migrations.files import ROOT
from aragora_storage_core.records import dataclass, replace
from aragora_storage_core.sqlite.database import SQLiteDatabase


@dataclass(frozen=True)
class TableSchema:
    """A table's columns in order and its primary key columns in key order."""

    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    #: True when the key is one ``INTEGER PRIMARY KEY`` column (an identity elsewhere).
    integer_key: bool = False

    def with_name(self, name: str) -> TableSchema:
        """The same table under another name (a legacy file's or a shared database's)."""
        return replace(self, name=name)

    @property
    def order_key(self) -> tuple[str, ...]:
        """Columns that order rows uniquely: the primary key, else every column."""
        return self.primary_key or self.columns


@cache
def reference_schema() -> dict[str, TableSchema]:
    """Every mapped table as the core's migrations define it, by its shared name.

    The shared name is unique over the layout (:data:`~aragora_storage_core.layout.TABLES`);
    :meth:`TableSchema.with_name` gives the table under its name elsewhere.
    """
    database = SQLiteDatabase(":memory:")
    try:
        for info in DATABASES:
            Migrator(database, info.type.value, "reference", ROOT,
                     info.names(Naming.SHARED), adopt=False).migrate()
        tables: dict[str, TableSchema] = {}
        for info in DATABASES:
            for table in (t.named(Naming.SHARED) for t in info.tables):
                rows = database.fetch_all(f"PRAGMA table_info({table})")
                columns = tuple(r[1] for r in rows)
                keys = sorted((r for r in rows if r[5]), key=lambda r: r[5])
                integer_key = len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER"
                tables[table] = TableSchema(table, columns, tuple(r[1] for r in keys),
                                            integer_key)
        return tables
    finally:
        database.close()
