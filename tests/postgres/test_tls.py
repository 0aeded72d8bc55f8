"""TLS: ``sslmode``/``sslrootcert`` from the URL reach libpq, verified against a real server."""

from __future__ import annotations

from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.health import health as storage_health

from aragora_storage_core.checks import Level
from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.registry import Registry
from aragora_storage_core.url import parse_url
from tests.postgres.cluster import PASSWORD
from tests.postgres.conftest import AUTO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_verify_full_connects_over_tls_and_health_reports_it(scratch_cluster: Any) -> None:
    url = scratch_cluster.url(sslmode="verify-full", sslrootcert=str(scratch_cluster.ca_file))
    registry = Registry(env=AUTO)
    backend = registry.connect(url)
    assert isinstance(backend, PostgresBackend)
    assert backend.database.server_facts()["ssl_in_use"] is True
    lines = [c.message for c in storage_health(backend)]
    assert f"TLS in use to 127.0.0.1:{scratch_cluster.port}/aragora" in lines
    backend.close()


def test_certificate_from_another_ca_fails_with_a_clear_error(scratch_cluster: Any) -> None:
    url = scratch_cluster.url(sslmode="verify-full",
                              sslrootcert=str(scratch_cluster.wrong_ca_file))
    with pytest.raises(BackendUnavailableError) as info:
        Registry(env=AUTO).connect(url)
    assert info.value.message == (
        f"TLS connection to PostgreSQL at 127.0.0.1:{scratch_cluster.port}/aragora failed: "
        "the server's certificate is not signed by the CA in sslrootcert")
    assert PASSWORD not in str(info.value) and info.value.__cause__ is None


def test_sslmode_disable_connects_in_plain_text(scratch_cluster: Any) -> None:
    backend = Registry(env=AUTO).connect(scratch_cluster.url(sslmode="disable"))
    assert backend.database.server_facts()["ssl_in_use"] is False
    backend.close()


def test_remote_host_without_required_tls_is_a_warning(pg_backend: PostgresBackend) -> None:
    for mode, warned in (("", True), ("prefer", True), ("require", False),
                         ("verify-full", False)):
        url = parse_url("postgresql://u@db.example.com/app" + (f"?sslmode={mode}" if mode else ""))
        pg_backend.url = url
        warnings = [c for c in storage_health(pg_backend) if c.id == "storage.W104"]
        assert bool(warnings) is warned, mode
        if warned:
            assert warnings[0].level is Level.WARNING
            assert "sslmode=verify-full" in warnings[0].hint
