"""``rediss+sentinel://``: sentinels and data nodes that speak only TLS (replication and
the sentinels' links to the data nodes too), with certificates made here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aragora_storage_redis.health import health
from redis_cluster import ThrowawaySentinels, running
from redis_support import async_round_trip, connect_redis
from tls_certs import make_certificates

from aragora_storage_core.errors import BackendUnavailableError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawaySentinels]:
    """A primary, a replica and three sentinels speaking only TLS, for this module."""
    directory = Path(tmp_path_factory.mktemp("tls-sentinel"))
    yield from running(ThrowawaySentinels(directory, "tls-data-s3cret", "tls-sentinel-s3cret",
                                          make_certificates(directory)))


def test_the_sentinels_and_the_primary_are_reached_over_tls(
        tls_sentinels: ThrowawaySentinels) -> None:
    backend = connect_redis(tls_sentinels.url("prefix=tls:"))
    try:
        backend.store("cache").set("k", b"v")
        assert backend.store("cache").get("k") == b"v"
        found = {check.id: check for check in health(backend)}
        state = found["storage.I146"].data
        assert state is not None and state["sentinels_answering"] == 3
        assert state["primary"] == f"127.0.0.1:{tls_sentinels.primary_port()}"
        assert not {"storage.W114", "storage.E146", "storage.E110"} & set(found)
    finally:
        backend.close()


def test_async_stores_reach_the_primary_through_tls_sentinels(
        tls_sentinels: ThrowawaySentinels) -> None:
    backend = connect_redis(tls_sentinels.url("prefix=tls-async:"))
    try:
        result = async_round_trip(backend, tokens=3)
        assert all(result["revoked"]) and result["cache"] == b"async"
        assert backend.store("cache").get("k") == b"async"
    finally:
        backend.close()


def test_without_the_ca_no_sentinel_is_trusted(tls_sentinels: ThrowawaySentinels) -> None:
    url = tls_sentinels.url("retries=0").replace(f"&ssl_ca_certs={tls_sentinels.ca}", "")
    with pytest.raises(BackendUnavailableError,
                       match="TLS connection to the sentinels of redis sentinel") as info:
        connect_redis(url)
    text = f"{info.value} {info.value.hint}"
    assert "?ssl_ca_certs=" in text and len(info.value.message) < 300
    assert "\n" not in str(info.value) and "tls-data-s3cret" not in text
    assert "tls-sentinel-s3cret" not in text
