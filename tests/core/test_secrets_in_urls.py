"""A password or key, however mangled its URL or variable, never shows anywhere.

Each case runs real commands in-process (real parsing, real drivers, real connection
attempts to 127.0.0.1) and looks for the secret in stdout, stderr, every log record at
DEBUG, the text and whole traceback chain of any exception, and every file name created.
"""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from aragora_storage_core.cli import main
from aragora_storage_core.errors import StorageError
from aragora_storage_core.registry import Registry

#: The part of every secret below that must never appear, in whole or as the host.
CORE = "Zq9hunter2"
SECRETS = [f"{CORE}", f"pa@{CORE}", f"p@s/s?w{CORE}%", f"{CORE} x:y#z"]

URL_SHAPES = [
    "postgresql://app:{s}@127.0.0.1:5432/db",
    "postgresql://app@127.0.0.1/db?password={s}",
    "postgresql://app@127.0.0.1:5432/db?sslmode=require&password={s}",
    "postgresql://app:{s}@127.0.0.1:notaport/db",
    "postgresql://app:{s}@@127.0.0.1/db",
    "postgresql://app:{s}127.0.0.1/db",
    "postgresql://app:{s}@127.0.0.1/db?pasword={s}",
    "postgresql://app:{s}@127.0.0.1/db?sslmode=bogus",
    "postgresql://app:{s}@ho st/db",
    "postgres:/app:{s}@127.0.0.1/db",
    "postgresql+psycopg2://app:{s}@127.0.0.1:5432/db?connect_timeout=2",
    "redis://:{s}@127.0.0.1:1/0?connect_timeout=1&retries=0",
    "redis://default:{s}@127.0.0.1:6379/notanumber",
    "redis://:{s}@127.0.0.1:6379/0?pasword={s}",
    "redis://127.0.0.1:6379/0?password={s}",
    "redis://:{s}@127.0.0.1:6379/0?prefix=secret-test:",
    "sqlite://:{s}@host/path",
    "sqlite://app:{s}@localhost/app.db",
    "sqlite:///app.db?key={s}",
    "sqlite:///app.db?hexkey={s}",
    "sqlite:///app.db?mode=consolidated&cipher_key={s}",
    "sqlcipher://:{s}@/app.db",
]
COMMANDS = [["doctor", "-v"], ["doctor", "--json", "-v"], ["migrate", "--status"],
            ["migrate", "--migrate"]]


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A local TCP port that accepts connections and never answers (not a server)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def _names_under(root: Path) -> str:
    return "\n".join(str(path.relative_to(root)) for path in root.rglob("*"))


def _assert_nowhere(secret: str, texts: list[str], where: Path) -> None:
    for text in [*texts, _names_under(where)]:
        for needle in (secret, CORE):
            assert needle not in text, text[-2000:]


def _connect_text(url: str, env: dict[str, str]) -> str:
    """Every text an application could see when it connects with ``url`` directly."""
    registry = Registry(env=env)
    try:
        registry.connect(url).store("users").count()
    except Exception as error:  # any failure's text is what we inspect
        return "".join(traceback.format_exception(error)) + repr(error)
    finally:
        registry.close()
    return ""


#: (shape, secret) pairs. A secret holding a raw ``@`` in a URL that has no other ``@``
#: is a valid URL whose host follows that ``@``: no parser can tell, so it is left out.
CASES = [(shape, secret) for shape in URL_SHAPES for secret in SECRETS
         if "@" in shape or "@" not in secret]


@pytest.mark.parametrize(("shape", "secret"), CASES)
def test_a_secret_in_a_mangled_url_is_never_shown(
        shape: str, secret: str, clean_environment: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    url = shape.format(s=secret)
    caplog.set_level(logging.DEBUG)
    codes = [main(["--url", url, *command]) for command in COMMANDS]
    monkeypatch.setenv("DATABASE_URL", url)
    codes.append(main(["doctor"]))
    shown = capsys.readouterr()
    connected = _connect_text(url, {"DATABASE_URL": url})
    _assert_nowhere(secret, [shown.out, shown.err, caplog.text, connected], clean_environment)
    assert "Traceback" not in shown.err


@pytest.mark.parametrize("shape", [
    "sqlite://:{s}@host/path", "sqlite://{s}@localhost/data", "sqlite:///app.db?key={s}",
    "sqlite:///data?hexkey={s}", "sqlite:///app.db?pasword={s}",
])
def test_a_sqlite_url_with_credentials_or_unknown_options_is_refused_and_creates_nothing(
        shape: str, clean_environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", shape.format(s=CORE), "migrate", "--migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and CORE not in err
    assert list(clean_environment.iterdir()) == []


@pytest.mark.parametrize("option", ["key", "hexkey"])
def test_a_key_in_a_sqlite_url_gets_the_variable_to_use(
        option: str, clean_environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", f"sqlite:///app.db?{option}={CORE}", "doctor"]) == 1
    out = capsys.readouterr().out
    assert f"unknown option '{option}' in the sqlite URL" in out
    assert "ARAGORA_SQLITE_KEY" in out


def test_unknown_options_are_errors_on_every_backend(listening_port: int) -> None:
    for url in ("sqlite:///app.db?timeout=5", "redis://127.0.0.1:6379/0?timeout=5",
                "postgresql://127.0.0.1:5432/postgres?timeout=5"):
        with pytest.raises(StorageError, match=r"unknown.*option 'timeout'"):
            Registry(env={}).connect(url).store("users" if "redis" not in url
                                                 else "cache").count()
    env = {"SUPABASE_URL": f"http://127.0.0.1:{listening_port}?timeout=5",
           "SUPABASE_KEY": "sb_secret_x"}
    with pytest.raises(StorageError, match="unknown option 'timeout' in the SUPABASE_URL"):
        Registry(env=env).active()


def test_a_password_query_option_holding_an_at_sign_is_not_read_as_the_host() -> None:
    from aragora_storage_core.url import parse_url

    url = parse_url(f"postgresql://app@db.example.com/app?password=pa@{CORE}")
    assert (url.username, url.host, url.database) == ("app", "db.example.com", "app")
    assert url.params["password"] == f"pa@{CORE}"
    assert str(url) == "postgresql://app@db.example.com/app?password=***"


@pytest.mark.parametrize("key", [f"sb_secret_{CORE}\r\nX-Injected: 1", f"eyJ0.{CORE}\r.sig",
                                 f"sb_secret_{CORE}\nsecond line", f"sb_secret_{CORE} trailing"])
def test_a_supabase_key_with_a_line_break_is_refused_unquoted(
        key: str, listening_port: int, clean_environment: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SUPABASE_URL", f"http://127.0.0.1:{listening_port}")
    monkeypatch.setenv("SUPABASE_KEY", key)
    monkeypatch.setenv("SUPABASE_TIMEOUT", "2")  # only a bug would wait for an answer
    caplog.set_level(logging.DEBUG)
    codes = [main(["doctor", "-v"]), main(["migrate", "--status"])]
    shown = capsys.readouterr()
    assert codes[0] == 1 and codes[1] != 0
    assert "SUPABASE_KEY contains a line break" in shown.out + shown.err
    connected = _connect_text(f"http://127.0.0.1:{listening_port}",
                              {"SUPABASE_URL": f"http://127.0.0.1:{listening_port}",
                               "SUPABASE_KEY": key})
    _assert_nowhere(CORE, [shown.out, shown.err, caplog.text, connected], clean_environment)
