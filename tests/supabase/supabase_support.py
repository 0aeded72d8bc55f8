"""What the Supabase tests share: the project keys, test projects, environments.

A test project is a fresh database of the local PostgreSQL prepared as Supabase's
(:mod:`tests.supabase.postgrest_server`), the real PostgREST over it, and the test
gateway (:mod:`tests.supabase.gateway`) in front, at whose URL the client talks.
"""

from __future__ import annotations

import secrets
import ssl
import tempfile
from pathlib import Path

from aragora_storage_supabase.tables import TABLES

from tests.postgres.conftest import HOST, PORT, USER, admin_connection, drop_database
from tests.supabase.gateway import Gateway
from tests.supabase.postgrest_server import (
    ANON_KEY,
    MAX_ROWS,
    SERVICE_KEY,
    PostgrestServer,
    prepare_database,
)

#: The test projects' service_role key: signed with a secret random per session, so
#: finding it in output means it leaked.
KEY = SERVICE_KEY


def make_database() -> str:
    """A new database ``aragora_supabase_<random>`` set up as a Supabase project's."""
    admin = admin_connection()
    name = f"aragora_supabase_{secrets.token_hex(6)}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    prepare_database(name)
    return name


def remove_database(name: str) -> None:
    """Drop a database made by :func:`make_database`."""
    admin = admin_connection()
    drop_database(admin, name)
    admin.close()


def dsn(name: str) -> str:
    """libpq connection string of database ``name`` (the project's direct connection)."""
    return f"postgresql://{USER}@{HOST}:{PORT}/{name}"


def empty_tables(database: str) -> None:
    """Remove every row of the seed's tables (when they exist) and restart their ids."""
    admin = admin_connection(database)
    with admin.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        present = [t for (t,) in cursor.fetchall() if t in TABLES]
        if present:
            cursor.execute(f"TRUNCATE {', '.join(present)} RESTART IDENTITY")
    admin.close()


class TestProject:
    """PostgREST over ``database`` behind a gateway; ``url`` is what SUPABASE_URL names."""

    __test__ = False

    def __init__(self, database: str, max_rows: int = MAX_ROWS, flavour: str = "hosted",
                 tls: ssl.SSLContext | None = None, upstream_timeout: float = 60.0) -> None:
        self.database = database
        self.postgrest = PostgrestServer(database, max_rows)
        self._config_dir = tempfile.TemporaryDirectory(prefix="aragora-postgrest-")
        self.gateway = Gateway(self.postgrest.url, {SERVICE_KEY, ANON_KEY}, flavour,
                               upstream_timeout, tls)
        self.url = self.gateway.url

    def start(self) -> TestProject:
        """Start PostgREST, then the gateway."""
        self.postgrest.start(Path(self._config_dir.name))
        self.gateway.start()
        return self

    def stop(self) -> None:
        """Stop the gateway and PostgREST."""
        self.gateway.stop()
        self.postgrest.stop()
        self._config_dir.cleanup()

    def __enter__(self) -> TestProject:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def env_of(project: TestProject, database: str | None = None,
           key: str = KEY) -> dict[str, str]:
    """Environment selecting ``project``; with ``database``, its direct connection too, and
    migrations applied when a store is first used (``ARAGORA_AUTO_MIGRATE=1``)."""
    env = {"SUPABASE_URL": project.url, "SUPABASE_KEY": key}
    if database is not None:
        env["SUPABASE_DB_URL"] = dsn(database)
        env["ARAGORA_AUTO_MIGRATE"] = "1"
    return env
