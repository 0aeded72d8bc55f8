"""The pooled database: pool limits, transactions, bulk inserts and the slow-query log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.errors import PoolTimeoutError

from aragora_storage_core.errors import DuplicateError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO

pytestmark = pytest.mark.postgres


def user(n: int) -> User:
    return User(id=f"u{n}", email=f"u{n}@example.com", password_hash="h", password_salt="s")


@pytest.fixture
def tiny_pool(pg_url: str) -> Iterator[PostgresBackend]:
    """A backend with one connection, no overflow and a short wait."""
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "1", "ARAGORA_DB_POOL_MAX_OVERFLOW": "0",
           "ARAGORA_DB_POOL_TIMEOUT": "0.2"}
    backend = Registry(env=env).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    backend.store("users")
    yield backend
    backend.close()


def test_pool_settings_come_from_the_environment(tiny_pool: PostgresBackend) -> None:
    usage = tiny_pool.database.pool.usage()
    assert (usage["size"], usage["max_overflow"]) == (1, 0)
    assert tiny_pool.database.pool.timeout == 0.2


def test_exhausted_pool_waits_then_raises_a_clear_typed_error(
        tiny_pool: PostgresBackend) -> None:
    lease = tiny_pool.database.pool.acquire()
    with pytest.raises(PoolTimeoutError) as info:
        tiny_pool.store("users").count()
    assert info.value.message == ("no PostgreSQL connection became free within 0.2s "
                                  "(pool size 1 + overflow 0, all in use)")
    assert "ARAGORA_DB_POOL_SIZE" in info.value.hint
    tiny_pool.database.pool.release(lease)
    assert tiny_pool.store("users").count() == 0


def test_connection_returns_to_the_pool_only_after_its_transaction(
        tiny_pool: PostgresBackend) -> None:
    users = tiny_pool.store("users")
    seen: list[BaseException | int] = []

    def read_elsewhere() -> None:
        try:
            seen.append(users.count())
        except PoolTimeoutError as exc:
            seen.append(exc)

    with tiny_pool.database.transaction() as tx:
        tx.execute("INSERT INTO users (id, email, password_hash, password_salt)"
                   " VALUES ('a', 'a@x', 'h', 's')")
        thread = threading.Thread(target=read_elsewhere)
        thread.start()
        thread.join()
        assert users.count() == 1  # this thread reads on its own transaction's connection
    assert isinstance(seen[0], PoolTimeoutError)
    read_elsewhere()
    assert seen[1] == 1


def test_overflow_connections_are_closed_when_returned(pg_url: str, pg_database: str,
                                                      pg_admin: Any) -> None:
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "2", "ARAGORA_DB_POOL_MAX_OVERFLOW": "3"}
    backend = Registry(env=env).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    pool = backend.database.pool
    leases = [pool.acquire() for _ in range(5)]
    for lease in leases:
        pool.release(lease)
    assert pool.usage()["open"] == 2
    assert _sessions_settle_at(pg_admin, pg_database, 2) == 2  # as the server sees it
    assert backend.database.fetch_one("SELECT 1") == (1,)
    backend.close()


def _sessions_settle_at(pg_admin: Any, database: str, expected: int) -> int:
    """Sessions on ``database``, polled until ``expected`` (a closed session ends soon after)."""
    with pg_admin.cursor() as cursor:
        for _ in range(100):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                           (database,))
            count: int = cursor.fetchone()[0]
            if count == expected:
                break
            threading.Event().wait(0.1)
    return count


def test_waiting_caller_gets_the_connection_released_meanwhile(
        pg_url: str) -> None:
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "1", "ARAGORA_DB_POOL_MAX_OVERFLOW": "0",
           "ARAGORA_DB_POOL_TIMEOUT": "30"}
    backend = Registry(env=env).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    pool = backend.database.pool
    lease = pool.acquire()
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(
        backend.database.fetch_one("SELECT 42")))
    thread.start()
    while not pool.waiting():  # the reader is queued for the one connection
        threading.Event().wait(0.01)
    pool.release(lease)
    thread.join()
    assert results == [(42,)]
    backend.close()


def test_inner_transaction_joins_the_outer_one_and_rolls_back_with_it(
        pg_backend: PostgresBackend) -> None:
    users = pg_backend.store("users")
    with pytest.raises(RuntimeError), pg_backend.database.transaction():
        users.create(user(1))
        users.create(user(2))
        assert users.count() == 2
        raise RuntimeError("abort the outer transaction")
    assert users.count() == 0


def test_failed_statement_rolls_back_and_the_connection_stays_usable(
        pg_backend: PostgresBackend) -> None:
    users = pg_backend.store("users")
    users.create(user(1))
    with pytest.raises(DuplicateError):
        users.create(user(1))
    users.create(user(2))
    assert users.count() == 2


def test_bulk_insert_over_several_pages_inserts_every_row(
        pg_backend: PostgresBackend) -> None:
    users = pg_backend.store("users")
    assert users.create_many(user(n) for n in range(2500)) == 2500
    assert users.count() == 2500
    assert users.get_by_email("u2499@example.com") is not None


def test_bulk_insert_with_on_conflict_keeps_its_suffix(pg_backend: PostgresBackend) -> None:
    from datetime import UTC, datetime, timedelta

    tokens = pg_backend.store("token_blacklist")
    later = datetime.now(UTC) + timedelta(hours=1)
    tokens.revoke_many([("a", later), ("b", later)])
    assert tokens.revoke_many([("a", later), ("c", later)]) == 2
    assert [tokens.is_revoked(j) for j in "abcd"] == [True, True, True, False]


def test_slow_queries_are_logged_with_their_label(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    backend = Registry(env={"ARAGORA_SLOW_QUERY_MS": "5", **AUTO}).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    with caplog.at_level(logging.WARNING, logger="aragora_storage.slow_query"):
        backend.database.fetch_one("SELECT 1", (), "fast.read")
        backend.database.fetch_one("SELECT pg_sleep(0.05)", (), "sleepy.read")
        with backend.database.transaction() as tx:
            tx.execute("SELECT pg_sleep(0.05)", label="sleepy.write")
    sleepy = [r.getMessage() for r in caplog.records if "sleepy" in r.getMessage()]
    assert len(sleepy) == 2
    assert sleepy[0].startswith("Slow query (") and sleepy[0].endswith(
        "s): sleepy.read (threshold: 0.005s)")
    assert "sleepy.write" in sleepy[1]
    backend.close()


TRICKY = ["tab\there", "new\nline\r\n", "back\\slash \\N", "", "quote ' \" é ✓", "\\x00"]


@pytest.mark.parametrize("odd", [None, datetime(2026, 1, 1, tzinfo=UTC)])
def test_bulk_insert_round_trips_every_kind_of_value(
        pg_backend: PostgresBackend, odd: Any) -> None:
    """Plain values go by COPY; a value COPY text cannot carry falls back to execute_values."""
    pg_backend.store("users")
    with pg_backend.database.transaction() as tx:
        tx.execute("CREATE TABLE odd (t TEXT, i BIGINT, f DOUBLE PRECISION, b BOOLEAN,"
                   " y BYTEA, z TEXT)")
    rows = [(text, n, n / 3, n % 2 == 0, bytes([n, 0, 92, 10]), odd)
            for n, text in enumerate(TRICKY)]
    rows.append((None, None, float("inf"), None, None, None))
    with pg_backend.database.transaction() as tx:
        assert tx.execute_many("INSERT INTO odd (t, i, f, b, y, z) VALUES (%s, %s, %s, %s, %s,"
                               " %s)", rows) == len(rows)
    back = pg_backend.database.fetch_all("SELECT t, i, f, b, y, z FROM odd ORDER BY i")
    expected_z = None if odd is None else "2026-01-01 00:00:00+00"
    assert [(t, i, f, b, None if y is None else bytes(y), z) for t, i, f, b, y, z in back] == [
        (*row[:5], expected_z if row[1] is not None else None) for row in rows]


def test_bulk_insert_of_a_duplicate_is_a_duplicate_error_and_inserts_nothing(
        pg_backend: PostgresBackend) -> None:
    users = pg_backend.store("users")
    users.create(user(7))
    with pytest.raises(DuplicateError):
        users.create_many([user(1), user(7), user(8)])
    assert users.count() == 1


def test_connection_lost_during_commit_says_the_outcome_is_unknown(
        pg_backend: PostgresBackend) -> None:
    from aragora_storage_postgres.errors import ConnectionLostError

    from tests.postgres.conftest import admin_connection

    users = pg_backend.store("users")
    with pg_backend.database.transaction() as tx:  # COMMIT waits for advisory lock 4242
        tx.execute("CREATE FUNCTION wait_at_commit() RETURNS trigger LANGUAGE plpgsql AS"
                   " $$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$")
        tx.execute("CREATE CONSTRAINT TRIGGER wait_at_commit AFTER INSERT ON users"
                   " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION"
                   " wait_at_commit()")
    errors: list[BaseException] = []

    def write() -> None:
        try:
            users.create(user(1))
        except BaseException as exc:
            errors.append(exc)

    database = pg_backend.database.label
    admin = admin_connection(database)  # advisory locks belong to one database
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(4242)")
        thread = threading.Thread(target=write)
        thread.start()
        for _ in range(300):  # the writer's COMMIT waits; then its session ends
            cursor.execute("SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d"
                           " ON d.oid = l.database WHERE d.datname = %s"
                           " AND l.locktype = 'advisory' AND NOT l.granted", (database,))
            if cursor.fetchall():
                break
            threading.Event().wait(0.1)
        thread.join()
    admin.close()
    assert len(errors) == 1 and isinstance(errors[0], ConnectionLostError)
    assert errors[0].message.endswith("was lost while committing;"
                                      " the write may or may not have been saved")
    assert errors[0].__cause__ is None and errors[0].__suppress_context__
    assert users.count() == 0  # here the server had not committed it
    assert pg_backend.database.pool.usage()["in_use"] == 0
