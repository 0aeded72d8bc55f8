"""``rediss://`` against a throwaway TLS redis-server with certificates made here."""

from __future__ import annotations

import ipaddress
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aragora_storage_redis.backend import RedisBackend
from aragora_storage_redis.health import transport_checks
from redis_servers import RedisServerProcess
from redis_support import async_round_trip, connect_redis
from tls_certs import make_certificates

from aragora_storage_core.checks import Check
from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.registry import Registry
from tests.conftest import service_unavailable


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[RedisServerProcess, Path]]:
    """A redis-server speaking only TLS on a free port (``--port 0``)."""
    directory = tmp_path_factory.mktemp("tls")
    certs = make_certificates(directory)
    server = RedisServerProcess(
        directory, "--tls-cert-file", str(certs["cert"]), "--tls-key-file", str(certs["key"]),
        "--tls-ca-cert-file", str(certs["ca"]), "--tls-auth-clients", "no", tls=True).start()
    yield server, certs["ca"]
    server.stop()


def test_rediss_with_the_ca_verifies_the_server_and_works(
        tls_server: tuple[RedisServerProcess, Path]) -> None:
    server, ca = tls_server
    backend = Registry(env={}).connect(server.url("rediss", query=f"ssl_ca_certs={ca}"))
    try:
        assert backend.options.verifies_certificates  # type: ignore[attr-defined]
        backend.store("cache").set("k", b"over tls")
        assert backend.store("cache").get("k") == b"over tls"
        assert transport_checks(backend) == []  # type: ignore[arg-type]
    finally:
        backend.close()


def test_rediss_async_stores_use_tls_with_the_same_options(
        tls_server: tuple[RedisServerProcess, Path]) -> None:
    server, ca = tls_server
    backend = connect_redis(server.url("rediss", query=f"ssl_ca_certs={ca}&prefix=async:"))
    try:
        result = async_round_trip(backend)  # the server speaks only TLS
        assert all(result["revoked"]) and result["cache"] == b"async"
        assert result["events"] == [result["appended"]]
        assert backend.store("cache").get("k") == b"async"
    finally:
        backend.close()


def test_rediss_without_the_ca_fails_with_a_clear_error(
        tls_server: tuple[RedisServerProcess, Path]) -> None:
    server, _ = tls_server
    with pytest.raises(BackendUnavailableError) as caught:
        Registry(env={}).connect(server.url("rediss"))
    message = caught.value.message
    assert "TLS connection to redis at 127.0.0.1" in message
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert "ssl_ca_certs" in caught.value.hint


def test_plain_redis_to_a_tls_port_fails_without_hanging(
        tls_server: tuple[RedisServerProcess, Path]) -> None:
    server, _ = tls_server
    with pytest.raises(BackendUnavailableError):
        Registry(env={}).connect(server.url("redis", query="socket_timeout=1&connect_timeout=1"))


def test_skipping_verification_needs_an_explicit_setting_and_health_warns(
        tls_server: tuple[RedisServerProcess, Path]) -> None:
    server, _ = tls_server
    registry = Registry(env={"DATABASE_URL": server.url("rediss", query="ssl_cert_reqs=none")})
    try:
        backend = registry.active()
        backend.store("cache").set("k", b"unverified")
        checks = registry.host.collect_health(backend)
        warning = [c for c in checks if c.id == "storage.W114"]
        assert warning and "verification is off" in warning[0].message
        assert "ssl_ca_certs" in warning[0].hint
    finally:
        registry.close()


def test_switching_the_host_name_check_off_warns_too(
        tls_server: tuple[RedisServerProcess, Path]) -> None:
    server, ca = tls_server
    url = server.url("rediss", query=f"ssl_ca_certs={ca}&ssl_check_hostname=false")
    registry = Registry(env={"DATABASE_URL": url})
    try:
        backend = registry.active()
        backend.store("cache").set("k", b"name unchecked")
        assert not backend.options.verifies_certificates  # type: ignore[attr-defined]
        warning = [c for c in registry.host.collect_health(backend) if c.id == "storage.W114"]
        assert warning and "host name check is off" in warning[0].message
        assert "ssl_check_hostname" in warning[0].hint
    finally:
        registry.close()


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (``hostname -I``; no traffic)."""
    result = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False)
    for word in result.stdout.split():
        address = ipaddress.ip_address(word)
        if address.version == 4 and not address.is_loopback:
            return word
    return None


def test_plain_redis_to_a_remote_host_warns_and_to_localhost_does_not(
        tmp_path: Path) -> None:
    address = _non_loopback_address()
    if address is None:
        service_unavailable("a non-loopback IPv4 address of this machine")
    secret = uuid.uuid4().hex  # the server is reachable from the network for a moment
    server = RedisServerProcess(tmp_path / "plain", "--bind", f"127.0.0.1 {address}",
                                "--requirepass", secret).start()
    try:
        url = server.url(auth=f":{secret}@")
        remote = Registry(env={}).connect(url.replace("127.0.0.1", address))
        local = Registry(env={}).connect(url)
        assert isinstance(remote, RedisBackend) and isinstance(local, RedisBackend)
        [warning] = transport_checks(remote)
        assert isinstance(warning, Check) and warning.id == "storage.W115"
        assert "rediss://" in warning.hint
        assert transport_checks(local) == []
        remote.close()
        local.close()
    finally:
        server.stop()
