"""Bulk loading for ``aragora-storage copy``: ``COPY ... FROM STDIN``, upserting only when needed.

A table that is empty when its load starts gets the rows by ``COPY`` straight into it:
no conflict is possible, so no upsert is paid. A table that already holds rows (a
resumed or ``--overwrite`` copy) gets each chunk by ``COPY`` into a temporary staging
table dropped at commit, then one ``INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE``
into the table: a row with the same key is replaced, none is duplicated.

Rows are pulled from the caller's batches while the server reads the ``COPY`` stream
(one batch encoded at a time: memory stays flat), and committed every ``commit_rows``
rows, so an interrupted load keeps what it committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from aragora_storage_core.sql.database import Row
from aragora_storage_postgres.copy_guard import quiet_copy
from aragora_storage_postgres.copy_rows import copy_csv_any
from aragora_storage_postgres.dialect import POSTGRES

if TYPE_CHECKING:
    from aragora_storage_postgres.database import PostgresDatabase

#: The staging table of a load into a table that holds rows (one per transaction).
STAGING = "aragora_copy_staging"


class CopyFeed:
    """The file ``copy_expert`` reads: CSV of the next batches, up to ``limit`` rows."""

    def __init__(self, batches: Iterator[Sequence[Row]], limit: int) -> None:
        self.batches = batches
        self.limit = limit
        self.rows = 0
        #: True once the batches ran out (the load is complete after this chunk).
        self.exhausted = False

    def read(self, size: int = -1, /) -> bytes:
        """The CSV of the next batch in UTF-8, or ``b""`` at the end of this chunk."""
        if self.rows >= self.limit:
            return b""
        batch = next(self.batches, None)
        if batch is None:
            self.exhausted = True
            return b""
        self.rows += len(batch)
        return copy_csv_any(batch).encode()

    def readline(self, size: int = -1, /) -> bytes:
        """:meth:`read` (psycopg2 reads a ``COPY FROM`` file by ``read`` only)."""
        return self.read(size)


def bulk_load(database: PostgresDatabase, table: str, columns: Sequence[str],
              key: Sequence[str], batches: Iterable[Sequence[Row]],
              commit_rows: int) -> Iterator[int]:
    """Load ``batches`` into ``table``; yield the rows of each commit (see the module)."""
    quote = POSTGRES.quote
    target = quote(table)
    names = [quote(c) for c in columns]
    listed = ", ".join(names)
    with database.transaction() as tx:  # on the primary, never on a lagging replica
        held = tx.fetch_one(f"SELECT EXISTS (SELECT 1 FROM {target})")
    upsert = None
    if held and held[0]:
        keys = [quote(c) for c in key]
        upsert = POSTGRES.upsert(target, names, keys, replace=[c for c in names if c not in keys],
                                 select=f"SELECT {listed} FROM {STAGING} WHERE true")
    into = target if upsert is None else STAGING
    source = iter(batches)
    while True:
        feed = CopyFeed(source, max(commit_rows, 1))
        with database.transaction(), database.connection() as conn:
            cursor = conn.cursor()
            if upsert is not None:
                cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} (LIKE {target})"
                               " ON COMMIT DROP")
            with quiet_copy():
                cursor.copy_expert(f"COPY {into} ({listed}) FROM STDIN"
                                   " WITH (FORMAT csv, ENCODING 'UTF8')",
                                   feed)
            if upsert is not None:
                cursor.execute(upsert)
        if feed.rows:
            yield feed.rows
        if feed.exhausted:
            return
