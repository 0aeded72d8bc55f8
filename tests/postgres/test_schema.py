"""Schema files and migrations on PostgreSQL: generated files in sync, migrations apply
cleanly, ``aragora-storage migrate`` works, and two migrators apply each version once."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.dialect import POSTGRES
from aragora_storage_postgres.schema import SCHEMA_DIR, render

from aragora_storage_core.cli import main
from aragora_storage_core.errors import MigrationError
from aragora_storage_core.layout import DATABASES, TABLES, ConsolidatedDatabase
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.migrations.files import discover
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO, admin_connection, drop_database

pytestmark = pytest.mark.postgres

COLUMNS = ("SELECT table_name, column_name, data_type, is_nullable, is_identity"
           " FROM information_schema.columns WHERE table_schema = 'public'"
           " AND table_name <> 'schema_version' ORDER BY 1, 2")


def migrate(registry: Registry, backend: PostgresBackend, action: MigrationAction,
            **kwargs: Any) -> Any:
    return registry.hook.storage_migrate(backend=backend,
                                         request=MigrationRequest(action, **kwargs))


@pytest.mark.parametrize("home", list(ConsolidatedDatabase))
def test_shipped_schema_file_matches_the_migrations(home: ConsolidatedDatabase) -> None:
    shipped = (SCHEMA_DIR / f"{home.value}.sql").read_text(encoding="utf-8")
    assert shipped == render(home), "run: python -m aragora_storage_postgres.schema"


def test_every_core_migration_applies_and_creates_every_table(
        pg_backend: PostgresBackend) -> None:
    registry = Registry(env=AUTO)
    report = migrate(registry, pg_backend, MigrationAction.MIGRATE)
    with_files = {s.db for s in report.databases if s.applied}
    assert all(status.ran for status in report.databases if status.db in with_files)
    assert {"users", "agora_memory", "genesis"} <= with_files
    tables = {row[0] for row in pg_backend.database.fetch_all(
        pg_backend.database.dialect.tables_sql)}
    assert tables == {*TABLES, "schema_version"}
    assert migrate(registry, pg_backend, MigrationAction.STATUS).pending_count == 0


def test_schema_files_give_the_same_tables_as_migrate(
        pg_backend: PostgresBackend, pg_admin: Any) -> None:
    migrate(Registry(env=AUTO), pg_backend, MigrationAction.MIGRATE)
    migrated = pg_backend.database.fetch_all(COLUMNS)
    by_hand = f"{pg_backend.database.label}_files"
    with pg_admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{by_hand}"')
    try:
        conn = admin_connection(by_hand)
        with conn.cursor() as cursor:
            for home in ConsolidatedDatabase:
                cursor.execute((SCHEMA_DIR / f"{home.value}.sql").read_text(encoding="utf-8"))
            cursor.execute(COLUMNS)
            assert cursor.fetchall() == migrated
        conn.close()
    finally:
        drop_database(pg_admin, by_hand)


def test_identity_real_and_blob_columns_get_postgres_types(pg_backend: PostgresBackend) -> None:
    migrate(Registry(env=AUTO), pg_backend, MigrationAction.MIGRATE)
    types = dict(((t, c), (d, i)) for t, c, d, _, i in pg_backend.database.fetch_all(COLUMNS))
    assert types["audit_log", "id"] == ("bigint", "YES")
    assert types["ratings", "elo"] == ("double precision", "NO")
    assert types["embeddings", "embedding"] == ("bytea", "NO")
    assert types["debates", "consensus_reached"] == ("integer", "NO")  # SQLite's 0/1
    assert types["critique_debates", "task"] == ("text", "NO")  # memory.db's debates


def test_downgrade_and_upgrade_again_round_trip(pg_backend: PostgresBackend) -> None:
    registry = Registry(env=AUTO)
    migrate(registry, pg_backend, MigrationAction.MIGRATE)
    down = migrate(registry, pg_backend, MigrationAction.DOWNGRADE, db="users", target=1)
    assert down.databases[0].ran == ["-003_links_webhooks_monthly_usage", "-002_add_lockout"]
    columns = {r[0] for r in pg_backend.database.fetch_all(
        pg_backend.database.dialect.columns_sql, ("users",))}
    assert "locked_until" not in columns
    up = migrate(registry, pg_backend, MigrationAction.MIGRATE, db="users")
    assert up.databases[0].ran == ["002_add_lockout", "003_links_webhooks_monthly_usage"]


def test_cli_migrate_applies_everything_with_a_postgres_database_url(
        pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    assert main(["migrate", "--migrate"]) == 0
    capsys.readouterr()
    assert main(["migrate", "--status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["databases"] and all(not db["pending"] for db in report["databases"])


def test_two_migrators_at_once_apply_each_version_once(pg_url: str) -> None:
    backends = [Registry(env=AUTO).connect(pg_url) for _ in range(2)]
    start = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def run(backend: Any) -> None:
        start.wait()
        try:
            reports.append(migrate(Registry(env=AUTO), backend, MigrationAction.MIGRATE))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for backend in backends:
        backend.close()
    assert errors == []
    ran = [(s.db, name) for report in reports for s in report.databases for name in s.ran]
    assert len(ran) == len(set(ran)) == sum(len(discover(info.type.value)) for info in DATABASES)


def hold_migration_lock(backend: PostgresBackend) -> Any:
    """The lock every migration transaction takes, held in an open transaction of ``backend``."""
    hold = backend.database.transaction()
    hold.__enter__().execute(POSTGRES.migration_lock_sql)
    return hold


def test_a_migrator_waits_for_the_transaction_lock_of_another(
        pg_url: str, pg_admin: Any) -> None:
    holder, waiter = (Registry(env=AUTO).connect(pg_url) for _ in range(2))
    assert isinstance(holder, PostgresBackend)
    done = threading.Event()

    def run() -> None:
        migrate(Registry(env=AUTO), waiter, MigrationAction.MIGRATE)
        done.set()

    hold = hold_migration_lock(holder)
    thread = threading.Thread(target=run)
    thread.start()
    waiting = _wait_for_advisory_waiter(pg_admin, holder.database.label)
    assert waiting and not done.is_set()
    hold.__exit__(None, None, None)  # COMMIT releases the lock
    thread.join()
    assert done.is_set()
    assert _advisory_locks(pg_admin, holder.database.label) == 0
    holder.close()
    waiter.close()


def _advisory_locks(pg_admin: Any, database: str) -> int:
    with pg_admin.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid ="
                       " l.database WHERE d.datname = %s AND l.locktype = 'advisory'",
                       (database,))
        count: int = cursor.fetchone()[0]
        return count


def _wait_for_advisory_waiter(pg_admin: Any, database: str) -> bool:
    """True once a session of ``database`` is blocked on an advisory lock (30 s at most)."""
    with pg_admin.cursor() as cursor:
        for _ in range(300):
            cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid ="
                           " l.database WHERE d.datname = %s AND l.locktype = 'advisory'"
                           " AND NOT l.granted", (database,))
            if cursor.fetchone()[0]:
                return True
            threading.Event().wait(0.1)
    return False


def _new_advisory_waiter(pg_admin: Any, database: str, known: set[int]) -> int:
    """The pid of a session of ``database`` waiting for an advisory lock, not in ``known``."""
    with pg_admin.cursor() as cursor:
        for _ in range(300):
            cursor.execute("SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid ="
                           " l.database WHERE d.datname = %s AND l.locktype = 'advisory'"
                           " AND NOT l.granted", (database,))
            fresh = {row[0] for row in cursor.fetchall()} - known
            if fresh:
                return fresh.pop()
            threading.Event().wait(0.05)
    raise AssertionError(f"no new session of {database} waits for an advisory lock")


def test_migrator_losing_its_connection_while_waiting_for_the_lock_fails_in_one_line(
        pg_url: str, pg_database: str, pg_admin: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    holder = Registry(env=AUTO).connect(pg_url)
    assert isinstance(holder, PostgresBackend)
    codes: list[int] = []
    hold = hold_migration_lock(holder)
    thread = threading.Thread(
        target=lambda: codes.append(main(["--url", pg_url, "migrate", "--migrate"])))
    thread.start()
    # The first statement of a transaction is sent once more on a new connection when its
    # connection was closed, so the migrator waits twice: end both of its sessions.
    ended: set[int] = set()
    for _ in range(2):
        pid = _new_advisory_waiter(pg_admin, pg_database, ended)
        with pg_admin.cursor() as cursor:  # as a server restart would, for that session only
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
        ended.add(pid)
    thread.join()
    hold.__exit__(None, None, None)
    lines = capsys.readouterr().err.splitlines()
    assert codes == [1]
    assert len(lines) == 2 and lines[1].startswith("hint: ")
    assert lines[0] == (f"error: the connection to PostgreSQL at 127.0.0.1:5432/{pg_database}"
                        " was lost during migrations; those applied before it are kept")
    assert migrate(Registry(env={}), holder, MigrationAction.STATUS).pending_count == \
        sum(len(discover(info.type.value)) for info in DATABASES)
    holder.close()


def test_a_failing_user_migration_names_file_statement_and_server_message(
        pg_backend: PostgresBackend, tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "001_broken.sql").write_text(
        "CREATE TABLE demo_a (id INTEGER);\nALTER TABLE demo_missing ADD COLUMN x TEXT;\n")
    with pytest.raises(MigrationError) as caught:
        Migrator(pg_backend.database, "demo", "demo", tmp_path).migrate()
    message = caught.value.message
    assert message.startswith("migration demo/001_broken.sql failed at statement 2: ")
    assert 'relation "demo_missing" does not exist' in message
    assert pg_backend.url.render(hide_password=False) not in message
    assert pg_backend.database.fetch_one(
        "SELECT to_regclass('demo_a') IS NULL") == (True,)


def test_a_database_made_by_schema_files_without_version_records_is_adopted(
        pg_backend: PostgresBackend) -> None:
    database = pg_backend.database
    migrate(Registry(env={}), pg_backend, MigrationAction.MIGRATE, db="users", target=1)
    with database.transaction() as tx:  # as if an application's schema file had made it
        tx.execute("DROP TABLE schema_version")
        tx.execute("INSERT INTO users (id, email, password_hash, password_salt)"
                   " VALUES ('u1', 'a@b', 'h', 's')")
    status = migrate(Registry(env={}), pg_backend, MigrationAction.STATUS, db="users")
    assert status.databases[0].unversioned == ["audit_log", "organizations", "usage_events",
                                               "users"]
    report = migrate(Registry(env={}), pg_backend, MigrationAction.MIGRATE, db="users")
    assert report.databases[0].ran == ["=001_initial", "002_add_lockout",
                                       "003_links_webhooks_monthly_usage"]
    assert database.fetch_one("SELECT failed_login_count FROM users") == (0,)


def test_adoption_compares_the_tables_only_once_it_holds_the_migration_lock(
        pg_url: str, pg_admin: Any) -> None:
    """Another migrator changing the tables while this one waits for the lock (here: a
    table of users/001 dropped) is seen: a comparison made before the lock recorded 001."""
    holder, waiter = (Registry(env=AUTO).connect(pg_url) for _ in range(2))
    assert isinstance(holder, PostgresBackend)
    migrate(Registry(env={}), holder, MigrationAction.MIGRATE, db="users", target=1)
    with holder.database.transaction() as tx:  # tables of users/001, no version records
        tx.execute("DROP TABLE schema_version")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(Registry(env={}), waiter, MigrationAction.MIGRATE, db="users")
        except BaseException as exc:
            errors.append(exc)

    hold = hold_migration_lock(holder)
    thread = threading.Thread(target=run)
    thread.start()
    assert _wait_for_advisory_waiter(pg_admin, holder.database.label)
    with holder.database.transaction() as tx:  # joins the transaction holding the lock
        tx.execute("DROP TABLE usage_events")
    hold.__exit__(None, None, None)  # COMMIT: the drop and the lock's release
    thread.join()
    assert [type(e) for e in errors] == [MigrationError]
    tables = {r[0] for r in holder.database.fetch_all(POSTGRES.tables_sql)}
    assert {"users", "organizations"} <= tables  # left exactly as they were: no version
    assert not {"usage_events", "schema_version"} & tables  # recorded, nothing applied
    holder.close()
    waiter.close()
