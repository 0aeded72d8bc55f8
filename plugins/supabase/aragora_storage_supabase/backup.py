"""Backup and restore of the project's Supabase tables through the API.

Each table (``schema_version`` and the seed's seven) is read in pages until an empty one and
written as ``<table>.jsonl``, one row per line exactly as the API returns it; files are
0600. The API gives no snapshot: rows written while the backup runs may or may not be in
it. Restore needs the schema at the backup's versions (``aragora-storage migrate``) and
empty tables; it checks every file before changing anything, inserts the rows with their
ids in batches, then moves each id sequence past the highest id over ``SUPABASE_DB_URL``
(the API cannot), which is why restoring rows with ids needs that connection.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aragora_storage_core.backup.manifest import describe_file
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.errors import BackupError
from aragora_storage_core.files import FILE_MODE
from aragora_storage_core.models import utcnow_iso
from aragora_storage_supabase.direct import direct_database
from aragora_storage_supabase.migrate import applied
from aragora_storage_supabase.tables import DATABASES, TABLES

if TYPE_CHECKING:
    from aragora_storage_supabase.backend import SupabaseBackend

#: Tables without an ``id`` column, paged by their primary key instead.
KEYED: dict[str, tuple[str, ...]] = {"schema_version": ("database", "version"),
                                     "nomic_cycles": ("loop_id", "cycle_number"),
                                     "usage_monthly": ("org_id", "month", "event_type"),
                                     "share_links": ("token",),
                                     "token_blacklist": ("jti",)}
BACKED_UP = ("schema_version", *TABLES)
RESTORE_BATCH = 500


def _rows(backend: SupabaseBackend, table: str) -> Iterator[dict[str, Any]]:
    project = backend.project

    def build() -> Any:
        query = project.table(table).select("*")
        for column in KEYED.get(table, ("id",)):
            query = query.order(column)
        return query

    for page in project.pages(build, f"backup {table}"):
        yield from page


def backup(backend: SupabaseBackend, request: BackupRequest) -> BackupManifest:
    """Write every existing table into ``request.directory``; return the manifest."""
    counts: dict[str, int] = {}
    for table in BACKED_UP:
        if not backend.table_exists(table):
            continue
        path = request.directory / f"{table}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            counts[table] = 0
            for row in _rows(backend, table):
                out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                counts[table] += 1
    return BackupManifest(
        backend=backend.name, created_at=utcnow_iso(),
        files=[describe_file(request.directory, f"{t}.jsonl") for t in counts],
        schema_versions=_versions(backend),
        extra={"rows": counts, "api": backend.project.base_url,
               "format": "jsonl: one row per line as the API returns it"})


def _versions(backend: SupabaseBackend) -> dict[str, int]:
    versions = {db.value: [a.version for a in applied(backend, db.value)] for db in DATABASES}
    return {db: max(found) for db, found in versions.items() if found}


def _read(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a row")
            rows.append(row)
    return rows


def _load(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every table file of the backup, parsed; nothing is changed if one is damaged."""
    names = {p.name[:-len(".jsonl")] for p in directory.glob("*.jsonl")}
    unknown = names - set(BACKED_UP)
    if not names or unknown:
        raise BackupError(f"{directory} does not hold a Supabase backup",
                          "restore a directory made by aragora-storage backup of a supabase "
                          "backend")
    try:
        return {t: _read(directory / f"{t}.jsonl") for t in BACKED_UP if t in names}
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"{directory} holds a damaged table file ({type(error).__name__}); "
                          "nothing was changed", "restore from another backup") from None


def _insert(backend: SupabaseBackend, data: dict[str, list[dict[str, Any]]]) -> None:
    """Every row through the API, in batches of :data:`RESTORE_BATCH` (one request each)."""
    from postgrest.types import ReturnMethod

    for table, rows in data.items():
        for start in range(0, len(rows), RESTORE_BATCH):
            batch = rows[start:start + RESTORE_BATCH]
            query = backend.project.table(table).insert(batch, returning=ReturnMethod.minimal)
            backend.project.run(query, f"restore {table}", idempotent=False)


def restore(backend: SupabaseBackend, request: RestoreRequest) -> BackupManifest:
    """Restore the rows of the backup into the project's empty, migrated tables."""
    tables = _load(request.directory)
    wanted = {(r["database"], int(r["version"])) for r in tables.get("schema_version", [])}
    have = {(db.value, a.version) for db in DATABASES for a in applied(backend, db.value)}
    if wanted != have:
        raise BackupError(
            f"the backup was made at schema versions {sorted(wanted)} and the "
            f"{backend.project.location} is at {sorted(have)}",
            "create the schema first: aragora-storage migrate --migrate")
    data = {t: rows for t, rows in tables.items() if t != "schema_version"}
    for table in data:
        if not backend.table_exists(table):
            raise BackupError(f"the {backend.project.location} has no table {table}",
                              "aragora-storage migrate --migrate, then restore again")
        if backend.project.run(backend.project.table(table).select("*").limit(1),
                               f"restore {table}"):
            raise BackupError(f"restore needs empty tables, and {table} has rows",
                              "restore into a new project, or empty the tables first")
    # tables whose ids come from an identity column (integers), not from the caller
    with_ids = [t for t, rows in data.items() if rows and isinstance(rows[0].get("id"), int)]
    if with_ids and not backend.direct_url:
        raise BackupError("restoring rows with their ids needs SUPABASE_DB_URL to move the "
                          "id sequences afterwards (the API cannot); nothing was changed",
                          "export SUPABASE_DB_URL=<direct connection string> and restore")
    with ExitStack() as stack:
        database = None
        if with_ids:  # connected before the first row is written: a bad URL changes nothing
            database = stack.enter_context(direct_database(backend, "moving id sequences"))
            database.fetch_one("SELECT 1", (), "restore connection check")
        _insert(backend, data)
        if database is not None:
            with database.transaction() as tx:
                for table in with_ids:
                    tx.execute(database.dialect.identity_reset_sql.format(table=table,
                                                                         column="id"),
                               label="restore sequences")
    return BackupManifest(
        backend=backend.name, created_at=utcnow_iso(),
        files=[describe_file(request.directory, f"{t}.jsonl") for t in tables],
        schema_versions=_versions(backend),
        extra={"rows": {t: len(rows) for t, rows in data.items()}})
