"""Fixtures for the Supabase backend: the real PostgREST over real PostgreSQL.

One database (set up as a Supabase project's) and one PostgREST with its gateway per test
session (dropped and stopped after); each test starts from empty tables. The keys are
signed with a secret random per session, so a test that looks for one in output finds
it only if it really leaked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aragora_storage_supabase.backend import SupabaseBackend

from aragora_storage_core.registry import Registry
from tests.postgres.conftest import admin_connection
from tests.supabase.supabase_support import (
    TestProject,
    empty_tables,
    env_of,
    make_database,
    remove_database,
)


@pytest.fixture(scope="session")
def project_database() -> Iterator[str]:
    """The session's database, a Supabase project's."""
    name = make_database()
    yield name
    remove_database(name)


@pytest.fixture(scope="session")
def postgrest(project_database: str) -> Iterator[TestProject]:
    """PostgREST and the gateway over the session's database."""
    with TestProject(project_database) as project:
        yield project


@pytest.fixture
def supabase_env(postgrest: TestProject, project_database: str) -> dict[str, str]:
    """Environment selecting the test project, with its direct connection for migrations."""
    return env_of(postgrest, project_database)


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
def fresh_project() -> Iterator[tuple[TestProject, str]]:
    """Another project: a new empty database (no tables) behind its own PostgREST."""
    name = make_database()
    project = TestProject(name).start()
    yield project, name
    project.stop()
    remove_database(name)
