"""The three Redis stores against the shared server: keys, expiry, streams, options."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
from aragora_storage_redis.backend import RedisBackend

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import (
    CacheStore,
    StoreKind,
    StreamEventStore,
    TokenBlacklistStore,
)


def test_every_store_implements_its_protocol_on_the_one_pool(backend: RedisBackend) -> None:
    assert isinstance(backend.store("token_blacklist"), TokenBlacklistStore)
    assert isinstance(backend.store("stream_events"), StreamEventStore)
    assert isinstance(backend.store("cache"), CacheStore)
    pools = {id(backend.store(kind)._redis._client.connection_pool)
             for kind in backend.stores_served}
    assert pools == {id(backend.topology.pool)}


def test_revoked_token_is_one_key_expiring_when_the_token_does(
        backend: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=10)
    backend.store("token_blacklist").revoke("jti-1", expires, user_id="u1")
    key = f"{prefix}token:jti-1"
    assert json.loads(shared_client.get(key))["user_id"] == "u1"
    expire_ms = shared_client.execute_command("PEXPIRETIME", key)
    assert expire_ms == int(expires.timestamp() * 1000)


def test_revoking_twice_keeps_the_first_expiry(
        backend: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    blacklist = backend.store("token_blacklist")
    first = datetime.now(UTC) + timedelta(minutes=10)
    blacklist.revoke("jti", first)
    blacklist.revoke("jti", first + timedelta(hours=1))
    assert shared_client.execute_command("PEXPIRETIME", f"{prefix}token:jti") == int(
        first.timestamp() * 1000)


def test_token_that_already_expired_is_not_revoked(backend: RedisBackend) -> None:
    blacklist = backend.store("token_blacklist")
    blacklist.revoke("old", datetime.now(UTC) - timedelta(seconds=5))
    assert blacklist.is_revoked("old") is False


@pytest.mark.parametrize("expired", [datetime(1970, 1, 1, tzinfo=UTC),
                                     datetime(1960, 1, 1, tzinfo=UTC),
                                     datetime(1, 1, 1, tzinfo=UTC)])
def test_token_expiring_at_or_before_the_epoch_is_not_revoked_and_not_an_error(
        backend: RedisBackend, expired: datetime) -> None:
    """A JWT with ``exp`` 0 (or a default datetime) behaves as on SQL: expired, no error."""
    blacklist = backend.store("token_blacklist")
    later = datetime.now(UTC) + timedelta(minutes=5)
    blacklist.revoke("ancient", expired)
    assert blacklist.revoke_many([("fresh", later), ("ancient-too", expired)]) == 2
    assert blacklist.is_revoked("ancient") is False
    assert blacklist.is_revoked("ancient-too") is False
    assert blacklist.is_revoked("fresh") is True


def test_revoke_many_accepts_a_generator_and_large_batches(backend: RedisBackend) -> None:
    blacklist = backend.store("token_blacklist")
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert blacklist.revoke_many((f"j{i}", later) for i in range(2500)) == 2500
    assert all(blacklist.is_revoked(f"j{i}") for i in (0, 999, 1000, 2499))
    assert blacklist.revoke_many([]) == 0


def test_stream_events_live_in_one_stream_per_loop_with_stream_ids(
        backend: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    events = backend.store("stream_events")
    first = events.append(StreamEvent("loop-a", 1, "cycle_start", {"x": 1}, agent="claude"))
    events.append(StreamEvent("loop-b", 1, "cycle_start", {}))
    assert shared_client.type(f"{prefix}stream:loop-a") == b"stream"
    assert shared_client.xrange(f"{prefix}stream:loop-a")[0][0].decode() == first
    read = events.read("loop-a")
    assert [(e.id, e.loop_id, e.agent, e.event_data) for e in read] == [
        (first, "loop-a", "claude", {"x": 1})]


def test_event_timestamps_round_trip_to_the_microsecond(backend: RedisBackend) -> None:
    events = backend.store("stream_events")
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    events.append(StreamEvent("loop", 3, "phase_start", {}, timestamp=moment))
    assert events.read("loop")[0].timestamp == moment


def test_cycle_filter_pages_through_a_long_stream(backend: RedisBackend) -> None:
    events = backend.store("stream_events")
    events.append_many([StreamEvent("loop", i % 3, "tick", {"i": i}) for i in range(600)])
    cycle_two = events.read("loop", cycle=2, limit=150)
    assert [e.event_data["i"] for e in cycle_two] == list(range(2, 450, 3))
    after = events.read("loop", cycle=2, after=cycle_two[-1].id, limit=1000)
    assert [e.event_data["i"] for e in after] == list(range(452, 600, 3))


def test_reading_an_unknown_loop_or_with_no_limit_is_empty(backend: RedisBackend) -> None:
    events = backend.store("stream_events")
    events.append(StreamEvent("loop", 1, "tick", {}))
    assert events.read("nobody") == []
    assert events.read("loop", limit=0) == []


def test_after_must_be_a_stream_id(backend: RedisBackend) -> None:
    with pytest.raises(ValueError, match="not a stream event id"):
        backend.store("stream_events").read("loop", after="abc")


def test_streams_are_trimmed_to_about_stream_maxlen(
        redis_url: str, shared_client: redis.Redis, prefix: str) -> None:
    backend = Registry(env={}).connect(f"{redis_url}&stream_maxlen=50")
    events = backend.store("stream_events")
    for i in range(20):
        events.append_many([StreamEvent("loop", 1, "tick", {"i": i})] * 50)
    length = shared_client.xlen(f"{prefix}stream:loop")
    assert 50 <= length < 1000
    backend.close()


def test_cache_ttl_becomes_the_key_expiry(
        backend: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    cache = backend.store("cache")
    cache.set("k", b"\x00\xffbinary", ttl_seconds=30)
    assert cache.get("k") == b"\x00\xffbinary"
    assert 29_000 < shared_client.pttl(f"{prefix}cache:k") <= 30_000
    cache.set("k", b"forever")
    assert shared_client.pttl(f"{prefix}cache:k") == -1


def test_cache_rejects_a_ttl_that_is_not_positive(backend: RedisBackend) -> None:
    with pytest.raises(ValueError, match="ttl_seconds must be positive"):
        backend.store("cache").set("k", b"v", ttl_seconds=0)
    assert backend.store("cache").get("k") is None


def test_backends_with_different_prefixes_do_not_see_each_other(
        backend: RedisBackend, redis_url: str, shared_client: redis.Redis) -> None:
    other = Registry(env={}).connect(redis_url.replace("?prefix=", "?prefix=other-"))
    try:
        backend.store(StoreKind.CACHE).set("k", b"mine")
        assert other.store(StoreKind.CACHE).get("k") is None
        backend.store("token_blacklist").revoke("j", datetime.now(UTC) + timedelta(hours=1))
        assert other.store("token_blacklist").is_revoked("j") is False
    finally:
        other.close()
        for key in shared_client.scan_iter(match="other-test-*"):
            shared_client.unlink(key)


def test_unknown_url_option_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="unknown option 'prefx'") as caught:
        Registry(env={}).connect("redis://127.0.0.1:6379/0?prefx=a:")
    assert "prefix" in caught.value.hint and "socket_timeout" in caught.value.hint


def test_invalid_option_value_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="socket_timeout has an invalid value"):
        Registry(env={}).connect("redis://127.0.0.1:6379/0?socket_timeout=-1")
    with pytest.raises(ConfigurationError, match="ssl_cert_reqs has an invalid value"):
        Registry(env={}).connect("rediss://127.0.0.1:6379/0?ssl_cert_reqs=maybe")


def test_a_password_that_is_not_utf8_is_a_configuration_error_not_showing_it() -> None:
    """Raw bytes in REDIS_URL reach Python as surrogate escapes; redis-py cannot send them."""
    with pytest.raises(ConfigurationError, match="password in the redis URL is not UTF-8") as \
            caught:
        Registry(env={}).connect("redis://:pa\udcffss-word@127.0.0.1:6379/0")
    shown = str(caught.value) + repr(caught.value)
    assert "udcff" not in shown and "ss-word" not in shown
