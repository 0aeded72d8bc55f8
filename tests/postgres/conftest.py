"""Fixtures for the PostgreSQL backend: a fresh, uniquely named database per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.registry import Registry
from tests.conftest import service_unavailable

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
#: Settings that apply pending migrations when a store is first used (off by default on
#: PostgreSQL since issue 10).
AUTO = {"ARAGORA_AUTO_MIGRATE": "1"}


def admin_connection(dbname: str = "postgres") -> Any:
    """An autocommit superuser connection to the machine's server (skip/fail if down)."""
    import psycopg2

    try:
        conn = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=dbname,
                                connect_timeout=3)
    except psycopg2.OperationalError:
        service_unavailable("PostgreSQL")
    conn.autocommit = True
    return conn


def drop_database(admin: Any, name: str) -> None:
    """Terminate the connections left on ``name`` and drop it."""
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Any]:
    """The superuser connection used to create and drop test databases."""
    conn = admin_connection()
    yield conn
    conn.close()


@pytest.fixture
def pg_database(pg_admin: Any) -> Iterator[str]:
    """A new empty database ``aragora_test_<random>``, dropped after the test."""
    name = f"aragora_test_{secrets.token_hex(6)}"
    with pg_admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    drop_database(pg_admin, name)


@pytest.fixture
def make_pg_url(pg_admin: Any) -> Iterator[Any]:
    """A function making more fresh databases (returns each one's URL); all dropped after."""
    made: list[str] = []

    def make() -> str:
        name = f"aragora_test_{secrets.token_hex(6)}"
        with pg_admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"postgresql://{USER}@{HOST}:{PORT}/{name}"

    yield make
    for name in made:
        drop_database(pg_admin, name)


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The URL of the fresh test database."""
    return f"postgresql://{USER}@{HOST}:{PORT}/{pg_database}"


@pytest.fixture
def pg_backend(pg_url: str) -> Iterator[PostgresBackend]:
    """An open backend on the fresh database, closed after the test."""
    backend = Registry(env=AUTO).connect(pg_url)
    assert isinstance(backend, PostgresBackend)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def scratch_cluster() -> Iterator[Any]:
    """A throwaway server with TLS and password auth (see ``cluster.py``), for the session."""
    from tests.postgres.cluster import BIN, ScratchCluster

    if not (BIN / "initdb").exists():
        service_unavailable("PostgreSQL 15 server binaries (initdb)")
    cluster = ScratchCluster()
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.remove()
