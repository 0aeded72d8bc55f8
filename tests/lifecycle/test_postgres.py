"""Backups, copy and maintenance through the CLI against the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core.backend import SQLBackend
from aragora_storage_core.backup.catalog import list_backups
from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.models import AuditEntry
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.lifecycle.conftest import table_rows
from tests.lifecycle.legacy_data import make_legacy
from tests.postgres.conftest import AUTO

pytestmark = pytest.mark.postgres
PASSWORD = "s3cret-Pw-never-printed"


@pytest.fixture
def filled_pg(pg_databases: Callable[[str], str], tmp_path: Path, cli: Any) -> str:
    """A PostgreSQL database (URL with a password) holding the synthetic legacy rows."""
    make_legacy(tmp_path / "legacy", rows_per_table=3)
    url = pg_databases(PASSWORD)
    result = cli("copy", "--from", f"sqlite:///{tmp_path / 'legacy'}", "--to", url)
    assert result.code == 0, result.err
    assert PASSWORD not in result.out + result.err
    assert "postgresql://postgres:***@" in result.out
    return url


def test_backup_verify_and_restore_of_postgresql_through_the_cli(
        filled_pg: str, pg_databases: Callable[[str], str], tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "pg-backups"
    created = cli("--url", filled_pg, "backup", "create", "--dir", str(root))
    assert created.code == 0, created.err
    (entry,) = list_backups(root)
    assert cli("--url", filled_pg, "backup", "verify", "--dir", str(root)).code == 0
    fresh = pg_databases("")
    restored = cli("--url", fresh, "backup", "restore", str(entry.path), "--yes")
    assert restored.code == 0, restored.err
    registry = Registry(env=AUTO)
    original, backend = registry.connect(filled_pg), registry.connect(fresh)
    try:
        assert table_rows(backend) == table_rows(original)
        assert backend.store(StoreKind.AUDIT).log(AuditEntry(action="after")) == 3
        assert isinstance(backend, SQLBackend)
        count = backend.database_for(DatabaseType.USERS).fetch_one(
            "SELECT count(*) FROM audit_log")
        assert count is not None and count[0] == 4
    finally:
        original.close()
        backend.close()
    for output in (created, restored):
        assert PASSWORD not in output.out + output.err


def test_a_sqlite_backup_is_refused_by_postgresql(
        filled_pg: str, tmp_path: Path, data_dir: Path, cli: Any) -> None:
    make_legacy(data_dir, rows_per_table=1)
    assert cli("backup", "create").code == 0
    (entry,) = list_backups(data_dir / "backups")
    refused = cli("--url", filled_pg, "backup", "restore", str(entry.path), "--yes")
    assert refused.code == 1
    assert refused.err.splitlines()[0] == (
        f"error: backup {entry.name} is of a sqlite backend, not postgresql")


def test_maintenance_runs_on_postgresql(filled_pg: str, cli: Any) -> None:
    registry = Registry(env=AUTO)
    backend = registry.connect(filled_pg)
    try:
        backend.store(StoreKind.AUDIT).log(
            AuditEntry(action="ancient", timestamp="2001-01-01T00:00:00+00:00"))
    finally:
        backend.close()
    result = cli("--url", filled_pg, "maintenance", "--audit-days", "1")
    assert result.code == 0, result.err
    counts = {line.split()[0]: int(line.split()[1]) for line in result.out.splitlines()}
    assert counts["audit"] == 1
    assert PASSWORD not in result.out


def test_bulk_load_copies_values_other_drivers_hand_back_and_upserts_into_held_rows(
        pg_url: str) -> None:
    """Decimal, dates, UUIDs and JSON (a PostgreSQL or MariaDB source) go by COPY too."""
    from datetime import UTC, date, datetime
    from decimal import Decimal
    from uuid import UUID

    backend = Registry(env={}).connect(pg_url)
    assert isinstance(backend, SQLBackend)
    database = backend.database_for(DatabaseType.USERS)
    with database.transaction() as tx:
        tx.execute("CREATE TABLE odd (k TEXT PRIMARY KEY, n NUMERIC, d DATE,"
                   " t TIMESTAMPTZ, u UUID, j JSONB)")
    when = datetime(2026, 12, 6, 13, 30, 1, 250000, tzinfo=UTC)
    uid = UUID("12345678-1234-5678-1234-567812345678")
    rows = [("a", Decimal("12345678901234567890.000000001"), date(2026, 1, 2), when, uid,
             {"x": ["\t", '"', "\\"]}), ("b", None, None, None, None, [1, None])]
    columns, key = ("k", "n", "d", "t", "u", "j"), ("k",)
    assert list(database.bulk_load("odd", columns, key, [rows[:1], rows[1:]], 1)) == [1, 1]
    assert database.fetch_all("SELECT * FROM odd ORDER BY k") == [  # a UUID reads as text
        (*rows[0][:4], str(uid), rows[0][5]), rows[1]]
    changed = [("a", Decimal(1), None, None, None, {}), ("c", None, None, None, None, None)]
    assert list(database.bulk_load("odd", columns, key, [changed], 100)) == [2]
    assert database.fetch_all("SELECT k, n, j FROM odd ORDER BY k") == [
        ("a", Decimal(1), {}), ("b", None, [1, None]), ("c", None, None)]
    backend.close()
