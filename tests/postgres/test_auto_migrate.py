"""Server databases are migrated by ``migrate`` only, unless asked (issue 10 item 5).

Auto-migration on first use created the tables in another database than meant when the
URL left the choice to libpq (no database: the user's name; no host: PGHOST or the
local socket). Now a PostgreSQL store on an unmigrated database names the command to
run, and a URL that leaves the destination to libpq's environment is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from aragora_storage_core.cli import main
from aragora_storage_core.errors import ConfigurationError, SchemaNotReadyError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import HOST, PORT, USER


def tables_in(pg_admin: Any, database: str) -> set[str]:
    from tests.postgres.conftest import admin_connection

    conn = admin_connection(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {row[0] for row in cursor.fetchall()}
    finally:
        conn.close()


def test_a_store_on_an_unmigrated_database_names_the_command_and_creates_nothing(
        pg_url: str, pg_database: str, pg_admin: Any) -> None:
    backend = Registry(env={}).connect(pg_url)
    try:
        with pytest.raises(SchemaNotReadyError) as raised:
            backend.store("users")
    finally:
        backend.close()
    assert raised.value.message.startswith(
        f"the postgresql database {pg_url} has no users tables yet (")
    assert raised.value.hint.startswith("run: aragora-storage migrate --migrate")
    assert tables_in(pg_admin, pg_database) == set()


def test_migrate_then_the_store_works(pg_url: str, pg_database: str, pg_admin: Any,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", pg_url, "migrate", "--migrate"]) == 0
    backend = Registry(env={}).connect(pg_url)
    try:
        backend.store("users").create(User(id="u1", email="a@example.com",
                                           password_hash="h", password_salt="s"))
        assert backend.store("users").get_by_id("u1") is not None
    finally:
        backend.close()


def test_auto_migrate_set_explicitly_applies_migrations_on_first_use(
        pg_url: str, pg_database: str, pg_admin: Any) -> None:
    backend = Registry(env={"ARAGORA_AUTO_MIGRATE": "1"}).connect(pg_url)
    try:
        assert backend.store("users").count() == 0
    finally:
        backend.close()
    assert "users" in tables_in(pg_admin, pg_database)


def test_a_url_without_a_database_is_refused_not_sent_to_the_users_database() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Registry(env={}).connect(f"postgresql://{USER}@{HOST}:{PORT}")
    assert raised.value.message == (
        "the PostgreSQL URL names no database (libpq would pick PGDATABASE or the user's"
        " name)")


@pytest.mark.parametrize(("variable", "url"), [
    ("PGHOST", f"postgresql://{USER}@/postgres"),
    ("PGPORT", f"postgresql://{USER}@{HOST}/postgres"),
    ("PGSERVICE", f"postgresql://{USER}@{HOST}:{PORT}/postgres"),
])
def test_libpq_variables_that_would_redirect_the_url_are_refused(
        variable: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "somewhere-else")
    with pytest.raises(ConfigurationError) as raised:
        Registry(env={}).connect(url)
    assert raised.value.message.startswith(f"{variable} is set")


def test_a_url_without_a_host_says_local_socket_in_messages() -> None:
    from aragora_storage_postgres.connection import where

    from aragora_storage_core.url import parse_url

    assert where(parse_url("postgresql://app@/aragora")) == "local socket:5432/aragora"
