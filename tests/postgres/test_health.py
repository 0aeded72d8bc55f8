"""Health findings and the URL spellings that select this backend."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.health import health as storage_health

from aragora_storage_core.checks import Level
from aragora_storage_core.cli import main
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO

pytestmark = pytest.mark.postgres


def by_id(backend: PostgresBackend) -> dict[str, Any]:
    return {check.id: check for check in storage_health(backend)}


def test_health_reports_version_latency_pool_and_tls(pg_backend: PostgresBackend) -> None:
    checks = by_id(pg_backend)
    assert checks["storage.I100"].message.startswith("PostgreSQL 15.")
    assert checks["storage.I100"].data["latency_ms"] > 0
    assert checks["storage.I101"].data["size"] == 10
    assert checks["storage.I103"].data == {"ssl_in_use": False}
    assert "storage.W104" not in checks  # a local server needs no TLS warning


def test_doctor_reports_pending_migrations_once(pg_backend: PostgresBackend,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from aragora_storage_core.doctor import diagnose

    url = pg_backend.url.render(hide_password=False)
    pending = [f for f in diagnose(env={}, url=url).findings if "pending" in f.message]
    assert [f.id for f in pending] == ["storage.W050"]
    from aragora_storage_core.layout import DatabaseType
    from aragora_storage_core.migrations.files import discover

    every_file = sum(len(discover(db.value)) for db in DatabaseType)  # none applied yet
    assert pending[0].message.startswith(f"{every_file} migration(s) pending")
    Registry(env={}).hook.storage_migrate(backend=pg_backend,
                                          request=MigrationRequest(MigrationAction.MIGRATE))
    assert [f for f in diagnose(env={}, url=url).findings if "pending" in f.message] == []


@pytest.mark.slow
def test_health_of_a_stopped_server_is_one_error_finding(scratch_cluster: Any) -> None:
    backend = Registry(env=AUTO).connect(scratch_cluster.url())
    assert isinstance(backend, PostgresBackend)
    backend.database.pool.close()
    scratch_cluster.stop()
    try:
        (check,) = storage_health(backend)
    finally:
        scratch_cluster.start()
    assert (check.id, check.level) == ("storage.E100", Level.ERROR)
    assert check.message.startswith("cannot reach PostgreSQL at 127.0.0.1:")
    backend.close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
def test_every_spelling_of_the_scheme_opens_this_backend(pg_database: str, scheme: str) -> None:
    backend = Registry(env=AUTO).connect(f"{scheme}://postgres@127.0.0.1:5432/{pg_database}")
    assert isinstance(backend, PostgresBackend)
    assert backend.database.fetch_one("SELECT current_database()") == (pg_database,)
    backend.close()


def test_doctor_with_a_postgres_database_url_shows_the_findings(
        pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ARAGORA_DATABASE_URL", pg_url)
    main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    ids = {finding["id"] for finding in report["findings"]}
    assert {"storage.I100", "storage.I101", "storage.I103"} <= ids
