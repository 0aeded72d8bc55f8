"""``aragora-storage copy``: SQLite to SQLite, SQLite to PostgreSQL and back, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core.backend import Backend, SQLBackend
from aragora_storage_core.copy import copy_backend, interrupted_copy_source
from aragora_storage_core.errors import CopyError
from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import (
    AgentMetric,
    AuditEntry,
    DebateArtifact,
    NomicCycle,
    ShareLink,
    StreamEvent,
    UsageEvent,
    Webhook,
)
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.url import parse_url
from tests.lifecycle.conftest import add_accounts, table_rows
from tests.lifecycle.legacy_data import fill, make_legacy


@pytest.fixture
def legacy_url(tmp_path: Path) -> str:
    """A legacy SQLite data directory with 3 rows in every table (and 2500 events)."""
    source = tmp_path / "legacy"
    make_legacy(source, rows_per_table=3)
    fill(source / "nomic.db", "stream_events", 2500, start=100)
    return f"sqlite:///{source}?mode=legacy"


def open_pair(source_url: str, target_url: str) -> tuple[Registry, Backend, Backend]:
    registry = Registry(env={})
    return registry, registry.connect(source_url), registry.connect(target_url)


def test_copy_sqlite_legacy_to_consolidated_streams_every_table_and_verifies_counts(
        legacy_url: str, tmp_path: Path, cli: Any) -> None:
    target_url = f"sqlite:///{tmp_path / 'consolidated'}?mode=consolidated"
    result = cli("copy", "--from", legacy_url, "--to", target_url, "--batch-size", "100")
    assert result.code == 0, result.err
    assert "  stream_events                  2503 ->       2503  ok" in result.out
    assert "copied 2713 rows in 71 tables; counts match" in result.out
    _, source, target = open_pair(legacy_url, target_url)
    assert table_rows(target) == table_rows(source)
    assert sorted(p.name for p in (tmp_path / "consolidated").glob("*.db")) == \
        ["agents.db", "analytics.db", "core.db", "memory.db"]


def test_running_the_copy_twice_duplicates_nothing(legacy_url: str, tmp_path: Path) -> None:
    target_url = f"sqlite:///{tmp_path / 'again.db'}"
    registry, source, target = open_pair(legacy_url, target_url)
    first = copy_backend(registry.hook, source, target, batch_size=500)
    second = copy_backend(registry.hook, source, target, batch_size=500, overwrite=True)
    assert first.ok and second.ok
    assert [t.target_rows for t in first.tables] == [t.target_rows for t in second.tables]


#: Fault injection: a copy that pauses (prints "paused") once some stream_events batches
#: are committed, for the test to kill or interrupt it there.
PAUSING = """
import sys, time
from aragora_storage_core import progress

real_advance = progress.Progress.advance

def advance_then_pause(self, amount=1, note=""):
    real_advance(self, amount, note)
    if note == "stream_events" and self.done > 1000:
        print("paused", flush=True)
        time.sleep(600)

progress.Progress.advance = advance_then_pause
"""

KILLABLE = PAUSING + """
from aragora_storage_core.copy import copy_backend
from aragora_storage_core.registry import Registry

registry = Registry(env={})
copy_backend(registry.hook, registry.connect(sys.argv[1]), registry.connect(sys.argv[2]),
             batch_size=100, commit_rows=500)
"""


def kill_half_way(source_url: str, target_url: str) -> None:
    """Fault: a copy from ``source_url`` to ``target_url`` killed (SIGKILL) half-way."""
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, source_url, target_url],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "paused\n"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def test_a_copy_killed_half_way_resumes_to_the_same_result(
        legacy_url: str, tmp_path: Path) -> None:
    target_url = f"sqlite:///{tmp_path / 'resumed'}?mode=consolidated"
    kill_half_way(legacy_url, target_url)
    registry, source, target = open_pair(legacy_url, target_url)
    assert isinstance(target, SQLBackend)
    partial = target.database_for(DatabaseType.NOMIC).fetch_one(
        "SELECT count(*) FROM stream_events")
    assert partial is not None and 0 < partial[0] < 2503
    report = copy_backend(registry.hook, source, target, batch_size=100, resume=True)
    assert report.ok
    assert table_rows(target) == table_rows(source)


INTERRUPTED_COPY = PAUSING + """
from aragora_storage_core.cli import main

sys.exit(main(["copy", "--from", sys.argv[1], "--to", sys.argv[2], "--batch-size", "100"]))
"""


def test_ctrl_c_during_a_copy_says_the_copied_rows_are_kept_and_how_to_finish(
        legacy_url: str, tmp_path: Path) -> None:
    target_url = f"sqlite:///{tmp_path / 'interrupted'}?mode=consolidated"
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTED_COPY, legacy_url, target_url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "paused\n"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate()
    assert process.returncode == 130
    assert err.splitlines() == [
        "interrupted: the rows copied so far are kept in the target",
        "hint: run the same copy again with --resume to finish it (nothing is duplicated)"]


def test_copy_from_a_source_without_store_tables_is_refused_and_writes_nothing(
        tmp_path: Path, cli: Any) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("copy", "--from", f"sqlite:///{tmp_path / 'empty'}",
                 "--to", f"sqlite:///{tmp_path / 'out'}")
    assert result.code == 1
    assert result.err.startswith(f"error: the source sqlite:///{tmp_path / 'empty'} holds")
    assert not (tmp_path / "out").exists()
    assert list((tmp_path / "empty").iterdir()) == []


def test_copy_onto_itself_is_refused(legacy_url: str, cli: Any) -> None:
    result = cli("copy", "--from", legacy_url, "--to", legacy_url)
    assert result.code == 1
    assert result.err.splitlines()[0] == "error: the source and target are the same database"


def test_a_row_the_target_schema_rejects_names_the_table(tmp_path: Path) -> None:
    source_dir = tmp_path / "bad"
    make_legacy(source_dir, rows_per_table=1)
    import sqlite3
    conn = sqlite3.connect(source_dir / "users.db")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("INSERT INTO usage_events (org_id, event_type) VALUES ('no-such-org', 'x')")
    conn.commit()
    conn.close()
    registry, source, target = open_pair(f"sqlite:///{source_dir}",
                                         f"sqlite:///{tmp_path / 'out.db'}")
    with pytest.raises(CopyError, match="copying usage_events failed: IntegrityError"):
        copy_backend(registry.hook, source, target)


def test_a_source_column_the_target_lacks_is_refused_before_any_row_is_written(
        legacy_url: str, tmp_path: Path) -> None:
    """Never dropped silently: the column and the way to carry it are named."""
    source_dir = Path(legacy_url.removeprefix("sqlite:///").split("?")[0])
    import sqlite3
    with sqlite3.connect(source_dir / "debates.db") as conn:
        conn.execute("ALTER TABLE debates ADD COLUMN extra_note TEXT")
        conn.execute("UPDATE debates SET extra_note = 'kept'")
    target_url = f"sqlite:///{tmp_path / 'consolidated'}?mode=consolidated"
    registry, source, target = open_pair(legacy_url, target_url)
    with pytest.raises(CopyError) as error:
        copy_backend(registry.hook, source, target)
    assert error.value.message == ("table debates of the source has column extra_note that"
                                   " the target's debates lacks: the copy would drop it")
    assert "ARAGORA_MIGRATIONS_PATH" in error.value.hint
    assert not any(table_rows(target).values())


def test_a_column_added_by_an_application_migration_is_carried(
        legacy_url: str, tmp_path: Path) -> None:
    source_dir = Path(legacy_url.removeprefix("sqlite:///").split("?")[0])
    import sqlite3
    with sqlite3.connect(source_dir / "debates.db") as conn:
        conn.execute("ALTER TABLE debates ADD COLUMN extra_note TEXT")
        conn.execute("UPDATE debates SET extra_note = 'kept ' || id")
        expected = conn.execute("SELECT id, extra_note FROM debates ORDER BY id").fetchall()
    app = tmp_path / "app_migrations" / "debates"
    app.mkdir(parents=True)
    (app / "002_extra_note.sql").write_text("ALTER TABLE debates ADD COLUMN extra_note TEXT;\n")
    target_dir = tmp_path / "consolidated"
    registry = Registry(env={"ARAGORA_MIGRATIONS_PATH": str(app.parent)})
    source = registry.connect(legacy_url)
    target = registry.connect(f"sqlite:///{target_dir}?mode=consolidated")
    assert copy_backend(registry.hook, source, target).ok
    with sqlite3.connect(target_dir / "core.db") as conn:
        assert conn.execute("SELECT id, extra_note FROM debates ORDER BY id").fetchall() == \
            expected


# --- against the real PostgreSQL server -------------------------------------------------

def add_store_rows(backend: Backend) -> None:
    """Rows as the application writes them: JSON, booleans, timestamps, NULLs, floats."""
    now = datetime.now(UTC)
    add_accounts(backend, users=4, audits=3)
    backend.store(StoreKind.USAGE).record(UsageEvent(org_id="org-1", event_type="debate",
                                                     metadata={"model": "ü"}))
    backend.store(StoreKind.WEBHOOKS).create(Webhook(id="w1", org_id="org-1",
                                                     url="https://example.com/h",
                                                     events=["a", "b"], secret=None))
    backend.store(StoreKind.SHARE_LINKS).create(ShareLink(token="t1", debate_id="d1",
                                                          max_views=None))
    backend.store(StoreKind.TOKEN_BLACKLIST).revoke("jti-1", now + timedelta(days=1), "u0")
    backend.store(StoreKind.NOMIC_CYCLES).save_cycle(NomicCycle(
        loop_id="loop", cycle_number=1, phase="debate", stage="s", started_at=now,
        success=None))
    backend.store(StoreKind.DEBATE_ARTIFACTS).save(DebateArtifact(
        loop_id="loop", cycle_number=1, phase="debate", task="t", agents=["a", "b"],
        transcript=[{"said": "héllo"}], consensus_reached=True, confidence=0.1 + 0.2))
    backend.store(StoreKind.STREAM_EVENTS).append(StreamEvent(
        loop_id="loop", cycle=1, event_type="e", event_data={"n": [1, 2.5, None]}))
    backend.store(StoreKind.AGENT_METRICS).record(AgentMetric(
        loop_id="loop", cycle=1, agent="a", metric="m", value=1 / 3))


@pytest.mark.postgres
def test_copy_sqlite_to_postgresql_and_back_round_trips_every_row(
        legacy_url: str, pg_url: str, tmp_path: Path, cli: Any) -> None:
    registry, source, _ = open_pair(legacy_url, legacy_url)
    add_store_rows(source)
    registry.close()
    to_pg = cli("copy", "--from", legacy_url, "--to", pg_url, "--batch-size", "700")
    assert to_pg.code == 0, to_pg.err
    back_url = f"sqlite:///{tmp_path / 'back'}?mode=consolidated"
    back = cli("copy", "--from", pg_url, "--to", back_url)
    assert back.code == 0, back.err
    _, source, returned = open_pair(legacy_url, back_url)
    assert table_rows(returned) == table_rows(source)
    _, on_postgres, _ = open_pair(pg_url, back_url)
    assert table_rows(on_postgres) == table_rows(source)
    assert on_postgres.store(StoreKind.DEBATE_ARTIFACTS).list_for_cycle("loop", 1)[0] \
        .transcript == [{"said": "héllo"}]
    on_postgres.close()


@pytest.mark.postgres
def test_after_a_copy_to_postgresql_new_rows_get_fresh_ids(
        legacy_url: str, pg_url: str) -> None:
    registry, source, target = open_pair(legacy_url, pg_url)
    copy_backend(registry.hook, source, target)
    new_id = target.store(StoreKind.AUDIT).log(AuditEntry(action="after-copy"))
    assert new_id == 3  # the copied ids were 0, 1, 2
    again = copy_backend(registry.hook, source, target, overwrite=True)
    assert [t.table for t in again.tables if not t.ok] == ["audit_log"]
    target.close()


#: Values a naive COPY encoding gets wrong: its separators, quotes, escapes and NULL marks
#: inside text, the end-of-data mark on a line of its own, bytes with every troublesome
#: byte, and values large enough to span many COPY buffers.
TEXTS = ["", "tab\there", "line\nbreak", "cr\r\nlf", "back\\slash", "\\N", "\\.",
         "multi\n\\.\nline", '"quoted", comma', 'a "" b', "NULL", "ü☃𝄞",
         '{"a": [1, "\\t", "\\n", "\\\\"], "b": null}', "x" * 1_000_003]
BYTES = [b"", b"\x00\x01\\\n\t\",\r\xff", bytes(range(256)) * 2000, None]
NUMBERS = [(0, 1 / 3), (-1, -0.0), (2**31 - 1, 1e308), (-(2**31), 5e-324), (7, float("inf"))]


def tricky_rows() -> list[tuple[Any, ...]]:
    """Rows of ``continuum_memory`` holding :data:`TEXTS`, :data:`BYTES`, :data:`NUMBERS`."""
    rows = []
    for i, text in enumerate(TEXTS):
        integer, real = NUMBERS[i % len(NUMBERS)]
        rows.append((f"m{i}", "tier\t1", text, real, integer, BYTES[i % len(BYTES)],
                     None if i % 2 else text))
    return rows


TRICKY_COLUMNS = ("id, tier, content, importance, update_count, semantic_centroid,"
                  " metadata")


def memories(backend: Backend) -> list[tuple[Any, ...]]:
    """``continuum_memory``'s tricky columns by id, bytes as bytes."""
    assert isinstance(backend, SQLBackend)
    rows = backend.database_for(DatabaseType.CONTINUUM_MEMORY).fetch_all(
        f"SELECT {TRICKY_COLUMNS} FROM continuum_memory ORDER BY id")
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


@pytest.mark.postgres
def test_copy_to_postgresql_carries_every_value_a_naive_copy_encoding_breaks(
        tmp_path: Path, pg_url: str) -> None:
    source_url = f"sqlite:///{tmp_path / 'tricky.db'}"
    registry, source, target = open_pair(source_url, pg_url)
    registry.hook.storage_migrate(backend=source,
                                  request=MigrationRequest(MigrationAction.MIGRATE))
    assert isinstance(source, SQLBackend)
    with source.database_for(DatabaseType.CONTINUUM_MEMORY).transaction() as tx:
        tx.execute_many(f"INSERT INTO continuum_memory ({TRICKY_COLUMNS})"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)", tricky_rows())
    expected = memories(source)
    assert len(expected) == len(TEXTS)
    assert copy_backend(registry.hook, source, target, batch_size=3).ok  # COPY: empty table
    assert memories(target) == expected
    assert isinstance(target, SQLBackend)
    with target.database_for(DatabaseType.CONTINUUM_MEMORY).transaction() as tx:
        tx.execute("UPDATE continuum_memory SET content = 'changed', metadata = NULL")
    # Into a table holding rows: COPY into the staging table, then the upsert from it.
    assert copy_backend(registry.hook, source, target, batch_size=3, overwrite=True).ok
    assert memories(target) == expected
    registry.close()


@pytest.mark.postgres
def test_a_copy_to_postgresql_killed_half_way_resumes_to_the_same_rows(
        legacy_url: str, pg_url: str) -> None:
    """Rows copied before the kill and changed in the source since are written again."""
    kill_half_way(legacy_url, pg_url)
    registry, source, target = open_pair(legacy_url, pg_url)
    assert isinstance(source, SQLBackend) and isinstance(target, SQLBackend)
    copied = target.database_for(DatabaseType.NOMIC).fetch_one(
        "SELECT min(id), count(*) FROM stream_events")
    assert copied is not None and 0 < copied[1] < 2503
    with source.database_for(DatabaseType.NOMIC).transaction() as tx:
        tx.execute("UPDATE stream_events SET event_type = 'changed since' WHERE id = ?",
                   (copied[0],))
    report = copy_backend(registry.hook, source, target, batch_size=100, resume=True)
    assert report.ok
    assert table_rows(target) == table_rows(source)
    assert target.database_for(DatabaseType.NOMIC).fetch_one(
        "SELECT event_type FROM stream_events WHERE id = %s", (copied[0],)) == \
        ("changed since",)
    assert interrupted_copy_source(target) is None
    registry.close()


@pytest.mark.postgres
def test_a_source_table_holding_a_key_twice_is_refused_not_merged(
        tmp_path: Path, pg_url: str) -> None:
    """Legacy files have no primary keys; COPY into the keyed target refuses a repeat."""
    source_dir = tmp_path / "legacy"
    make_legacy(source_dir, rows_per_table=3)
    import sqlite3
    with sqlite3.connect(source_dir / "continuum.db") as conn:
        conn.execute("INSERT INTO memories SELECT * FROM memories LIMIT 1")
    registry, source, target = open_pair(f"sqlite:///{source_dir}", pg_url)
    with pytest.raises(CopyError, match="copying memories failed: UniqueViolation: duplicate key"):
        copy_backend(registry.hook, source, target)
    assert isinstance(target, SQLBackend)
    assert target.database_for(DatabaseType.CONTINUUM_MEMORY).fetch_one(
        "SELECT count(*) FROM continuum_memory") == (0,)
    registry.close()


def test_copy_to_a_backend_that_is_not_sql_is_one_clear_line(
        legacy_url: str, cli: Any) -> None:
    pytest.importorskip("aragora_storage_redis")
    result = cli("copy", "--from", legacy_url, "--to", "redis://127.0.0.1:6379/15")
    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [
        "error: the target backend redis is not a SQL backend",
        "hint: copy works between SQL backends (sqlite, postgresql, ...)"]


# --- a target that already holds rows (issue 10 item 1) ---------------------------------

def change_a_user_name(backend: Backend) -> None:
    """Edit one row in ``backend`` the way an application would, after a copy."""
    assert isinstance(backend, SQLBackend)
    with backend.database_for(DatabaseType.USERS).transaction() as tx:
        tx.execute(backend.database_for(DatabaseType.USERS).dialect.sql(
            "UPDATE users SET name = ? WHERE id = (SELECT min(id) FROM users)"),
            ("changed in the target",))


def user_name(backend: Backend) -> str:
    assert isinstance(backend, SQLBackend)
    row = backend.database_for(DatabaseType.USERS).fetch_one(
        "SELECT name FROM users WHERE id = (SELECT min(id) FROM users)")
    assert row is not None
    return str(row[0])


def refused_copy_onto_filled_target(source_url: str, target_url: str, cli: Any) -> None:
    """Copy once, edit the target, copy again without a flag: refused, the edit kept."""
    first = cli("copy", "--from", source_url, "--to", target_url)
    assert first.code == 0, first.err
    registry, _, target = open_pair(source_url, target_url)
    change_a_user_name(target)
    held = sum(len(rows) for rows in table_rows(target).values())
    tables = sum(1 for rows in table_rows(target).values() if rows)
    registry.close()
    again = cli("copy", "--from", source_url, "--to", target_url)
    assert again.code == 1
    assert again.out == ""
    assert again.err.splitlines() == [
        f"error: the target {parse_url(target_url)} already holds"
        f" {held} rows in {tables} tables",
        "hint: pass --overwrite to write the source's rows over the target's (rows with the"
        " same key are replaced, other rows kept), or copy into an empty database"]
    registry, _, target = open_pair(source_url, target_url)
    assert user_name(target) == "changed in the target"
    registry.close()


def test_copy_into_a_sqlite_target_that_holds_rows_is_refused_with_the_count(
        legacy_url: str, tmp_path: Path, cli: Any) -> None:
    refused_copy_onto_filled_target(legacy_url, f"sqlite:///{tmp_path / 'filled.db'}", cli)


@pytest.mark.postgres
def test_copy_into_a_postgresql_target_that_holds_rows_is_refused_with_the_count(
        legacy_url: str, pg_url: str, cli: Any) -> None:
    refused_copy_onto_filled_target(legacy_url, pg_url, cli)


def test_overwrite_writes_the_source_rows_over_the_target(
        legacy_url: str, tmp_path: Path, cli: Any) -> None:
    target_url = f"sqlite:///{tmp_path / 'over.db'}"
    assert cli("copy", "--from", legacy_url, "--to", target_url).code == 0
    registry, source, target = open_pair(legacy_url, target_url)
    change_a_user_name(target)
    registry.close()
    result = cli("copy", "--from", legacy_url, "--to", target_url, "--overwrite")
    assert result.code == 0, result.err
    registry, source, target = open_pair(legacy_url, target_url)
    assert table_rows(target) == table_rows(source)
    registry.close()


def test_resume_of_a_target_no_copy_was_interrupted_on_is_refused(
        legacy_url: str, tmp_path: Path, cli: Any) -> None:
    target_url = f"sqlite:///{tmp_path / 'done.db'}"
    assert cli("copy", "--from", legacy_url, "--to", target_url).code == 0
    result = cli("copy", "--from", legacy_url, "--to", target_url, "--resume")
    assert result.code == 1
    assert result.err.splitlines()[0].endswith(
        "holds rows but no interrupted copy to resume")


def test_resume_from_another_source_is_refused_naming_the_first(
        legacy_url: str, tmp_path: Path, cli: Any) -> None:
    target_url = f"sqlite:///{tmp_path / 'partial'}?mode=consolidated"
    kill_half_way(legacy_url, target_url)
    other = tmp_path / "other"
    make_legacy(other, rows_per_table=1)
    plain = cli("copy", "--from", legacy_url, "--to", target_url)
    assert plain.code == 1
    assert "--resume" in plain.err.splitlines()[1]
    result = cli("copy", "--from", f"sqlite:///{other}", "--to", target_url, "--resume")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"error: the target holds an interrupted copy from {legacy_url}, not from"
        f" sqlite:///{other}")
    finished = cli("copy", "--from", legacy_url, "--to", target_url, "--resume")
    assert finished.code == 0, finished.err
    registry, source, target = open_pair(legacy_url, target_url)
    assert table_rows(target) == table_rows(source)
    assert isinstance(target, SQLBackend)
    assert not any(
        database.fetch_all(database.dialect.tables_sql + " AND name LIKE 'aragora_copy%'")
        for _, database, _ in target.databases() if database.exists())
    registry.close()
