"""Bad URLs and unreachable servers: one clean line with a hint, never the password."""

from __future__ import annotations

import traceback
from typing import Any
from urllib.parse import quote

import pytest

from aragora_storage_core.cli import main
from aragora_storage_core.errors import BackendUnavailableError, ConfigurationError, StorageError
from aragora_storage_core.registry import Registry
from tests.postgres.cluster import PASSWORD, ROLE, free_port
from tests.postgres.conftest import AUTO, HOST, PORT, USER

pytestmark = pytest.mark.postgres
WRONG = "wr0ng p@ss/w%rd 'x\""


def connect_error(url: str) -> StorageError:
    with pytest.raises(StorageError) as info:
        Registry(env=AUTO).connect(url)
    return info.value


def assert_clean(error: BaseException, *secrets: str) -> None:
    """One line, a hint, no driver text chained, no secret anywhere in the rendering."""
    assert isinstance(error, StorageError) and error.hint
    assert "\n" not in error.message
    assert error.__cause__ is None and error.__suppress_context__
    shown = "".join(traceback.format_exception(error)) + str(error) + repr(error)
    for secret in secrets:
        assert secret not in shown
        assert quote(secret, safe="") not in shown


@pytest.mark.slow
@pytest.mark.parametrize("password", [WRONG, quote(WRONG, safe="")])
def test_wrong_password_error_never_shows_the_password(scratch_cluster: Any,
                                                       password: str) -> None:
    url = f"postgresql://{ROLE}:{password}@127.0.0.1:{scratch_cluster.port}/aragora"
    error = connect_error(url)
    assert isinstance(error, BackendUnavailableError)
    assert "rejected the password of user aragora" in error.message
    assert_clean(error, WRONG, PASSWORD)


@pytest.mark.slow
def test_password_with_special_characters_connects_raw_or_percent_encoded(
        scratch_cluster: Any) -> None:
    for password in (PASSWORD, quote(PASSWORD, safe="")):
        url = f"postgresql://{ROLE}:{password}@127.0.0.1:{scratch_cluster.port}/aragora"
        backend = Registry(env=AUTO).connect(url)
        assert backend.database.fetch_one("SELECT current_user") == (ROLE,)
        assert PASSWORD not in repr(backend.url) + str(backend.describe())
        backend.close()


def test_unknown_database_names_it_and_says_how_to_create_it(pg_admin: Any) -> None:
    error = connect_error(f"postgresql://{USER}@{HOST}:{PORT}/aragora_no_such_db")
    assert error.message == (f"database 'aragora_no_such_db' does not exist on PostgreSQL at "
                             f"{HOST}:{PORT}/aragora_no_such_db")
    assert "createdb aragora_no_such_db" in error.hint
    assert_clean(error)


def test_unknown_database_whose_name_holds_role_is_still_an_unknown_database(
        pg_admin: Any) -> None:
    error = connect_error(f"postgresql://{USER}@{HOST}:{PORT}/aragora_roles_missing")
    assert error.message.startswith("database 'aragora_roles_missing' does not exist")
    assert "createdb aragora_roles_missing" in error.hint


def test_unknown_user_names_it_and_says_how_to_create_it(pg_admin: Any) -> None:
    error = connect_error(f"postgresql://aragora_no_such_user@{HOST}:{PORT}/postgres")
    assert error.message == f"PostgreSQL at {HOST}:{PORT}/postgres has no user aragora_no_such_user"
    assert "createuser aragora_no_such_user" in error.hint


def test_server_down_is_one_line_naming_host_and_port() -> None:
    port = free_port()
    error = connect_error(f"postgresql://{ROLE}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/x")
    assert error.message == f"cannot reach PostgreSQL at 127.0.0.1:{port}/x"
    assert_clean(error, PASSWORD)


def test_unknown_connection_option_is_a_configuration_error(pg_admin: Any) -> None:
    error = connect_error(f"postgresql://{USER}:{quote(PASSWORD)}@{HOST}:{PORT}/postgres"
                          "?sslmod=require")
    assert isinstance(error, ConfigurationError)
    assert "'sslmod'" in error.message
    assert_clean(error, PASSWORD)


@pytest.mark.parametrize(("query", "option"), [
    ("sslmode=bogus", "sslmode"), ("connect_timeout=soon", "connect_timeout")])
def test_invalid_option_value_is_a_configuration_error_naming_the_option(
        pg_admin: Any, query: str, option: str) -> None:
    error = connect_error(f"postgresql://{USER}:{quote(PASSWORD)}@{HOST}:{PORT}/postgres?{query}")
    assert isinstance(error, ConfigurationError)
    assert error.message == f"invalid value of connection option {option!r} in the PostgreSQL URL"
    assert_clean(error, PASSWORD)


@pytest.mark.parametrize("url", [
    f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:notaport/aragora",
    f"postgresql://{ROLE}:{PASSWORD}@host with space:5432/aragora",
    f"postgres://{ROLE}:{PASSWORD}@127.0.0.1:5432/aragora?novalue",
])
def test_malformed_url_fails_in_the_cli_with_one_line_and_no_password(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", url, "migrate", "--status"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith("error: malformed") and lines[1].startswith("hint: ")
    assert len(lines) == 2 and captured.out == ""
    for secret in (PASSWORD, quote(PASSWORD, safe=""), "w%rd", "q'"):
        assert secret not in captured.err


def test_unreachable_server_fails_in_the_cli_with_exit_1_and_no_password(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql+psycopg2://{ROLE}:{PASSWORD}@127.0.0.1:{free_port()}/aragora"
    assert main(["--url", url, "migrate", "--status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach PostgreSQL at 127.0.0.1:")
    assert PASSWORD not in err and "w%rd" not in err


@pytest.mark.slow
def test_password_given_as_a_query_parameter_is_used_and_never_shown(
        scratch_cluster: Any, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = (f"postgresql://{ROLE}@127.0.0.1:{scratch_cluster.port}/aragora"
           f"?password={quote(PASSWORD, safe='')}&sslpassword=key-{quote(PASSWORD, safe='')}")
    backend = Registry(env=AUTO).connect(url)
    assert backend.database.fetch_one("SELECT current_user") == (ROLE,)
    shown = str(backend.url) + repr(backend.url) + str(backend.describe())
    backend.close()
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["doctor", "-v"]) == 0
    assert main(["doctor", "--json"]) == 0
    shown += "".join(capsys.readouterr())
    assert "password=***" in shown and "sslpassword=***" in shown
    for secret in (PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD), "w%rd", "w%25rd"):
        assert secret not in shown


def test_keepalives_are_on_by_default_and_the_url_can_change_them(pg_url: str) -> None:
    from aragora_storage_postgres.backend import PostgresBackend

    backend = Registry(env=AUTO).connect(f"{pg_url}?keepalives_idle=45")
    assert isinstance(backend, PostgresBackend)
    try:
        lease = backend.database.pool.acquire()
        try:
            params = lease.raw.get_dsn_parameters()
        finally:
            backend.database.pool.release(lease)
    finally:
        backend.close()
    assert (params["keepalives"], params["keepalives_idle"]) == ("1", "45")
    assert params["keepalives_count"] == "3"



def test_a_host_list_goes_to_libpq_which_takes_the_first_that_answers(pg_database: str) -> None:
    dead = free_port()
    backend = Registry(env=AUTO).connect(
        f"postgresql://{USER}@{HOST}:{dead},{HOST}:{PORT}/{pg_database}?connect_timeout=2")
    try:
        database = next(iter(backend.databases()))[1]
        assert database.fetch_one("SELECT current_database()")[0] == pg_database
        assert f"{HOST}:{dead},{HOST}:{PORT}/" in str(backend.url)
    finally:
        backend.close()
