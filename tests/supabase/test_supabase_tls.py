"""HTTPS to the project: certificates checked, doctor reports HTTPS in use."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.postgres.cluster import _cert_pem, _certificate, _key_pem, _pem
from tests.supabase.supabase_support import KEY, TestProject

pytestmark = pytest.mark.postgres


@pytest.fixture
def tls_project(supabase_backend: Any, project_database: str,
                tmp_path: Path) -> Iterator[tuple[TestProject, Path]]:
    """The session's project (migrated) behind HTTPS with a certificate from a test CA."""
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), \
        ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("aragora test CA", "aragora test CA", ca_key, ca_key, ca=True)
    server = _certificate("localhost", "aragora test CA", server_key, ca_key, ca=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(_pem(tmp_path / "server.pem", _cert_pem(server)),
                            _pem(tmp_path / "server.key", _key_pem(server_key), 0o600))
    ca_file = _pem(tmp_path / "ca.pem", _cert_pem(ca))
    with TestProject(project_database, tls=context) as project:
        yield project, ca_file


def test_https_project_works_and_doctor_reports_https(
        tls_project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server, ca_file = tls_project
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    assert server.url.startswith("https://")
    registry = Registry(env={"SUPABASE_URL": server.url, "SUPABASE_KEY": KEY})
    backend = registry.active()
    events = backend.store(StoreKind.STREAM_EVENTS)
    event_id = events.append(StreamEvent("tls", 1, "e", {"secure": True}))
    assert [e.id for e in events.read("tls")] == [event_id]
    ids = [c.id for c in registry.host.collect_health(backend)]
    assert "storage.I093" in ids and "storage.W093" not in ids
    registry.close()


def test_untrusted_certificate_is_a_tls_error_without_the_key(
        tls_project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server, _ = tls_project
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(BackendUnavailableError) as error:
        Registry(env={"SUPABASE_URL": server.url, "SUPABASE_KEY": KEY}).active()
    assert error.value.message.startswith("TLS connection")
    assert KEY not in str(error.value)
