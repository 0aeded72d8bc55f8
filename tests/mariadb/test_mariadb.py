"""What the MariaDB example must show beyond the kit: both schemes, exact text, backup
restored into an empty database, health, copy from SQLite, bad URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.restore import restore_backup
from aragora_storage_core.cli import main
from aragora_storage_core.errors import BackendUnavailableError, BackupError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores import UserStore
from aragora_storage_core.stores.protocols import StoreKind
from tests.mariadb.conftest import AUTO

pytestmark = pytest.mark.mariadb


def rows(backend: Any, table: str) -> list[tuple[Any, ...]]:
    return sorted(backend.database.fetch_all(f"SELECT * FROM `{table}`"), key=repr)


def test_mysql_scheme_opens_the_same_backend(maria_url: str) -> None:
    registry = Registry(env=AUTO)
    backend = registry.connect(maria_url.replace("mariadb://", "mysql://", 1))
    assert backend.name == "mariadb"
    assert isinstance(backend.store(StoreKind.USERS), UserStore)
    registry.close()


def test_backup_restored_into_an_empty_database_has_identical_rows(
        make_maria_url: Any, tmp_path: Path) -> None:
    registry = Registry(env=AUTO)
    source = registry.connect(make_maria_url())
    users = source.store(StoreKind.USERS)
    users.create(User("u1", "Ada@x", "h", "s", name="Ada ünïcode"))
    users.create(User("u2", "ada@x", "h", "s", preferences={"big": "x" * 2_000_000}))
    source.store(StoreKind.AUDIT).log_many([])
    directory, manifest = create_backup(registry.hook, source, tmp_path / "backups")
    assert [f.name for f in manifest.files] == ["data.db"]
    assert manifest.schema_versions["users"] >= 1
    target = registry.connect(make_maria_url())
    restore_backup(registry.hook, target, directory)
    for table in ("users", "organizations", "audit_log"):
        assert rows(target, table) == rows(source, table), table
    versions = {r[0]: r[1] for r in rows(target, "schema_version")}
    assert {db: versions[db] for db in manifest.schema_versions} == manifest.schema_versions
    assert target.store(StoreKind.USERS).get_by_email("Ada@x").name == "Ada ünïcode"
    with pytest.raises(BackupError, match="nothing was restored"):
        restore_backup(registry.hook, target, directory)  # no longer empty
    registry.close()


def test_health_reports_version_and_latency(conformance_backend: Any) -> None:
    checks = {c.id: c for c in conformance_backend.health()}
    assert checks["storage.I120"].message.startswith("MariaDB 10.")
    assert checks["storage.I030"].data["latency_ms"] > 0


def test_copy_from_sqlite_into_mariadb(maria_url: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    registry = Registry(env=AUTO)
    sqlite = registry.connect(f"sqlite:///{tmp_path}/app.db")
    sqlite.store(StoreKind.USERS).create(User("u1", "grace@x", "h", "s"))
    sqlite.close()
    assert main(["copy", "--from", f"sqlite:///{tmp_path}/app.db", "--to", maria_url]) == 0
    target = registry.connect(maria_url)
    assert target.store(StoreKind.USERS).get_by_email("grace@x").id == "u1"
    registry.close()


def test_unreachable_server_is_one_error_without_the_password(maria_url: str) -> None:
    url = maria_url.replace("root@127.0.0.1:3306", "root:s3cret@127.0.0.1:1")
    with pytest.raises(BackendUnavailableError) as raised:
        Registry(env=AUTO).connect(url)
    assert "cannot reach MariaDB at 127.0.0.1:1/" in raised.value.message
    assert "s3cret" not in str(raised.value)
