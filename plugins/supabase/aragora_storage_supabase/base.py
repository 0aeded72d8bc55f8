"""What every Supabase store shares: paging, batched writes, updates, deletions.

Rows have the columns and encodings of the shared SQL stores (JSON as text, timestamps as
ISO text, booleans as 0/1), so the same tables serve both and rows decode with the core's
row readers. Reads page until the end whatever the project's ``max-rows``; bulk writes
send one request (one transaction) per page of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from aragora_storage_core.errors import NotFoundError
from aragora_storage_supabase.project import PAGE_SIZE

if TYPE_CHECKING:
    from aragora_storage_supabase.project import SupabaseProject


def values(row: dict[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
    """The values of ``row`` in ``columns`` order (the shape the core's row readers take)."""
    return tuple(row[c] for c in columns)


def pages(project: SupabaseProject, table: str, columns: str, operation: str,
          **equals: Any) -> Iterator[list[dict[str, Any]]]:
    """Every row of ``table`` (matching ``equals``) in pages, ordered by ``id``."""
    def build() -> Any:
        query = project.table(table).select(columns)
        for column, value in equals.items():
            query = query.eq(column, value)
        return query.order("id")

    return project.pages(build, operation)


def fetch(project: SupabaseProject, build: Callable[[], Any], operation: str,
          limit: int | None = None, start: int = 0) -> list[dict[str, Any]]:
    """Every row (at most ``limit``, from row ``start``) of the ordered query ``build()``
    makes, in pages."""
    rows: list[dict[str, Any]] = []
    for page in project.pages(build, operation, limit, start):
        rows += page
    return rows


def batches(rows: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``rows`` in slices of :data:`PAGE_SIZE`: one write request each."""
    for start in range(0, len(rows), PAGE_SIZE):
        yield list(rows[start:start + PAGE_SIZE])


def _same(value: Any) -> Any:
    return value


class SupabaseStore:
    """Shared plumbing: the project whose API the store calls, and the store's table.

    ``table``, ``columns`` and ``encoders`` mean what they mean on the shared SQL stores
    (``encoders`` turn ``update(**fields)`` values into their stored form).
    """

    table: ClassVar[str] = ""
    columns: ClassVar[tuple[str, ...]] = ()
    encoders: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def __init__(self, project: SupabaseProject) -> None:
        self._project = project
        self._run = project.run
        self._table = project.table
        self._column_list = ",".join(self.columns)

    def select(self) -> Any:
        """A ``GET`` of the store's columns from its table."""
        return self._table(self.table).select(self._column_list)

    def first(self, query: Any, operation: str) -> tuple[Any, ...] | None:
        """The first row of ``query`` in ``columns`` order, or ``None``."""
        rows = self._run(query.limit(1), operation)
        return values(rows[0], self.columns) if rows else None

    def fetch(self, build: Callable[[], Any], operation: str, limit: int | None = None,
              start: int = 0) -> list[tuple[Any, ...]]:
        """Every row of ``build()`` in ``columns`` order, paged (see :func:`fetch`)."""
        return [values(r, self.columns)
                for r in fetch(self._project, build, operation, limit, start)]

    def insert(self, rows: Sequence[tuple[Any, ...]], operation: str,
               columns: Sequence[str] | None = None, skip_existing: str | None = None) -> int:
        """Insert ``rows`` (in ``columns`` order, default the store's), one request per
        page; with ``skip_existing`` (a unique column list), rows whose key exists are
        left alone. Return how many rows were given."""
        from postgrest.types import ReturnMethod

        names = self.columns if columns is None else columns
        body = [dict(zip(names, row, strict=True)) for row in rows]
        table = self._table(self.table)
        for batch in batches(body):
            query = (table.insert(batch, returning=ReturnMethod.minimal)
                     if skip_existing is None else
                     table.upsert(batch, on_conflict=skip_existing, ignore_duplicates=True,
                                  returning=ReturnMethod.minimal))
            self._run(query, operation, idempotent=False)
        return len(body)

    def encode(self, column: str, value: Any) -> Any:
        """The stored form of ``value`` for ``column`` (see ``encoders``)."""
        return self.encoders.get(column, _same)(value)

    def patch(self, key_column: str, key: Any, fields: Mapping[str, Any],
              operation: str) -> tuple[Any, ...]:
        """Change ``fields`` of the row whose ``key_column`` is ``key``; return the row
        (``columns`` order); ``NotFoundError`` if there is none."""
        for name in fields:
            if name not in self.columns or name == key_column:
                raise ValueError(f"{self.table} has no updatable field {name!r}")
        body = {name: self.encode(name, value) for name, value in fields.items()}
        query = self._table(self.table).update(body).eq(key_column, key).select(self._column_list)
        rows = self._run(query, operation, idempotent=False)
        if not rows:
            raise NotFoundError(f"{self.table}: no record {key!r}", "check the id")
        return values(rows[0], self.columns)

    def remove(self, where: Callable[[Any], Any], operation: str, *,
               dry_run: bool = False) -> int:
        """Delete the rows the filters ``where(query)`` adds select; with ``dry_run`` only
        count them. Return how many."""
        from postgrest.types import CountMethod, ReturnMethod

        table = self._table(self.table)
        if dry_run:
            query = where(table.select("*", count=CountMethod.exact, head=True))
            return int(self._project.execute(query, operation).count or 0)
        query = where(table.delete(count=CountMethod.exact, returning=ReturnMethod.minimal))
        return int(self._project.execute(query, operation, idempotent=False).count or 0)
