"""The scale table: time per row and peak memory of the lifecycle jobs at 10^4..10^6 rows.

For each size (``--rows 10000,100000,1000000``), each job runs in a fresh process taking
turns with the best outside tool for the same job, on the same data:

- retention cleanup (``AuditStore.cleanup_old_entries``, half the rows past retention)
  vs a ``DELETE`` by hand (sqlite3 / psycopg2);
- maintenance (``run_maintenance``; half audit entries, half usage events, half of each
  past retention): nothing outside does this job, so no ratio;
- consolidation (``consolidate`` of the legacy layout, SQLite only) vs ``ATTACH`` +
  ``INSERT ... SELECT`` by hand (``bench_lifecycle.hand_written``);
- backup create (``create_backup``) vs ``sqlite3 FILE ".backup COPY"`` of every file
  (the online backup API from Python without the ``sqlite3`` program) / ``pg_dump -Fc``;
- backup restore (``restore_backup``) vs ``cp`` of the backup's files over the live ones
  / ``pg_restore`` into an empty database.

Copy (SQLite -> PostgreSQL against pgloader) is measured by the copy work's own benchmark
and left out here. Time per row: the job's wall time (inside the process for Python
contenders, so interpreter start-up is not counted; the whole process for ``cp``,
``pg_dump`` and ``pg_restore``) divided by the rows. Peak memory: the process's maximum
resident set (and of the tools it starts). Destructive jobs get a fresh copy of the data
each time (a file copy, or ``CREATE DATABASE ... TEMPLATE``), outside the timing.

    .venv/bin/python benchmarks/bench_scale.py [--rows 10000,100000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Days of retention the jobs apply; half the rows are older.
RETENTION_DAYS = 90


@dataclass(frozen=True)
class Sample:
    """One contender's run: seconds and peak resident memory in MB."""

    seconds: float
    peak_mb: float


# --- the data ------------------------------------------------------------------------

def stamps(rows: int) -> Iterator[str]:
    """ISO timestamps, every other one past :data:`RETENTION_DAYS`."""
    now = datetime.now(UTC)
    old = now - timedelta(days=RETENTION_DAYS + 30)
    for i in range(rows):
        yield ((old if i % 2 else now) - timedelta(seconds=i)).isoformat()


def audit_rows(rows: int) -> Iterator[tuple[Any, ...]]:
    """``rows`` audit entries as ``(timestamp, user_id, org_id, action, details)``."""
    for i, stamp in enumerate(stamps(rows)):
        yield (stamp, f"u{i % 1000}", "org-1", "login", '{"ok": true}')


def usage_rows(rows: int) -> Iterator[tuple[Any, ...]]:
    """``rows`` usage events as ``(org_id, event_type, count, metadata, timestamp)``."""
    for i, stamp in enumerate(stamps(rows)):
        yield ("org-1", ("debate", "tokens", "api")[i % 3], 1 + i % 5, "{}", stamp)


AUDIT_INSERT = "INSERT INTO audit_log (timestamp, user_id, org_id, action, details) VALUES "
USAGE_INSERT = ("INSERT INTO usage_events (org_id, event_type, count, metadata, timestamp)"
                " VALUES ")
InsertMany = Callable[[Any, str, list[tuple[Any, ...]]], None]


def sqlite_insert(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """``executemany`` of ``sql`` + one row of ``?`` placeholders."""
    cursor.executemany(sql + "(" + ", ".join("?" * len(rows[0])) + ")", rows)


def pg_insert(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """psycopg2's ``execute_values``: one statement per page of rows."""
    from psycopg2.extras import execute_values

    execute_values(cursor, sql + "%s", rows, page_size=len(rows))
ORG_INSERT = "INSERT INTO organizations (id, name, slug) VALUES ('org-1', 'Org', 'org')"


def migrate(url: str) -> None:
    """Create the schema of every logical database at ``url``."""
    from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
    from aragora_storage_core.registry import Registry

    registry = Registry(env={})
    backend = registry.connect(url)
    try:
        registry.hook.storage_migrate(backend=backend,
                                      request=MigrationRequest(MigrationAction.MIGRATE))
    finally:
        backend.close()
        registry.close()


def fill(conn: Any, insert: InsertMany, audits: int, usage: int) -> None:
    """Insert ``audits`` audit rows and ``usage`` usage events through a DB-API ``conn``."""
    cursor = conn.cursor()
    cursor.execute(ORG_INSERT)
    for sql, rows in ((AUDIT_INSERT, audit_rows(audits)), (USAGE_INSERT, usage_rows(usage))):
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                insert(cursor, sql, batch)
                batch.clear()
        if batch:
            insert(cursor, sql, batch)
    conn.commit()


def sqlite_seed(directory: Path, audits: int, usage: int) -> str:
    """A SQLite data directory whose ``users.db`` holds the rows; its URL."""
    url = f"sqlite:///{directory}?mode=legacy"
    migrate(url)
    conn = sqlite3.connect(directory / "users.db")
    fill(conn, sqlite_insert, audits, usage)
    conn.close()
    return url


def pg_url(name: str) -> str:
    """The URL of database ``name`` on the admin URL's server."""
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def pg_admin_run(*statements: str) -> None:
    """Run statements on the admin database (autocommit)."""
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    try:
        for statement in statements:
            conn.cursor().execute(statement)
    finally:
        conn.close()


def pg_drop(name: str) -> None:
    """Drop database ``name`` and its sessions."""
    pg_admin_run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
                 f'DROP DATABASE IF EXISTS "{name}"')


def pg_seed(name: str, audits: int, usage: int) -> str:
    """A new PostgreSQL database ``name`` holding the rows; its URL."""
    import psycopg2

    pg_admin_run(f'CREATE DATABASE "{name}"')
    url = pg_url(name)
    migrate(url)
    conn = psycopg2.connect(url)
    fill(conn, pg_insert, audits, usage)
    conn.close()
    return url


def pg_clone(template: str) -> tuple[str, str]:
    """A copy of database ``template`` (``CREATE DATABASE ... TEMPLATE``): name, URL."""
    name = f"{template}_{secrets.token_hex(3)}"
    pg_admin_run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                 f" WHERE datname = '{template}'",
                 f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name, pg_url(name)


def pg_empty() -> tuple[str, str]:
    """A new empty database: name, URL."""
    name = f"i12scale_empty_{secrets.token_hex(3)}"
    pg_admin_run(f'CREATE DATABASE "{name}"')
    return name, pg_url(name)


# --- the contenders, each in its own process ------------------------------------------

def child(job: str, args: list[str]) -> None:
    """Run one job (in a fresh process) and print its seconds as JSON."""
    from aragora_storage_core.registry import Registry

    registry = Registry(env={})
    start = time.perf_counter()
    CHILD_JOBS[job](registry, args)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def _cleanup(registry: Any, args: list[str]) -> None:
    registry.connect(args[0]).store("audit").cleanup_old_entries(RETENTION_DAYS)


def _maintenance(registry: Any, args: list[str]) -> None:
    from aragora_storage_core.maintenance import run_maintenance

    run_maintenance(registry.connect(args[0]).store, RETENTION_DAYS, RETENTION_DAYS)


def _consolidate(registry: Any, args: list[str]) -> None:
    from aragora_storage_core.consolidate.run import consolidate

    consolidate(Path(args[0]), Path(args[1]), backup=False)


def _backup(registry: Any, args: list[str]) -> None:
    from aragora_storage_core.backup.create import create_backup

    create_backup(registry.hook, registry.connect(args[0]), Path(args[1]))


def _restore(registry: Any, args: list[str]) -> None:
    from aragora_storage_core.backup.restore import restore_backup

    restore_backup(registry.hook, registry.connect(args[0]), Path(args[1]), Path(args[2]))


def _raw_delete_sqlite(registry: Any, args: list[str]) -> None:
    from aragora_storage_core.sql.stores.activity import cutoff_iso

    conn = sqlite3.connect(Path(args[0]) / "users.db", isolation_level=None)
    conn.execute("DELETE FROM audit_log WHERE timestamp < ?", (cutoff_iso(RETENTION_DAYS),))
    conn.close()


def _raw_delete_pg(registry: Any, args: list[str]) -> None:
    import psycopg2

    from aragora_storage_core.sql.stores.activity import cutoff_iso

    conn = psycopg2.connect(args[0])
    conn.cursor().execute("DELETE FROM audit_log WHERE timestamp < %s",
                          (cutoff_iso(RETENTION_DAYS),))
    conn.commit()
    conn.close()


def _raw_attach(registry: Any, args: list[str]) -> None:
    from bench_lifecycle import hand_written

    hand_written(Path(args[0]), Path(args[1]))


def _raw_sqlite_backup(registry: Any, args: list[str]) -> None:
    target = Path(args[1])
    target.mkdir()
    for source in sorted(Path(args[0]).glob("*.db")):
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target / source.name)
        src.backup(dst)
        dst.close()
        src.close()


def sqlite3_cli_backup(source: Path, target: Path) -> tuple[str, Sample]:
    """``sqlite3 FILE ".backup COPY"`` for every file (one shell), or, without the
    ``sqlite3`` program, the same online backup API from Python."""
    if shutil.which("sqlite3") is None:
        return "sqlite3 backup API (Python)", run_child("raw_sqlite_backup", source, target)
    target.mkdir()
    script = 'for f in "$1"/*.db; do sqlite3 "$f" ".backup $2/$(basename "$f")" || exit 1; done'
    return "sqlite3 .backup", run_tool("sh", "-c", script, "sh", source, target)


CHILD_JOBS: dict[str, Callable[[Any, list[str]], None]] = {
    "cleanup": _cleanup, "maintenance": _maintenance, "consolidate": _consolidate,
    "backup": _backup, "restore": _restore, "raw_delete_sqlite": _raw_delete_sqlite,
    "raw_delete_pg": _raw_delete_pg, "raw_attach": _raw_attach,
    "raw_sqlite_backup": _raw_sqlite_backup,
}


def launched(command: list[str]) -> tuple[float, float, str]:
    """Run ``command`` under GNU ``time``; wall seconds, peak MB, stdout.

    Started from ``time`` (a small process), so the peak resident memory it reports (the
    command's and its children's) does not carry this Python process's, as a process
    forked from here would.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", peak.name, *command],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
        return seconds, int(peak.read().split()[-1]) / 1024, done.stdout


def run_child(job: str, *args: object) -> Sample:
    """Run :func:`child` for ``job`` in a fresh interpreter (time: the job alone)."""
    _, peak, output = launched([sys.executable, __file__, "--child", job, *map(str, args)])
    return Sample(json.loads(output.strip().splitlines()[-1])["seconds"], peak)


def run_tool(*command: object) -> Sample:
    """Run an outside tool (time: the whole process)."""
    seconds, peak, _ = launched([str(c) for c in command])
    return Sample(seconds, peak)


# --- the jobs at one size -------------------------------------------------------------

Row = tuple[str, str, int, Sample, str, Sample | None]


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        yield Path(tmp)


def sqlite_jobs(rows: int) -> list[Row]:
    """Every SQLite job at ``rows`` rows, with its outside tool."""
    from bench_lifecycle import make_source

    from aragora_storage_core.backup.create import create_backup
    from aragora_storage_core.registry import Registry

    out: list[Row] = []
    with scratch() as work:
        seed = work / "seed"
        sqlite_seed(seed, rows, 0)
        copies = iter(range(100))

        def fresh() -> Path:
            path = work / f"data-{next(copies)}"
            shutil.copytree(seed, path)
            return path

        ours = run_child("cleanup", f"sqlite:///{fresh()}?mode=legacy")
        theirs = run_child("raw_delete_sqlite", fresh())
        out.append(("retention cleanup", "SQLite", rows, ours, "DELETE (sqlite3)", theirs))
        shutil.rmtree(seed)
        sqlite_seed(seed, rows // 2, rows - rows // 2)
        ours = run_child("maintenance", f"sqlite:///{fresh()}?mode=legacy")
        out.append(("maintenance", "SQLite", rows, ours, "none", None))
        legacy = work / "legacy"
        make_source(legacy, rows)
        ours = run_child("consolidate", legacy, work / "consolidated")
        theirs = run_child("raw_attach", legacy, work / "attached")
        out.append(("consolidation", "SQLite", rows, ours, "ATTACH + INSERT (sqlite3)", theirs))
        url = f"sqlite:///{legacy}?mode=legacy"
        ours = run_child("backup", url, work / "backups")
        theirs = sqlite3_cli_backup(legacy, work / "cli-copy")
        out.append(("backup create", "SQLite", rows, ours, theirs[0], theirs[1]))
        registry = Registry(env={})
        backend = registry.connect(url)
        directory, manifest = create_backup(registry.hook, backend, work / "backups")
        backend.close()
        ours = run_child("restore", url, directory, work / "kept")
        theirs = run_tool("cp", *(directory / f.name for f in manifest.files), legacy)
        out.append(("backup restore", "SQLite", rows, ours, "cp", theirs))
    return out


def postgres_jobs(rows: int) -> list[Row]:
    """Every PostgreSQL job at ``rows`` rows, with its outside tool."""
    out: list[Row] = []
    seed = f"i12scale_{secrets.token_hex(3)}"
    names = [seed]
    try:
        pg_seed(seed, rows, 0)

        def clone() -> str:
            name, url = pg_clone(seed)
            names.append(name)
            return url

        ours = run_child("cleanup", clone())
        theirs = run_child("raw_delete_pg", clone())
        out.append(("retention cleanup", "PostgreSQL", rows, ours, "DELETE (psycopg2)", theirs))
        both = f"{seed}_m"
        names.append(both)
        ours = run_child("maintenance", pg_seed(both, rows // 2, rows - rows // 2))
        out.append(("maintenance", "PostgreSQL", rows, ours, "none", None))
        with scratch() as work:
            ours = run_child("backup", pg_url(seed), work / "backups")
            dump = work / "tool.dump"
            theirs = run_tool("pg_dump", "-Fc", "--no-owner", "-f", dump, "-d", pg_url(seed))
            out.append(("backup create", "PostgreSQL", rows, ours, "pg_dump -Fc", theirs))
            (directory,) = [p for p in (work / "backups").iterdir() if p.is_dir()]
            empty, url = pg_empty()
            names.append(empty)
            ours = run_child("restore", url, directory, work / "kept")
            empty, url = pg_empty()
            names.append(empty)
            theirs = run_tool("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                              "--single-transaction", "-d", url, dump)
            out.append(("backup restore", "PostgreSQL", rows, ours, "pg_restore", theirs))
    finally:
        for name in reversed(names):
            pg_drop(name)
    return out


# --- the table ------------------------------------------------------------------------

def markdown(rows: list[Row]) -> str:
    """The Markdown table of every row."""
    lines = ["| job | backend | rows | ours µs/row | ours peak MB | outside tool |"
             " tool µs/row | tool peak MB | ours / tool |",
             "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for job, backend, count, ours, tool, theirs in rows:
        cells = [job, backend, f"{count:,}", f"{ours.seconds / count * 1e6:.2f}",
                 f"{ours.peak_mb:.0f}", tool]
        if theirs is None:
            cells += ["-", "-", "-"]
        else:
            cells += [f"{theirs.seconds / count * 1e6:.2f}", f"{theirs.peak_mb:.0f}",
                      f"{ours.seconds / theirs.seconds:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run the jobs at every size and print the table with the load average."""
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000",
                        help="comma-separated row counts (default 10000,100000,1000000)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    sizes = [int(size) for size in args.rows.split(",")]
    rows: list[Row] = []
    started = os.getloadavg()
    for size in sizes:
        rows += sqlite_jobs(size)
        if not args.no_postgres:
            rows += postgres_jobs(size)
    rows.sort(key=lambda row: (row[1], row[0], row[2]))
    ended = os.getloadavg()
    print(markdown(rows))
    print(f"\nload average (1/5/15 min) at the start {started[0]:.2f} {started[1]:.2f}"
          f" {started[2]:.2f}, at the end {ended[0]:.2f} {ended[1]:.2f} {ended[2]:.2f}")


if __name__ == "__main__":
    main()
