"""``rediss+cluster://``: a Redis Cluster whose six nodes speak only TLS (to clients, to
their replicas and on the cluster bus), with certificates made here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aragora_storage_redis.health import health
from redis_cluster import ThrowawayCluster, running
from redis_support import async_round_trip, connect_redis
from tls_certs import make_certificates

from aragora_storage_core.errors import BackendUnavailableError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayCluster]:
    """A 3+3 cluster speaking only TLS, for this module."""
    directory = Path(tmp_path_factory.mktemp("tls-cluster"))
    yield from running(ThrowawayCluster(directory, "tls-s3cret", make_certificates(directory)))


def test_every_node_is_reached_over_tls_with_the_ca(tls_cluster: ThrowawayCluster,
                                                    tmp_path: Path) -> None:
    backend = connect_redis(tls_cluster.url("prefix=tls:"))
    try:
        later = datetime.now(UTC) + timedelta(hours=1)
        tokens = backend.store("token_blacklist")
        tokens.revoke_many([(f"jti-{i}", later) for i in range(60)])
        assert all(tokens.is_revoked(f"jti-{i}") for i in range(60))
        per_primary = tls_cluster.keys_per_primary("tls:token:*")
        assert len(per_primary) == 3 and all(per_primary.values())
        backup_dir = tmp_path / "backup"
        backup_dir.mkdir()
        from aragora_storage_core.backup.types import BackupRequest

        assert backend.backup(BackupRequest(directory=backup_dir)).extra["keys"] == 60 + 2
        found = {check.id: check for check in health(backend)}
        assert found["storage.I145"].data is not None
        assert found["storage.I145"].data["slots_ok"] == 16384
        assert not {"storage.W114", "storage.E145", "storage.E110"} & set(found)
        assert backend.describe()["tls"] is True
    finally:
        backend.close()


def test_async_stores_reach_every_primary_over_tls(tls_cluster: ThrowawayCluster) -> None:
    backend = connect_redis(tls_cluster.url("prefix=tls-async:"))
    try:
        result = async_round_trip(backend)
        assert all(result["revoked"]) and result["cache"] == b"async"
        per_primary = tls_cluster.keys_per_primary("tls-async:token:*")
        assert len(per_primary) == 3 and all(per_primary.values())
    finally:
        backend.close()


def test_without_the_ca_the_certificate_is_refused_in_one_line(
        tls_cluster: ThrowawayCluster) -> None:
    url = tls_cluster.url("retries=0").replace(f"ssl_ca_certs={tls_cluster.ca}&", "")
    with pytest.raises(BackendUnavailableError, match="TLS connection to redis cluster at") as info:
        connect_redis(url)
    assert "ssl_ca_certs" in (info.value.hint or "") and "\n" not in str(info.value)
    assert "tls-s3cret" not in f"{info.value} {info.value.hint}"
