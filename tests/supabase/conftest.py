"""Fixtures for the Supabase backend: a PostgREST-protocol test server over real PostgreSQL.

One uniquely named database and one server per test session (dropped and stopped after);
each test starts from empty tables. The key is random per session, so a test that looks
for it in output finds it only if it really leaked.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from aragora_storage_supabase.backend import TABLES, SupabaseBackend

from aragora_storage_core.registry import Registry
from tests.postgres.conftest import HOST, PORT, USER, admin_connection, drop_database
from tests.supabase.postgrest_test_server import PostgrestTestServer

KEY = f"sb-test-service-role-{secrets.token_hex(12)}"


def make_database() -> str:
    """A new empty database ``aragora_supabase_<random>``; returns its name."""
    admin = admin_connection()
    name = f"aragora_supabase_{secrets.token_hex(6)}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name


def remove_database(name: str) -> None:
    """Drop a database made by :func:`make_database`."""
    admin = admin_connection()
    drop_database(admin, name)
    admin.close()


def dsn(name: str) -> str:
    """libpq connection string of database ``name``."""
    return f"postgresql://{USER}@{HOST}:{PORT}/{name}"


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
    """Environment selecting the test project, with its direct connection for migrations."""
    return {"SUPABASE_URL": postgrest.url, "SUPABASE_KEY": KEY,
            "SUPABASE_DB_URL": dsn(project_database)}


def empty_tables(database: str) -> None:
    """Remove every row of the seed's tables (when they exist) and restart their ids."""
    admin = admin_connection(database)
    with admin.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        present = [t for (t,) in cursor.fetchall() if t in TABLES]
        if present:
            cursor.execute(f"TRUNCATE {', '.join(present)} RESTART IDENTITY")
    admin.close()


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
