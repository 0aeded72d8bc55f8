"""Fixtures of the lifecycle tests: a populated SQLite data directory and the CLI."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core.backend import Backend, SQLBackend
from aragora_storage_core.cli import main
from aragora_storage_core.layout import DATABASES, DatabaseType
from aragora_storage_core.models import AuditEntry, Organization, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind


@dataclass
class CliResult:
    """Exit code and output of one in-process ``aragora-storage`` run."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> object:
    """Run ``aragora-storage ARGS...`` in this process; return code, stdout, stderr."""
    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run


def add_accounts(backend: Backend, users: int = 3, audits: int = 5) -> None:
    """Write an organization, ``users`` users and ``audits`` audit entries via the stores."""
    orgs = backend.store(StoreKind.ORGANIZATIONS)
    if orgs.get_by_id("org-1") is None:
        orgs.create(Organization(id="org-1", name="Org", slug="org"))
    user_store = backend.store(StoreKind.USERS)
    start = user_store.count()
    for n in range(start, start + users):
        user_store.create(User(id=f"u{n}", email=f"u{n}@example.com", password_hash="h",
                               password_salt="s", org_id="org-1"))
    backend.store(StoreKind.AUDIT).log_many(AuditEntry(action=f"login {n}") for n in range(audits))


def user_ids(backend: Backend) -> list[str]:
    """Ids of every user, sorted."""
    assert isinstance(backend, SQLBackend)
    rows = backend.database_for(DatabaseType.USERS).fetch_all("SELECT id FROM users ORDER BY id")
    return [r[0] for r in rows]


def table_rows(backend: Backend) -> dict[str, list[tuple[Any, ...]]]:
    """Every mapped table's rows, sorted, values normalised across drivers."""
    assert isinstance(backend, SQLBackend)
    found = {}
    for info in DATABASES:
        database = backend.database_for(info.type)
        for table in info.table_names:
            rows = database.fetch_all(f"SELECT * FROM {backend.table_name(info, table)}")
            found[f"{info.type.value}.{table}"] = sorted(
                (tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                 for row in rows), key=repr)
    return found


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``ARAGORA_DATA_DIR`` pointing at an empty directory (legacy layout)."""
    path = tmp_path / "data"
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(path))
    return path


@pytest.fixture
def backend(data_dir: Path) -> Iterator[Backend]:
    """The SQLite backend over ``data_dir``, populated with a few accounts."""
    registry = Registry()
    opened = registry.active()
    add_accounts(opened)
    yield opened
    registry.close()


@pytest.fixture
def pg_databases() -> Iterator[Callable[[str], str]]:
    """Make uniquely named PostgreSQL databases (URL with ``password``); drop them after."""
    pytest.importorskip("aragora_storage_postgres")
    from tests.postgres.conftest import HOST, PORT, USER, admin_connection, drop_database

    admin = admin_connection()
    made: list[str] = []

    def make(password: str = "") -> str:
        name = f"aragora_lifecycle_{secrets.token_hex(6)}"
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        auth = f"{USER}:{password}" if password else USER
        return f"postgresql://{auth}@{HOST}:{PORT}/{name}"

    try:
        yield make
    finally:
        for name in made:
            drop_database(admin, name)
        admin.close()


@pytest.fixture
def pg_url(pg_databases: Callable[[str], str]) -> str:
    """One new, uniquely named PostgreSQL database."""
    return pg_databases("")


HOT_JOURNAL = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = DELETE")
conn.execute("PRAGMA cache_size = 1")  # spill to the file: the journal becomes hot
conn.execute("BEGIN")
conn.execute("UPDATE users SET name = 'never-committed'")
conn.execute("INSERT INTO users (id, email, password_hash, password_salt)"
             " SELECT id || '-copy', email || '-copy', password_hash, password_salt FROM users")
os.kill(os.getpid(), signal.SIGKILL)
"""


def leave_hot_journal(path: Path) -> None:
    """Fault: a rollback-journal writer killed mid-transaction (a hot ``-journal``)."""
    subprocess.run([sys.executable, "-c", HOT_JOURNAL, str(path)], check=False)
    assert path.with_name(path.name + "-journal").stat().st_size > 0
