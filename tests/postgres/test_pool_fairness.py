"""The pool hands connections out first come, first served once callers queue.

Order of grants only, never timings: speed is measured in ``benchmarks/bench_pool.py``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.errors import PoolTimeoutError
from aragora_storage_postgres.pool import ConnectionPool

from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO

pytestmark = pytest.mark.postgres


@pytest.fixture
def one_connection(pg_url: str) -> Iterator[PostgresBackend]:
    """A backend whose pool holds exactly one connection and waits up to 30 s."""
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "1", "ARAGORA_DB_POOL_MAX_OVERFLOW": "0",
           "ARAGORA_DB_POOL_TIMEOUT": "30"}
    backend = Registry(env=env).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    yield backend
    backend.close()


def _queue_until(pool: ConnectionPool, count: int) -> None:
    """Wait (without a time limit on the outcome) until ``count`` callers are queued."""
    while pool.waiting() < count:
        threading.Event().wait(0.005)


def test_queued_callers_get_the_connection_in_the_order_they_asked(
        one_connection: PostgresBackend) -> None:
    pool = one_connection.database.pool
    granted: list[int] = []

    def take_turn(number: int) -> None:
        lease = pool.acquire()
        granted.append(number)
        pool.release(lease)

    held = pool.acquire()
    threads = []
    for number in range(6):
        thread = threading.Thread(target=take_turn, args=(number,))
        thread.start()
        _queue_until(pool, number + 1)
        threads.append(thread)
    pool.release(held)
    for thread in threads:
        thread.join()
    assert granted == list(range(6))
    assert pool.usage()["open"] == 1


def test_a_releasing_thread_cannot_take_its_connection_back_past_a_waiter(
        one_connection: PostgresBackend) -> None:
    """What starved threads before: release, then acquire again at once, ahead of the queue."""
    database = one_connection.database
    order: list[str] = []
    held = database.pool.acquire()
    waiter = threading.Thread(
        target=lambda: order.append(f"waiter {database.fetch_one('SELECT 1')}"))
    waiter.start()
    _queue_until(database.pool, 1)
    database.pool.release(held)
    order.append(f"releaser {database.fetch_one('SELECT 2')}")
    waiter.join()
    assert order == ["waiter (1,)", "releaser (2,)"]


def test_a_caller_that_timed_out_leaves_the_queue_and_the_next_one_is_served(
        pg_url: str) -> None:
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "1", "ARAGORA_DB_POOL_MAX_OVERFLOW": "0",
           "ARAGORA_DB_POOL_TIMEOUT": "0.05"}
    backend = Registry(env=env).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    pool = backend.database.pool
    held = pool.acquire()
    with pytest.raises(PoolTimeoutError):
        pool.acquire()
    assert pool.waiting() == 0
    pool.release(held)
    assert backend.database.fetch_one("SELECT 3") == (3,)
    assert pool.usage() == {"size": 1, "max_overflow": 0, "open": 1, "in_use": 0, "idle": 1}
    backend.close()


def test_a_broken_connection_frees_its_place_for_the_first_waiter(
        one_connection: PostgresBackend) -> None:
    pool = one_connection.database.pool
    held = pool.acquire()
    results: list[object] = []
    waiter = threading.Thread(
        target=lambda: results.append(one_connection.database.fetch_one("SELECT 4")))
    waiter.start()
    _queue_until(pool, 1)
    held.raw.close()
    pool.discard(held)  # the waiter opens a new connection in its place
    waiter.join()
    assert results == [(4,)]
    pool.discard(held)  # a second discard changes nothing
    assert pool.usage()["open"] == 1


def test_every_thread_finishes_its_share_when_threads_outnumber_connections(
        pg_url: str) -> None:
    """16 threads on 3 connections, each 40 reads: all done, none refused, 3 connections."""
    env = {**AUTO, "ARAGORA_DB_POOL_SIZE": "2", "ARAGORA_DB_POOL_MAX_OVERFLOW": "1",
           "ARAGORA_DB_POOL_TIMEOUT": "60"}
    backend = Registry(env=env).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    done = [0] * 16

    def work(number: int) -> None:
        for _ in range(40):
            assert backend.database.fetch_one("SELECT %s", (number,)) == (number,)
            done[number] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done == [40] * 16
    usage = backend.database.pool.usage()
    assert usage["in_use"] == 0 and usage["open"] <= 3 and backend.database.pool.waiting() == 0
    backend.close()


def test_a_store_call_on_postgresql_imports_no_sqlalchemy(pg_url: str) -> None:
    """The pool is the plugin's own: a fresh process serving a store never loads SQLAlchemy."""
    code = ("import sys\nfrom aragora_storage_core.registry import Registry\n"
            f"registry = Registry(env={{'DATABASE_URL': {pg_url!r}, **{AUTO!r}}})\n"
            "assert registry.store('users').count() == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in"
            " ('sqlalchemy', 'psycopg2')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = result.stdout.strip()
    assert "'psycopg2'" in loaded  # the check means something: the driver did load
    assert "sqlalchemy" not in loaded
