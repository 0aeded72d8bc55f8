"""The PostgreSQL backend through PgBouncer in transaction pooling mode.

One pgbouncer (``tests/postgres/bouncer.py``) in front of the machine's server serves the
module, with two server connections per database: consecutive transactions of one
client connection run on whichever server connection is free, so anything that relied
on session state between transactions would fail or leak here. The whole conformance
kit runs through it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.types import RestoreRequest
from aragora_storage_core.errors import BackupError
from aragora_storage_core.layout import DATABASES
from aragora_storage_core.migrations.files import discover
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import AuditEntry, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.suite import *  # noqa: F403
from tests.conftest import service_unavailable
from tests.postgres.bouncer import Bouncer
from tests.postgres.conftest import AUTO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def bouncer() -> Iterator[Bouncer]:
    """A transaction-mode pgbouncer in front of 127.0.0.1:5432, for the module."""
    if not Bouncer.installed():
        service_unavailable("pgbouncer (.ci/setup.d/30-pgbouncer.sh installs it)")
    started = Bouncer("127.0.0.1", 5432)
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture
def conformance_backend(bouncer: Bouncer, pg_database: str) -> Iterator[Backend]:
    """An empty PostgreSQL backend on its own database, reached through pgbouncer."""
    backend = Registry(env=AUTO).connect(bouncer.url(pg_database))
    yield backend
    backend.close()


def pooled(bouncer: Bouncer, database: str) -> tuple[Registry, PostgresBackend]:
    """A registry and its backend on ``database`` through pgbouncer."""
    registry = Registry(env=AUTO)
    backend = registry.connect(bouncer.url(database))
    assert isinstance(backend, PostgresBackend)
    return registry, backend


def test_doctor_reports_the_transaction_pooler_and_what_it_changes(
        bouncer: Bouncer, pg_database: str, pg_url: str) -> None:
    registry, backend = pooled(bouncer, pg_database)
    findings = {c.id: c for c in registry.host.collect_health(backend)}
    pooler = findings["storage.I150"]
    assert pooler.data["transaction_pooler"] is True
    assert "backups are COPY dumps" in pooler.message
    backend.close()
    direct = registry.connect(pg_url)
    assert "storage.I150" not in {c.id for c in registry.host.collect_health(direct)}
    direct.close()


def test_two_migrators_through_the_pooler_apply_each_version_once_and_leave_no_lock(
        bouncer: Bouncer, pg_database: str, pg_admin: Any) -> None:
    backends = [pooled(bouncer, pg_database) for _ in range(3)]
    start = threading.Barrier(len(backends))
    reports: list[Any] = []
    errors: list[BaseException] = []

    def run(registry: Registry, backend: PostgresBackend) -> None:
        start.wait()
        try:
            reports.append(registry.hook.storage_migrate(
                backend=backend, request=MigrationRequest(MigrationAction.MIGRATE)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _, backend in backends:
        backend.close()
    assert errors == []
    ran = [(s.db, name) for report in reports for s in report.databases for name in s.ran]
    assert len(ran) == len(set(ran)) == sum(len(discover(info.type.value)) for info in DATABASES)
    with pg_admin.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid ="
                       " l.database WHERE d.datname = %s AND l.locktype = 'advisory'",
                       (pg_database,))
        assert cursor.fetchone()[0] == 0


def test_backup_through_the_pooler_is_a_copy_dump_and_a_pg_dump_restore_is_refused(
        bouncer: Bouncer, make_pg_url: Any, tmp_path: Path) -> None:
    direct_url = make_pg_url()
    database = direct_url.rsplit("/", 1)[1]
    registry, backend = pooled(bouncer, database)
    backend.store("users")
    _, manifest = create_backup(registry.hook, backend, tmp_path / "pooled")
    assert manifest.extra["method"] == "copy"
    direct = registry.connect(direct_url)
    dumped, made = create_backup(registry.hook, direct, tmp_path / "direct")
    assert made.extra["method"] == "pg_dump"
    empty = make_pg_url().rsplit("/", 1)[1]
    _, target = pooled(bouncer, empty)
    with pytest.raises(BackupError) as info:
        registry.hook.storage_restore(backend=target, request=RestoreRequest(dumped))
    assert "transaction-mode pooler" in info.value.message
    for opened in (backend, direct, target):
        opened.close()


#: Statements that leave state on a server connection after their transaction. PgBouncer
#: itself sends ``SET`` for the parameters it tracks per client (application_name,
#: client_encoding, DateStyle, TimeZone, standard_conforming_strings): those are its own.
SESSION_STATE = re.compile(
    r"^\s*(SET\b(?!\s+(LOCAL|TRANSACTION|application_name|client_encoding|datestyle"
    r"|timezone|standard_conforming_strings)\b)|RESET\b|PREPARE\b|LISTEN\b|DEALLOCATE\b"
    r"|DECLARE\b.*\bWITH\s+HOLD\b|CREATE\s+TEMP)|pg_advisory_lock\(|set_config\(",
    re.IGNORECASE)


def test_no_statement_leaves_session_state_on_a_server_connection(tmp_path: Path) -> None:
    """Every statement the server receives through pgbouncer, logged: none that outlives
    its transaction (session SET, PREPARE, LISTEN, session advisory lock, temp table)."""
    from tests.postgres.cluster import BIN, ScratchCluster

    if not (BIN / "initdb").exists():
        service_unavailable("PostgreSQL 15 server binaries (initdb)")
    server = ScratchCluster()
    bouncer = Bouncer(str(server.root), server.port)  # over the socket: trusted
    try:
        server.create()
        server.admin("ALTER SYSTEM SET log_statement = 'all'")
        server.admin("SELECT pg_reload_conf()")
        bouncer.start()
        registry = Registry(env={})
        backend = registry.connect(bouncer.url("aragora"))
        registry.hook.storage_migrate(backend=backend,
                                      request=MigrationRequest(MigrationAction.MIGRATE))
        users, audit = backend.store("users"), backend.store("audit")
        users.create(User(id="u1", email="u1@x", password_hash="h", password_salt="s"))
        users.update("u1", name="Ada")
        assert users.get_by_id("u1") is not None and users.count() == 1
        audit.log(AuditEntry(action="login", user_id="u1"))
        backend.store("token_blacklist").revoke("jti-1", datetime.now(UTC) + timedelta(hours=1))
        assert backend.store("token_blacklist").is_revoked("jti-1")
        create_backup(registry.hook, backend, tmp_path / "backups")
        backend.close()
    finally:
        bouncer.stop()
        log = (server.root / "log").read_text(encoding="utf-8", errors="replace")
        server.remove()
    statements = [line.split("statement: ", 1)[1] for line in log.splitlines()
                  if "statement: " in line]
    assert "COMMIT" in statements and any("INSERT INTO users" in s for s in statements)
    leaking = [part for s in statements for part in s.split(";") if SESSION_STATE.search(part)]
    assert leaking == []
