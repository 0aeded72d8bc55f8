"""Statements PostgreSQL refuses (timeouts, deadlocks) are typed errors, not driver ones."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.errors import StatementRefusedError

from aragora_storage_core.errors import TransactionError
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO

pytestmark = pytest.mark.postgres


@pytest.fixture
def timed_out(pg_url: str) -> Iterator[PostgresBackend]:
    backend = Registry(env=AUTO).connect(f"{pg_url}?options=-c%20statement_timeout%3D50")
    assert isinstance(backend, PostgresBackend)
    yield backend
    backend.close()


def test_a_read_past_statement_timeout_is_a_typed_error(timed_out: PostgresBackend) -> None:
    with pytest.raises(StatementRefusedError) as caught:
        timed_out.database.fetch_one("SELECT pg_sleep(1)")
    assert "statement_timeout" in caught.value.message
    assert timed_out.database.fetch_one("SELECT 1") == (1,)  # the connection is still good


def test_a_write_past_statement_timeout_rolls_back_with_a_typed_error(
        timed_out: PostgresBackend) -> None:
    database = timed_out.database
    with database.transaction() as tx:
        tx.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(TransactionError), database.transaction() as tx:
        tx.execute("INSERT INTO t VALUES (1)")
        tx.execute("SELECT pg_sleep(1)")
    assert database.fetch_one("SELECT count(*) FROM t") == (0,)


def test_a_deadlock_victim_gets_a_typed_error_and_the_other_commits(
        pg_backend: PostgresBackend) -> None:
    database = pg_backend.database
    with database.transaction() as tx:
        tx.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, v INTEGER)")
        tx.execute("INSERT INTO d VALUES (1, 0), (2, 0)")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(first: int, second: int) -> None:
        try:
            with database.transaction() as tx:
                tx.execute("UPDATE d SET v = v + 1 WHERE id = %s", (first,))
                barrier.wait(timeout=10)
                tx.execute("UPDATE d SET v = v + 1 WHERE id = %s", (second,))
            outcomes.append("committed")
        except StatementRefusedError as error:
            outcomes.append("deadlock" if "deadlock" in error.message else error.message)

    threads = [threading.Thread(target=worker, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["committed", "deadlock"]
    assert database.fetch_one("SELECT sum(v) FROM d") == (2,)
