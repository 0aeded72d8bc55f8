"""Fixtures for the Supabase backend: a PostgREST-protocol test server over real PostgreSQL.

One uniquely named database and one server per test session (dropped and stopped after);
each test starts from empty tables. The key is random per session, so a test that looks
for it in output finds it only if it really leaked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aragora_storage_supabase.backend import SupabaseBackend

from aragora_storage_core.registry import Registry
from tests.postgres.conftest import admin_connection
from tests.supabase.postgrest_test_server import PostgrestTestServer
from tests.supabase.supabase_support import KEY, dsn, empty_tables, make_database, remove_database


@pytest.fixture(scope="session")
def project_database() -> Iterator[str]:
    """The session's database, standing in for a Supabase project's."""
    name = make_database()
    yield name
    remove_database(name)


@pytest.fixture(scope="session")
def postgrest(project_database: str) -> Iterator[PostgrestTestServer]:
    """The PostgREST-protocol server over the session's database."""
    with PostgrestTestServer(dsn(project_database), KEY) as server:
        yield server


@pytest.fixture
def supabase_env(postgrest: PostgrestTestServer, project_database: str) -> dict[str, str]:
    """Environment selecting the test project, with its direct connection for migrations
    applied when a store is first used (``ARAGORA_AUTO_MIGRATE=1``: off by default)."""
    return {"SUPABASE_URL": postgrest.url, "SUPABASE_KEY": KEY,
            "SUPABASE_DB_URL": dsn(project_database), "ARAGORA_AUTO_MIGRATE": "1"}


@pytest.fixture
def supabase_backend(supabase_env: dict[str, str],
                     project_database: str) -> Iterator[SupabaseBackend]:
    """An open backend on the test project with empty tables, closed after the test."""
    empty_tables(project_database)
    registry = Registry(env=supabase_env)
    backend = registry.active()
    assert isinstance(backend, SupabaseBackend)
    yield backend
    registry.close()


@pytest.fixture
def admin_of(project_database: str) -> Iterator[Any]:
    """An autocommit superuser connection to the session's database."""
    conn = admin_connection(project_database)
    yield conn
    conn.close()


@pytest.fixture
def fresh_project() -> Iterator[tuple[PostgrestTestServer, str]]:
    """Another project: a new empty database (no tables) behind its own test server."""
    name = make_database()
    server = PostgrestTestServer(dsn(name), KEY).start()
    yield server, name
    server.stop()
    remove_database(name)
