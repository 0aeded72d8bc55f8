"""Faults: server down, silent, restarted, slow past the timeout; wrong password.

Each uses its own throwaway redis-server or socket, never the shared server.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from aragora_storage_redis.backend import RedisBackend
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis_servers import HANG_GUARD_SECONDS, RedisServerProcess, assert_sent_once, free_port, stall
from redis_support import connect_redis

from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry

PASSWORD = "s3cr3t-P@ss-7781"
WRONG_PASSWORD = "wr0ng-P@ss-5523"


def raises_without_hanging(action: Callable[[], object]) -> BaseException:
    """Run ``action`` in a thread; return what it raised, failing if it never returns."""
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            action()
        except BaseException as error:  # handed to the test, which asserts on it
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_SECONDS)
    assert not thread.is_alive(), f"still blocked after {HANG_GUARD_SECONDS}s: a hang"
    assert outcome, "expected an error, got none"
    return outcome[0]


def test_server_down_fails_at_connect_with_a_typed_error() -> None:
    port = free_port()
    error = raises_without_hanging(
        lambda: Registry(env={}).connect(f"redis://127.0.0.1:{port}/0?connect_timeout=1"))
    assert isinstance(error, BackendUnavailableError)
    assert f"cannot reach redis at 127.0.0.1:{port}/0" in error.message
    assert "Connection refused" in error.message
    assert "server is running" in error.hint


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


def test_server_that_never_answers_times_out_instead_of_hanging(silent_server: int) -> None:
    url = f"redis://127.0.0.1:{silent_server}/0?socket_timeout=0.3&connect_timeout=0.3&retries=1"
    error = raises_without_hanging(lambda: Registry(env={}).connect(url))
    assert isinstance(error, BackendUnavailableError)
    assert "connect timed out after 0.3s" in error.message
    assert "socket_timeout" in error.hint


def test_restart_mid_use_is_survived_and_reported(throwaway: RedisServerProcess) -> None:
    registry = Registry(env={"DATABASE_URL": throwaway.url(query="connect_timeout=1")})
    try:
        backend = registry.active()
        cache = backend.store("cache")
        cache.set("k", b"before")
        throwaway.stop()
        down = raises_without_hanging(lambda: cache.get("k"))
        assert isinstance(down, BackendUnavailableError)
        assert "cannot reach redis" in down.message
        lost = raises_without_hanging(
            lambda: backend.store("stream_events").append(StreamEvent("loop", 1, "tick", {})))
        assert isinstance(lost, BackendUnavailableError)
        assert "was not retried, so it is never applied twice" in lost.message
        throwaway.start()
        assert cache.get("k") is None  # no persistence: the restart lost it
        cache.set("k", b"after")
        assert cache.get("k") == b"after"
        ids = [c.id for c in registry.host.collect_health(backend)]
        assert "storage.W113" in ids
    finally:
        registry.close()


def test_xadd_past_the_socket_timeout_is_never_applied_twice(
        throwaway: RedisServerProcess) -> None:
    backend = Registry(env={}).connect(throwaway.url(query="socket_timeout=0.4&retries=5"))
    assert isinstance(backend, RedisBackend)
    events = backend.store("stream_events")
    awake = stall(throwaway, 1.6)
    error = raises_without_hanging(lambda: events.append(StreamEvent("loop", 1, "tick", {})))
    awake()
    assert_sent_once(error, throwaway, backend.keys.stream("loop"))
    backend.close()


def test_a_retrying_redis_py_client_applies_the_same_xadd_twice(
        throwaway: RedisServerProcess) -> None:
    """Why XADD must not retry: the control case with redis-py's retry switched on."""
    raw = redis.Redis(port=throwaway.port, socket_timeout=0.4,
                      retry=Retry(ExponentialBackoff(cap=0.5, base=0.2), 5))
    raw.ping()
    awake = stall(throwaway, 1.6)
    raw.xadd("retried-stream", {"n": 1})
    awake()
    assert raw.xlen("retried-stream") >= 2
    raw.close()


def test_idempotent_read_past_the_socket_timeout_is_retried_and_succeeds(
        throwaway: RedisServerProcess) -> None:
    backend = Registry(env={}).connect(throwaway.url(query="socket_timeout=0.4&retries=6"))
    backend.store("cache").set("k", b"value")
    awake = stall(throwaway, 1.0)
    assert backend.store("cache").get("k") == b"value"
    awake()
    backend.close()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[RedisServerProcess]:
    """A private redis-server that requires a password."""
    server = RedisServerProcess(tmp_path / "auth", "--requirepass", PASSWORD).start()
    yield server
    server.stop()


def test_wrong_password_error_never_shows_the_password(
        guarded: RedisServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = guarded.url(auth=f":{WRONG_PASSWORD}@")
    error = raises_without_hanging(lambda: Registry(env={"DATABASE_URL": url}).active())
    assert isinstance(error, BackendUnavailableError)
    assert "rejected the credentials" in error.message
    assert "password" in error.hint
    shown = " ".join([str(error), repr(error), error.hint, *traceback.format_exception(error),
                      caplog.text])
    assert WRONG_PASSWORD not in shown and PASSWORD not in shown


def test_missing_password_is_rejected_the_same_way(guarded: RedisServerProcess) -> None:
    error = raises_without_hanging(lambda: Registry(env={}).connect(guarded.url()))
    assert isinstance(error, BackendUnavailableError)
    assert "rejected the credentials" in error.message


def test_right_password_works_and_never_shows_in_repr_describe_or_health(
        guarded: RedisServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    registry = Registry(env={"DATABASE_URL": guarded.url(auth=f"default:{PASSWORD}@")})
    try:
        backend = registry.active()
        backend.store("cache").set("k", b"v")
        assert backend.store("cache").get("k") == b"v"
        assert isinstance(backend, RedisBackend)
        health = [c.line() for c in registry.host.collect_health(backend)]
        shown = " ".join([repr(backend), str(backend.describe()), repr(backend.topology.pool),
                          repr(backend.client), repr(backend.options), *health, caplog.text,
                          repr(registry.explain()), str(registry.explain().to_dict())])
        assert PASSWORD not in shown
    finally:
        registry.close()


@pytest.mark.slow
def test_default_retries_absorb_a_two_second_restart_for_reads_but_not_for_xadd(
        throwaway: RedisServerProcess) -> None:
    registry = Registry(env={"DATABASE_URL": throwaway.url()})  # every option at its default
    try:
        backend = registry.active()
        cache, blacklist = backend.store("cache"), backend.store("token_blacklist")
        cache.set("k", b"before")
        for read in (lambda: cache.get("k"), lambda: blacklist.is_revoked("jti")):
            throwaway.stop()
            comeback = threading.Timer(1.8, throwaway.start)  # the fault: ~2 s without Redis
            comeback.start()
            try:
                assert read() in (None, False)  # answered after the restart (nothing persisted)
            finally:
                comeback.join()
        throwaway.stop()
        comeback = threading.Timer(1.8, throwaway.start)
        comeback.start()
        try:
            lost = raises_without_hanging(
                lambda: backend.store("stream_events").append(StreamEvent("l", 1, "tick", {})))
        finally:
            comeback.join()
        assert isinstance(lost, BackendUnavailableError)
        assert "was not retried, so it is never applied twice" in lost.message
    finally:
        registry.close()


@pytest.mark.parametrize(("retries", "appended"), [(0, 0), (6, 1)])
def test_xadd_with_every_connection_in_use_says_it_was_not_sent_or_waits_its_turn(
        throwaway: RedisServerProcess, retries: int, appended: int) -> None:
    """redis-py refuses a connection past max_connections; that proves the XADD was not
    sent, so the message says so (not "may or may not") and a retry is safe."""
    backend = connect_redis(throwaway.url(query=f"max_connections=1&retries={retries}"))
    cache, events = backend.store("cache"), backend.store("stream_events")
    awake = stall(throwaway, 1.0)
    holder = threading.Thread(target=cache.get, args=("k",))  # holds the one connection
    holder.start()
    time.sleep(0.1)
    try:
        if retries:
            events.append(StreamEvent("loop", 1, "tick", {}))
        else:
            with pytest.raises(BackendUnavailableError) as caught:
                events.append(StreamEvent("loop", 1, "tick", {}))
            assert "every pooled connection was in use" in caught.value.message
            assert "not sent (nothing applied)" in caught.value.message
            assert "max_connections" in caught.value.hint
    finally:
        awake()
        holder.join(HANG_GUARD_SECONDS)
    raw = redis.Redis(port=throwaway.port)
    assert raw.xlen(backend.keys.stream("loop")) == appended
    raw.close()
    backend.close()
