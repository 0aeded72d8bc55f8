"""Backup and restore through the hooks: pg_dump when it fits the server, else COPY."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.manifest import sha256_of
from aragora_storage_core.backup.restore import restore_backup
from aragora_storage_core.errors import BackupError
from aragora_storage_core.layout import TABLES
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import AgentMetric, AuditEntry, Organization, UsageEvent, User
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO

pytestmark = pytest.mark.postgres


def registry() -> Registry:
    made = Registry(env=AUTO)
    made.host.load_backend("postgresql")
    return made


def populate(backend: PostgresBackend) -> None:
    """Rows in many tables, NULLs, quotes, newlines, floats, bytes and identity ids."""
    registry().hook.storage_migrate(backend=backend,
                                    request=MigrationRequest(MigrationAction.MIGRATE))
    users = backend.store("users")
    users.create_many(User(id=f"u{n}", email=f"u{n}@x", password_hash="h", password_salt="s",
                           name='O\'Brien, "Bob"\nline two' if n == 0 else "")
                      for n in range(20))
    backend.store("organizations").create(Organization(id="o1", name="Org", slug="org",
                                                       owner_id="u1", settings={"a": [1]}))
    backend.store("audit").log_many(AuditEntry(f"act{n}", user_id="u1") for n in range(30))
    backend.store("usage").record(UsageEvent("o1", "debate", 3))
    backend.store("token_blacklist").revoke("jti", datetime.now(UTC) + timedelta(hours=1))
    backend.store("agent_metrics").record(AgentMetric("loop", 1, "claude", "score", 0.1 + 0.2))
    with backend.database.transaction() as tx:
        tx.execute("INSERT INTO embeddings (id, text_hash, text, embedding, provider,"
                   " created_at) VALUES ('e', 't', 's', %s, 'p', 'now')", (b"\x00\xff\\\n",))
        tx.execute("INSERT INTO critique_debates (id, task) VALUES ('d', 'memory.db debates')")


def snapshot(backend: PostgresBackend) -> dict[str, list[Any]]:
    """Every row of every project table, in a stable order."""
    rows = {}
    for table in ("schema_version", *TABLES):
        fetched = backend.database.fetch_all(f"SELECT * FROM {table}")
        rows[table] = sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                              for r in fetched), key=repr)
    return rows


@pytest.mark.parametrize("method", ["pg_dump", "copy"])
def test_restore_into_an_empty_database_gives_identical_rows(
        method: str, make_pg_url: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if method == "copy":
        monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump on PATH: the COPY fallback
    source = Registry(env=AUTO).connect(make_pg_url())
    target = Registry(env=AUTO).connect(make_pg_url())
    assert isinstance(source, PostgresBackend) and isinstance(target, PostgresBackend)
    populate(source)
    directory, manifest = create_backup(registry().hook, source, tmp_path / "backups")
    assert manifest.extra["method"] == method
    assert manifest.schema_versions["users"] == 3
    for entry in manifest.files:
        path = directory / entry.name
        assert (entry.size, entry.sha256) == (path.stat().st_size, sha256_of(path))
        assert os.stat(path).st_mode & 0o077 == 0
    restored = restore_backup(registry().hook, target, directory)
    assert restored.manifest.extra["method"] == method
    assert snapshot(target) == snapshot(source)
    new_id = target.store("audit").log(AuditEntry("after restore"))
    assert new_id > 30
    source.close()
    target.close()


def test_restore_refuses_a_database_that_is_not_empty(
        pg_backend: PostgresBackend, make_pg_url: Any, tmp_path: Path) -> None:
    populate(pg_backend)
    directory, _ = create_backup(registry().hook, pg_backend, tmp_path / "backups")
    before = snapshot(pg_backend)
    with pytest.raises(BackupError) as info:
        restore_backup(registry().hook, pg_backend, directory)
    assert "restore needs an empty database" in info.value.message
    assert snapshot(pg_backend) == before


def test_copy_backup_losing_its_connection_is_one_line_and_leaves_no_backup(
        pg_backend: PostgresBackend, pg_database: str, pg_admin: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg2

    from aragora_storage_core.cli import main

    populate(pg_backend)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump: the COPY backup
    url = pg_backend.url.render(hide_password=False)
    codes: list[int] = []
    locker = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=pg_database)
    with locker.cursor() as cursor:  # the backup's COPY of users waits behind this lock
        cursor.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        thread = threading.Thread(target=lambda: codes.append(
            main(["--url", url, "backup", "create", "--dir", str(tmp_path / "backups")])))
        thread.start()
        with pg_admin.cursor() as admin:  # then its session ends, as in a server restart
            for _ in range(300):
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                              " WHERE datname = %s AND wait_event_type = 'Lock'",
                              (pg_database,))
                if admin.fetchall():
                    break
                threading.Event().wait(0.1)
        thread.join()
    locker.close()
    lines = capsys.readouterr().err.splitlines()
    assert codes == [1]
    assert lines == [f"error: the connection to PostgreSQL at 127.0.0.1:5432/{pg_database}"
                     " was lost during the backup",
                     "hint: run the backup again once the server is back"]
    assert list((tmp_path / "backups").iterdir()) == []


def test_copy_backup_needs_only_one_pooled_connection(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "1", "ARAGORA_DB_POOL_MAX_OVERFLOW": "0",
           "ARAGORA_DB_POOL_TIMEOUT": "1"}
    backend = Registry(env=env).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    populate(backend)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump: the COPY backup
    directory, manifest = create_backup(registry().hook, backend, tmp_path / "backups")
    assert manifest.extra["method"] == "copy"
    assert "users.csv" in {entry.name for entry in manifest.files}
    assert (directory / "users.csv").stat().st_size > 0
    backend.close()


def test_copy_restore_refuses_a_table_file_whose_header_is_not_column_names(
        pg_backend: PostgresBackend, make_pg_url: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from aragora_storage_core.backup.manifest import (
        describe_file,
        read_manifest,
        write_manifest,
    )

    populate(pg_backend)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump: the COPY backup
    directory, _ = create_backup(registry().hook, pg_backend, tmp_path / "backups")
    users = directory / "users.csv"
    lines = users.read_bytes().split(b"\n", 1)
    users.write_bytes(b"id) FROM STDIN; DROP TABLE debates; COPY users (id\n" + lines[1])
    manifest = read_manifest(directory)  # re-hashed, as whoever edited the file would
    write_manifest(directory, replace(manifest, files=[
        describe_file(directory, f.name) for f in manifest.files]))
    target = Registry(env=AUTO).connect(make_pg_url())
    assert isinstance(target, PostgresBackend)
    with pytest.raises(BackupError) as info:
        restore_backup(registry().hook, target, directory)
    assert info.value.message == f"{directory} holds a damaged table file: users.csv"
    assert target.database.fetch_all(target.database.dialect.tables_sql) == []
    target.close()


def _tool_on_path(directory: Path, name: str, body: str) -> None:
    """An executable script ``name`` in ``directory`` (put first on PATH by the test)."""
    directory.mkdir(exist_ok=True)
    script = directory / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def test_backup_runs_pg_dump_once_and_never_asks_its_version(
        pg_backend: PostgresBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``pg_dump --version`` cost a process per backup; the real pg_dump, logged by a wrapper."""
    import shutil

    real = shutil.which("pg_dump")
    assert real is not None
    calls = tmp_path / "calls"
    _tool_on_path(tmp_path / "bin", "pg_dump", f'echo "$*" >> {calls}\nexec {real} "$@"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    populate(pg_backend)
    for round_ in ("one", "two"):
        _, manifest = create_backup(registry().hook, pg_backend, tmp_path / round_)
        assert manifest.extra["method"] == "pg_dump"
    runs = calls.read_text().splitlines()
    assert len(runs) == 2 and all(" -Fc " in run for run in runs)  # no "pg_dump --version"


def test_pg_dump_older_than_the_server_falls_back_to_copy(
        pg_backend: PostgresBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection (no older pg_dump is installed): the refusal pg_dump prints."""
    _tool_on_path(tmp_path / "bin", "pg_dump",
                  'echo "pg_dump: error: aborting because of server version mismatch" >&2\n'
                  'echo "partial" > "$6"\nexit 1')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    populate(pg_backend)
    directory, manifest = create_backup(registry().hook, pg_backend, tmp_path / "backups")
    assert manifest.extra["method"] == "copy"
    assert "database.dump" not in {p.name for p in directory.iterdir()}
    assert "users.csv" in {entry.name for entry in manifest.files}
