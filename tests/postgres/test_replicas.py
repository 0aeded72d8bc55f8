"""Read replicas on a throwaway primary and a streaming standby made by ``pg_basebackup -R``.

One primary and one standby serve the whole module; the standby is stopped, paused and
finally promoted (the last test). Which server answered a read is asked with
``SELECT pg_is_in_recovery()`` through the same read path the stores use.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.health import replica_checks

from aragora_storage_core.cli import main
from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from tests.conftest import service_unavailable
from tests.postgres.cluster import BIN, PASSWORD, ScratchCluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
T = TypeVar("T")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ScratchCluster, ScratchCluster]]:
    """A primary and its streaming standby, for the module."""
    if not (BIN / "pg_basebackup").exists():
        service_unavailable("PostgreSQL 15 server binaries (initdb, pg_basebackup)")
    primary = ScratchCluster()
    replica: ScratchCluster | None = None
    try:
        primary.create()
        replica = primary.standby()
        yield primary, replica
    finally:
        if replica is not None:
            replica.remove()
        primary.remove()


def replica_env(replica: ScratchCluster, **extra: str) -> dict[str, str]:
    """Settings with the standby as the one replica and a 1 s lag limit."""
    return {"DATABASE_REPLICA_URLS": replica.url(sslmode="disable"),
            "ARAGORA_DB_MAX_REPLICA_LAG": "1", **extra}


def open_backend(servers: tuple[ScratchCluster, ScratchCluster], **extra: str) -> PostgresBackend:
    """A migrated backend on the primary with the standby as replica."""
    primary, replica = servers
    registry = Registry(env=replica_env(replica, **extra))
    backend = registry.connect(primary.url(sslmode="disable"))
    assert isinstance(backend, PostgresBackend)
    registry.hook.storage_migrate(backend=backend,
                                  request=MigrationRequest(MigrationAction.MIGRATE))
    return backend


@pytest.fixture
def backend(servers: tuple[ScratchCluster, ScratchCluster]) -> Iterator[PostgresBackend]:
    """A backend on the primary, its replica checked every 0.1 s, closed after the test."""
    opened = open_backend(servers)
    assert opened.database.replicas is not None
    opened.database.replicas.check_seconds = 0.1
    yield opened
    opened.close()


def on_replica(backend: PostgresBackend) -> bool:
    """True when this plain read was answered by a standby."""
    row = backend.database.fetch_one("SELECT pg_is_in_recovery()")
    assert row is not None
    return bool(row[0])


def in_new_thread(work: Callable[[], T]) -> T:
    """``work()`` run by another caller: a new thread (its own context, no writes of ours)."""
    results: list[T] = []
    thread = threading.Thread(target=lambda: results.append(work()))
    thread.start()
    thread.join()
    return results[0]


def eventually(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def user(key: str) -> User:
    """A user with id ``key``."""
    return User(id=key, email=f"{key}@example.com", password_hash="h", password_salt="s")


def health(backend: PostgresBackend) -> dict[str, Any]:
    """The replica findings ``doctor`` shows (measured now), by id."""
    assert backend.database.replicas is not None
    return {c.id: c for c in replica_checks(backend.database.replicas)}


def test_plain_reads_go_to_the_caught_up_replica_and_transactions_to_the_primary(
        backend: PostgresBackend) -> None:
    assert eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    with backend.database.transaction():
        assert not on_replica(backend)
    findings = health(backend)
    assert list(findings) == ["storage.I140"]
    assert findings["storage.I140"].data["state"] == "standby"
    assert findings["storage.I140"].data["lag_seconds"] <= 1


def test_registry_primary_sends_reads_to_the_primary(
        servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    primary, replica = servers
    registry = Registry(env=replica_env(replica))
    backend = registry.connect(primary.url(sslmode="disable"))
    assert isinstance(backend, PostgresBackend)
    assert eventually(lambda: on_replica(backend))
    with registry.primary():
        assert not on_replica(backend)
    assert on_replica(backend)
    registry.close()


def test_the_writer_reads_its_write_while_replay_is_paused_and_others_after_the_lag_limit(
        backend: PostgresBackend, servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    _, replica = servers
    users = backend.store("users")
    assert eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    replica.admin("SELECT pg_wal_replay_pause()")
    try:
        users.create(user("paused"))
        assert users.get_by_id("paused") is not None  # the writer: never stale
        assert not on_replica(backend)
        # Another caller may read the paused standby for at most the lag limit (1 s),
        # then the standby is left out and every caller sees the write.
        assert eventually(lambda: "storage.W141" in health(backend))
        assert in_new_thread(lambda: users.get_by_id("paused")) is not None
        assert not in_new_thread(lambda: on_replica(backend))
        assert health(backend)["storage.W141"].data["readable"] is False
    finally:
        replica.admin("SELECT pg_wal_replay_resume()")
    assert eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    assert in_new_thread(lambda: users.get_by_id("paused")) is not None


def test_window_after_any_write_keeps_every_caller_on_the_primary(
        servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    backend = open_backend(servers, ARAGORA_DB_READ_YOUR_WRITES_WINDOW="3600")
    assert eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    backend.store("users").create(user("windowed"))
    assert not in_new_thread(lambda: on_replica(backend))
    backend.close()


def test_a_stopped_replica_costs_no_read_error_and_comes_back(
        backend: PostgresBackend, servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    _, replica = servers
    users = backend.store("users")
    users.create(user("while-down"))
    assert eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    replica.stop()
    try:
        for _ in range(20):  # the first read meets the dead connection, every one answers
            assert in_new_thread(lambda: users.get_by_id("while-down")) is not None
        assert not in_new_thread(lambda: on_replica(backend))
        down = health(backend)["storage.W142"]
        assert down.data["state"] == "down" and down.data["readable"] is False
    finally:
        replica.start()
    assert eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    assert list(health(backend)) == ["storage.I140"]


def test_a_forked_child_checks_and_reads_replicas_even_if_forked_mid_check(
        backend: PostgresBackend) -> None:
    replicas = backend.database.replicas
    assert replicas is not None and eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    checking, forked = threading.Event(), threading.Event()

    def check_in_progress() -> None:  # as the checker thread holds it during a check
        with replicas._check_lock:
            checking.set()
            forked.wait()

    holder = threading.Thread(target=check_in_progress)
    holder.start()
    checking.wait()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: check (needs the lock), read, report; never hang
        code = 1
        try:
            signal.alarm(20)
            found = [c.id for c in replica_checks(replicas)]
            served = eventually(lambda: on_replica(backend))
            os.write(write, f"{found}|{served}".encode())
            code = 0
        finally:
            os._exit(code)
    forked.set()
    holder.join()
    os.close(write)
    report = os.read(read, 200).decode()
    os.close(read)
    assert os.waitpid(child, 0)[1] == 0
    assert report == "['storage.I140']|True"


def test_doctor_shows_each_replica_without_any_password(
        servers: tuple[ScratchCluster, ScratchCluster], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    primary, replica = servers
    monkeypatch.setenv("DATABASE_URL", primary.url(sslmode="disable"))
    for name, value in replica_env(replica).items():
        monkeypatch.setenv(name, value)
    main(["doctor", "--json", "-v"])
    out = capsys.readouterr().out
    assert PASSWORD not in out and quote(PASSWORD, safe="") not in out
    findings = {f["id"]: f for f in json.loads(out)["findings"]}
    replica_finding = findings.get("storage.I140") or findings["storage.W141"]
    assert replica_finding["data"]["replica"] == f"127.0.0.1:{replica.port}/aragora"


def test_a_replica_url_that_is_not_postgresql_is_one_configuration_error(
        servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    primary, _ = servers
    registry = Registry(env={"DATABASE_REPLICA_URLS": "postgresql://a@h/d, redis://:s3cret@h"})
    with pytest.raises(ConfigurationError) as info:
        registry.connect(primary.url(sslmode="disable"))
    assert "entry 2 is a redis:// URL" in info.value.message
    assert "s3cret" not in str(info.value)


def test_a_promoted_replica_is_left_out_and_no_caller_reads_stale_data(
        backend: PostgresBackend, servers: tuple[ScratchCluster, ScratchCluster]) -> None:
    _, replica = servers
    users = backend.store("users")
    assert eventually(lambda: in_new_thread(lambda: on_replica(backend)))
    replica.promote()
    users.create(user("after-promotion"))
    assert users.get_by_id("after-promotion") is not None  # the writer
    assert eventually(lambda: "storage.W143" in health(backend))
    assert in_new_thread(lambda: users.get_by_id("after-promotion")) is not None
    row = in_new_thread(lambda: backend.database.fetch_one("SELECT pg_is_in_recovery()"))
    assert row == (False,) and health(backend)["storage.W143"].data["readable"] is False
    assert replica.admin("SELECT count(*) FROM users WHERE id = 'after-promotion'",
                         dbname="aragora") == 0
