"""Back up and restore a PostgreSQL database: ``pg_dump -Fc``, else a COPY dump.

``pg_dump`` is used when it is on PATH, accepts the server and no transaction-mode pooler
is in front (its session settings would leak to other clients; see :mod:`pooler`). It is
simply run (never ``pg_dump --version`` first, which costs a process, 90 ms through
Debian's wrapper, on every backup); one older than the server refuses it with "server
version mismatch". Otherwise every project table is copied out as CSV inside one
``REPEATABLE READ`` snapshot. Restoring needs an empty database: the COPY path recreates
the schema with the migrations at the versions the backup recorded, loads every table and
moves each identity sequence past its highest id, all in one transaction.
The password reaches ``pg_dump``/``pg_restore`` through ``PGPASSWORD``, never argv.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.backup.manifest import describe_file
from aragora_storage_core.backup.types import BackupManifest
from aragora_storage_core.errors import BackupError
from aragora_storage_core.files import FILE_MODE
from aragora_storage_core.layout import DATABASE_INFO, TABLES, DatabaseType, Naming
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.models import utcnow_iso
from aragora_storage_core.sql.dialect import check_identifier
from aragora_storage_postgres.connection import connect_kwargs, where
from aragora_storage_postgres.copy_guard import quiet_copy
from aragora_storage_postgres.database import PostgresDatabase

if TYPE_CHECKING:
    from aragora_storage_postgres.backend import PostgresBackend

DUMP_FILE = "database.dump"
_IDENTITY_COLUMNS = (
    "SELECT table_name, column_name FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND is_identity = 'YES'"
)


def dump(backend: PostgresBackend, directory: Path) -> BackupManifest:
    """Write the backup files into ``directory``; return their manifest (not written here)."""
    database = backend.database
    server = int(database.server_facts()["server_version"])
    pg_dump = shutil.which("pg_dump")
    if (pg_dump is not None and not backend.behind_transaction_pooler()
            and _pg_dump(pg_dump, backend, directory / DUMP_FILE)):
        names, method = [DUMP_FILE], "pg_dump"
    else:
        names, method = _copy_out(database, directory), "copy"
    return BackupManifest(
        backend=backend.name, created_at=utcnow_iso(),
        files=[describe_file(directory, name) for name in names],
        schema_versions=schema_versions(database),
        extra={"method": method, "server_version": server})


def restore(backend: PostgresBackend, directory: Path) -> BackupManifest:
    """Restore the backup in ``directory`` into the backend's (empty) database."""
    database = backend.database
    existing = database.fetch_all(database.dialect.tables_sql)
    if existing:
        raise BackupError(
            f"restore needs an empty database, and {database.label} has {len(existing)} tables",
            "create a new database (createdb NAME), point DATABASE_URL at it, restore again")
    if (directory / DUMP_FILE).is_file():
        if backend.behind_transaction_pooler():
            raise BackupError(
                f"this backup was made with pg_dump, and {where(backend.url)} is a"
                " transaction-mode pooler that pg_restore cannot run through",
                "restore over a direct connection to the server (--url postgresql://...)")
        pg_restore = shutil.which("pg_restore")
        if pg_restore is None:
            raise BackupError("this backup was made with pg_dump and needs pg_restore",
                              "install the PostgreSQL client tools (postgresql-client)")
        _run_tool([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error",
                   "--single-transaction", str(directory / DUMP_FILE)], backend, "pg_restore")
        names, method = [DUMP_FILE], "pg_dump"
    else:
        names, method = _copy_in(database, directory), "copy"
    return BackupManifest(
        backend=backend.name, created_at=utcnow_iso(),
        files=[describe_file(directory, name) for name in names],
        schema_versions=schema_versions(database), extra={"method": method})


def schema_versions(database: PostgresDatabase) -> dict[str, int]:
    """Highest applied migration of each logical database (empty before any migration)."""
    tables = {row[0] for row in database.fetch_all(database.dialect.tables_sql)}
    if "schema_version" not in tables:
        return {}
    rows = database.fetch_all(
        "SELECT database, max(version) FROM schema_version GROUP BY database")
    return {name: int(version) for name, version in rows}


def _project_tables(database: PostgresDatabase) -> list[str]:
    """Tables of the project that exist, in load order (referenced tables first)."""
    present = {row[0] for row in database.fetch_all(database.dialect.tables_sql)}
    return [t for t in ("schema_version", *TABLES) if t in present]


def _copy_out(database: PostgresDatabase, directory: Path) -> list[str]:
    import psycopg2

    names: list[str] = []
    tables = _project_tables(database)  # before taking the connection: a pool of one suffices
    with database.connection() as conn:
        try:
            cursor = conn.cursor()
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            for table in tables:
                name = f"{table}.csv"
                fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
                with os.fdopen(fd, "wb") as handle:
                    cursor.copy_expert(
                        f"COPY {table} TO STDOUT WITH (FORMAT csv, HEADER true)", handle)
                names.append(name)
            cursor.execute("COMMIT")
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            if not conn.closed:
                raise
            raise BackupError(
                f"the connection to PostgreSQL at {where(database.url)} was lost during the"
                " backup", "run the backup again once the server is back") from None
    return names


def _copy_in(database: PostgresDatabase, directory: Path) -> list[str]:
    order = ["schema_version", *TABLES]
    names = sorted((p.name for p in directory.glob("*.csv")),
                   key=lambda n: order.index(n[:-4]) if n[:-4] in order else len(order))
    unknown = [n for n in names if n[:-4] not in order]
    if "schema_version.csv" not in names or unknown:
        raise BackupError(f"{directory} does not hold a PostgreSQL COPY backup",
                          "restore a directory made by aragora-storage backup")
    with (directory / "schema_version.csv").open(newline="", encoding="utf-8") as handle:
        versions: dict[str, int] = {}
        for row in csv.DictReader(handle):
            versions[row["database"]] = max(versions.get(row["database"], 0), int(row["version"]))
    with database.transaction(), database.connection() as conn:
        for db, version in versions.items():
            renames = DATABASE_INFO[DatabaseType(db)].names(Naming.SHARED)
            Migrator(database, db, database.label, names=renames).migrate(version)
        cursor = conn.cursor()
        cursor.execute("TRUNCATE schema_version")
        for name in names:
            with (directory / name).open("rb") as handle, quiet_copy():
                header = _header(directory, name, handle.readline())
                handle.seek(0)
                cursor.copy_expert(
                    f"COPY {name[:-4]} ({header}) FROM STDIN WITH (FORMAT csv, HEADER true)",
                    handle)
        cursor.execute(_IDENTITY_COLUMNS)
        for table, column in cursor.fetchall():
            cursor.execute(database.dialect.identity_reset_sql.format(table=table, column=column))
    return names


def _header(directory: Path, name: str, line: bytes) -> str:
    """The column list of a table file's CSV header (plain identifiers only, never SQL)."""
    try:
        columns = [check_identifier(c.strip()) for c in line.decode("utf-8").split(",")]
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{directory} holds a damaged table file: {name}",
                          "restore from another backup") from None
    return ", ".join(columns)


def _pg_dump(pg_dump: str, backend: PostgresBackend, target: Path) -> bool:
    """Dump into ``target`` with ``pg_dump -Fc``; ``False`` if it is older than the server."""
    try:
        _run_tool([pg_dump, "-Fc", "--no-owner", "--no-privileges", "-f", str(target)],
                  backend, "pg_dump")
    except _VersionMismatch:
        target.unlink(missing_ok=True)
        return False
    os.chmod(target, FILE_MODE)
    return True


class _VersionMismatch(Exception):
    """``pg_dump`` refused a server newer than itself."""


def _run_tool(argv: list[str], backend: PostgresBackend, tool: str) -> None:
    """Run ``pg_dump``/``pg_restore`` against the backend; password only in the environment.

    Messages in English (``LC_ALL=C``), so that a version mismatch is recognised.
    """
    from psycopg2.extensions import make_dsn

    kwargs = connect_kwargs(backend.url)
    env = dict(os.environ, LC_ALL="C")
    password = kwargs.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    result = subprocess.run([*argv[:1], f"--dbname={make_dsn(**kwargs)}", *argv[1:]],
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 and "server version mismatch" in result.stderr:
        raise _VersionMismatch
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1][:200] if lines else f"exit code {result.returncode}"
        if password:
            detail = detail.replace(password, "***")
        raise BackupError(f"{tool} failed: {detail}",
                          "check the server and disk space, then run the backup again")
