"""Fixtures for the Redis backend: the shared server under a unique prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from aragora_storage_redis.backend import RedisBackend
from redis_cluster import (
    CLUSTER_PASSWORD,
    PASSWORD,
    SENTINEL_PASSWORD,
    ThrowawayCluster,
    ThrowawaySentinels,
    running,
)
from redis_servers import RedisServerProcess
from redis_support import unlink_prefix

from aragora_storage_core.registry import Registry
from tests.conftest import service_unavailable

SHARED = "redis://127.0.0.1:6379/0"



@pytest.fixture(scope="session")
def shared_client() -> Iterator[redis.Redis]:
    """A raw redis-py client of the shared server, or skip/fail when it is down."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1,
                         socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError:
        service_unavailable("Redis")
    yield client
    client.close()


@pytest.fixture
def prefix(shared_client: redis.Redis) -> Iterator[str]:
    """A prefix no other test uses; its keys are deleted afterwards."""
    value = f"test-{uuid.uuid4().hex[:12]}:"
    yield value
    unlink_prefix(shared_client, value)


@pytest.fixture
def redis_url(prefix: str) -> str:
    """The shared server's URL with this test's prefix."""
    return f"{SHARED}?prefix={prefix}"


@pytest.fixture
def backend(redis_url: str) -> Iterator[RedisBackend]:
    """An open Redis backend on the shared server, under this test's prefix."""
    opened = Registry(env={}).connect(redis_url)
    assert isinstance(opened, RedisBackend)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayCluster]:
    """One throwaway 3-primary, 3-replica Redis Cluster for the whole session."""
    yield from running(ThrowawayCluster(Path(tmp_path_factory.mktemp("redis-cluster")),
                                        CLUSTER_PASSWORD))


@pytest.fixture
def cluster_url(redis_cluster: ThrowawayCluster) -> str:
    """``redis+cluster://`` with two seed nodes and a prefix of this test's own."""
    return redis_cluster.url(f"prefix=test-{uuid.uuid4().hex[:12]}:")


@pytest.fixture(scope="session")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawaySentinels]:
    """One primary, one replica and three sentinels for the whole session."""
    yield from running(ThrowawaySentinels(Path(tmp_path_factory.mktemp("sentinel")), PASSWORD,
                                          SENTINEL_PASSWORD))


@pytest.fixture
def sentinel_url(sentinels: ThrowawaySentinels) -> str:
    """``redis+sentinel://`` of the three sentinels, with a prefix of this test's own."""
    return sentinels.url(f"prefix=test-{uuid.uuid4().hex[:12]}:")


@pytest.fixture
def throwaway(tmp_path: Path) -> Iterator[RedisServerProcess]:
    """A private redis-server that allows DEBUG (to stall it on purpose)."""
    server = RedisServerProcess(tmp_path / "redis", "--enable-debug-command", "yes").start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"redis_routing_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres",
                                 connect_timeout=2)
    except psycopg2.OperationalError:
        service_unavailable("PostgreSQL")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
