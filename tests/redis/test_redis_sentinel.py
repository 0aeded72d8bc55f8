"""``redis+sentinel://``: the primary that three real sentinels name, and following a
``SENTINEL FAILOVER`` to the replica (a primary, a replica and three sentinels started
here, all requiring passwords)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aragora_storage_redis.backend import RedisBackend
from aragora_storage_redis.health import health
from redis_cluster import (
    PASSWORD,
    SENTINEL_PASSWORD,
    SERVICE,
    ThrowawaySentinels,
    node_client,
    wait_until,
)
from redis_support import connect_redis

from aragora_storage_core.errors import BackendUnavailableError, ConfigurationError
from aragora_storage_core.models import StreamEvent

pytestmark = pytest.mark.slow
LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture
def sentinel_backend(sentinels: ThrowawaySentinels) -> Iterator[RedisBackend]:
    """A backend on the primary the sentinels name, retrying long enough for a failover."""
    backend = connect_redis(
        sentinels.url("prefix=sentinel-test:&retries=10&sentinel_check_interval=0"))
    yield backend
    backend.close()


def shown(backend: RedisBackend) -> str:
    return " ".join([repr(backend), str(backend.describe()), backend.location,
                     *(f"{c.message} {c.hint} {c.data}" for c in health(backend))])


def test_the_stores_run_on_the_primary_the_sentinels_name(
        sentinel_backend: RedisBackend, sentinels: ThrowawaySentinels) -> None:
    sentinel_backend.store("token_blacklist").revoke("jti-1", LATER, user_id="u1")
    sentinel_backend.store("cache").set("k", b"v")
    primary = node_client(sentinels.primary_port(), PASSWORD)
    assert primary.exists("sentinel-test:token:jti-1") == 1
    assert primary.get("sentinel-test:cache:k") == b"v"
    assert sentinel_backend.describe()["service"] == SERVICE
    assert len(sentinel_backend.run_ids) == 2  # the primary's and the replica's
    found = {check.id: check for check in health(sentinel_backend)}
    state = found["storage.I146"].data
    assert state is not None
    assert state["primary"] == f"127.0.0.1:{sentinels.primary_port()}"
    assert (state["replicas"], state["sentinels_answering"], state["sentinels"]) == (1, 3, 3)
    assert not {"storage.W146", "storage.E146", "storage.E110", "storage.W113"} & set(found)
    text = shown(sentinel_backend)
    assert PASSWORD not in text and SENTINEL_PASSWORD not in text


def test_sentinels_refuse_without_their_password_and_name_no_unknown_service(
        sentinels: ThrowawaySentinels) -> None:
    for url in (sentinels.url("connect_timeout=1&retries=0", sentinel_password=False),
                sentinels.url("retries=0").replace(f"/{SERVICE}/", "/no-such-service/")):
        with pytest.raises(BackendUnavailableError,
                           match="no sentinel named a primary for the service") as info:
            connect_redis(url)
        text = f"{info.value} {info.value.hint}"
        assert "?sentinel_password=" in text and "\n" not in str(info.value)
        assert PASSWORD not in text and SENTINEL_PASSWORD not in text


def test_bad_sentinel_urls_fail_before_connecting(sentinels: ThrowawaySentinels) -> None:
    with pytest.raises(ConfigurationError, match="names no service"):
        connect_redis(sentinels.url().replace(f"/{SERVICE}/0", ""))
    with pytest.raises(ConfigurationError, match="needs a sentinel URL"):
        connect_redis(f"redis://127.0.0.1:{sentinels.primary.port}/0?sentinel_password=x")


def test_sentinels_that_stop_answering_are_reported_and_do_not_stop_the_data(
        sentinel_backend: RedisBackend, sentinels: ThrowawaySentinels) -> None:
    cache = sentinel_backend.store("cache")
    cache.set("k", b"v")
    try:
        sentinels.sentinels[2].stop()
        found = {check.id: check for check in health(sentinel_backend)}
        assert "2 of 3 sentinels answer" in found["storage.W146"].message
        for sentinel in sentinels.sentinels[:2]:
            sentinel.stop()
        # every command asks the sentinels (interval 0); none answers, the primary does
        assert cache.get("k") == b"v"
        found = {check.id: check for check in health(sentinel_backend)}
        assert "storage.E146" in found and "storage.I146" not in found
    finally:
        for sentinel in sentinels.sentinels:
            if sentinel.process is None:
                sentinel.start()
        wait_until(sentinels.settled, "the sentinels answering again")


def test_a_sentinel_failover_is_followed(sentinel_backend: RedisBackend,
                                         sentinels: ThrowawaySentinels) -> None:
    cache, events = sentinel_backend.store("cache"), sentinel_backend.store("stream_events")
    cache.set("before", b"1")
    first = events.append(StreamEvent("loop", 1, "before", {}))
    old = sentinels.primary_port()
    node_client(old, PASSWORD).execute_command("WAIT", 1, 2000)
    new = sentinels.failover()
    assert new != old
    assert cache.get("before") == b"1"
    cache.set("after", b"2")
    second = events.append(StreamEvent("loop", 1, "after", {}))
    assert [e.id for e in events.read("loop")] == [first, second]
    assert node_client(new, PASSWORD).get("sentinel-test:cache:after") == b"2"
    found = {check.id: check for check in health(sentinel_backend)}
    state = found["storage.I146"].data
    assert state is not None and state["primary"] == f"127.0.0.1:{new}"
    assert "storage.W113" not in found  # a failover to a known replica is no restart


def test_an_async_client_follows_a_sentinel_failover(sentinel_backend: RedisBackend,
                                                     sentinels: ThrowawaySentinels) -> None:
    """The loop's client (opened before the failover) moves to the new primary."""
    wait_until(sentinels.settled, "the replica linked (after an earlier failover)")
    cache = sentinel_backend.astore("cache")

    async def scenario() -> tuple[int, int, bytes | None]:
        try:
            await cache.set("async-before", b"1")
            old = sentinels.primary_port()
            assert node_client(old, PASSWORD).execute_command("WAIT", 1, 5000) == 1
            new = await asyncio.to_thread(sentinels.failover)
            await cache.set("async-after", b"2")
            return old, new, await cache.get("async-before")
        finally:
            await sentinel_backend.aclose()

    old, new, before = asyncio.run(scenario())
    assert new != old and before == b"1"
    assert node_client(new, PASSWORD).get("sentinel-test:cache:async-after") == b"2"
