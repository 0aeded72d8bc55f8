"""What the Supabase tests share: the session key, test databases, environments."""

from __future__ import annotations

import secrets

from aragora_storage_supabase.backend import TABLES

from tests.postgres.conftest import HOST, PORT, USER, admin_connection, drop_database
from tests.supabase.postgrest_test_server import PostgrestTestServer

#: The test projects' key: random per session, so finding it in output means it leaked.
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


def empty_tables(database: str) -> None:
    """Remove every row of the seed's tables (when they exist) and restart their ids."""
    admin = admin_connection(database)
    with admin.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        present = [t for (t,) in cursor.fetchall() if t in TABLES]
        if present:
            cursor.execute(f"TRUNCATE {', '.join(present)} RESTART IDENTITY")
    admin.close()



def env_of(server: PostgrestTestServer, database: str | None = None) -> dict[str, str]:
    """Environment selecting ``server``; with ``database``, its direct connection too, and
    migrations applied when a store is first used (off by default on Supabase)."""
    env = {"SUPABASE_URL": server.url, "SUPABASE_KEY": KEY}
    if database is not None:
        env["SUPABASE_DB_URL"] = dsn(database)
        env["ARAGORA_AUTO_MIGRATE"] = "1"
    return env
