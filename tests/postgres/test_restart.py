"""A server restart: no failed read for the application, no silently lost write."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.errors import ConnectionLostError

from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def backend(scratch_cluster: Any) -> Iterator[PostgresBackend]:
    """A backend on the scratch server with an empty users table and 3 pooled connections."""
    opened = Registry(env=AUTO).connect(scratch_cluster.url(sslmode="disable"))
    assert isinstance(opened, PostgresBackend)
    users = opened.store("users")
    with opened.database.transaction() as tx:
        tx.execute("DELETE FROM users")
    leases = [opened.database.pool.acquire() for _ in range(3)]
    for lease in leases:
        opened.database.pool.release(lease)
    assert users.count() == 0
    yield opened
    opened.close()


def test_restart_while_connections_idle_costs_no_failed_read(
        backend: PostgresBackend, scratch_cluster: Any) -> None:
    backend.database.pool.idle_check = 0.0  # every idle connection is checked before use
    scratch_cluster.restart()
    assert backend.store("users").count() == 0
    assert backend.database.pool.usage()["open"] >= 1


def test_read_on_a_connection_the_server_closed_is_retried_once(
        backend: PostgresBackend, scratch_cluster: Any) -> None:
    backend.database.pool.idle_check = 3600.0  # no check: the read meets the dead connection
    scratch_cluster.restart()
    assert backend.store("users").count() == 0


def test_write_in_flight_when_the_server_restarts_raises_and_keeps_nothing(
        backend: PostgresBackend, scratch_cluster: Any) -> None:
    users = backend.store("users")
    with pytest.raises(ConnectionLostError) as info, backend.database.transaction():
        users.create(User(id="a", email="a@x", password_hash="h", password_salt="s"))
        scratch_cluster.restart()
        users.create(User(id="b", email="b@x", password_hash="h", password_salt="s"))
    assert "nothing of it was saved" in info.value.message
    assert info.value.__cause__ is None
    assert users.count() == 0


def test_single_write_after_a_restart_goes_through(
        backend: PostgresBackend, scratch_cluster: Any) -> None:
    backend.database.pool.idle_check = 3600.0
    scratch_cluster.restart()
    users = backend.store("users")
    users.create(User(id="c", email="c@x", password_hash="h", password_salt="s"))
    assert users.count() == 1


def test_read_while_the_server_is_down_is_one_clear_error(
        backend: PostgresBackend, scratch_cluster: Any) -> None:
    scratch_cluster.stop()
    try:
        with pytest.raises(BackendUnavailableError) as info:
            backend.store("users").count()
        assert info.value.message.startswith("cannot reach PostgreSQL at 127.0.0.1:")
    finally:
        scratch_cluster.start()


def test_write_while_the_server_is_down_is_one_clear_error_and_no_warning(
        backend: PostgresBackend, scratch_cluster: Any) -> None:
    backend.database.pool.idle_check = 3600.0  # the write meets a dead pooled connection
    scratch_cluster.stop()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. SQLAlchemy's "already-closed connection"
            with pytest.raises(BackendUnavailableError) as info:
                backend.store("users").create(
                    User(id="d", email="d@x", password_hash="h", password_salt="s"))
        assert info.value.message.startswith("cannot reach PostgreSQL at 127.0.0.1:")
    finally:
        scratch_cluster.start()
    assert backend.store("users").count() == 0


def test_restart_right_after_a_burst_of_overflow_connections_costs_no_failed_read(
        scratch_cluster: Any) -> None:
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "3", "ARAGORA_DB_POOL_MAX_OVERFLOW": "3"}
    backend = Registry(env=env).connect(scratch_cluster.url(sslmode="disable"))
    assert isinstance(backend, PostgresBackend)
    pool = backend.database.pool
    pool.idle_check = 3600.0  # as if the restart took less than the idle window
    leases = [pool.acquire() for _ in range(6)]
    for lease in leases:
        pool.release(lease)
    scratch_cluster.restart()
    assert backend.database.fetch_one("SELECT 1") == (1,)
    backend.close()
