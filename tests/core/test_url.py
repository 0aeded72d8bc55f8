"""Parsing database URLs: every spelling, and passwords that never show."""

from __future__ import annotations

import pytest

from aragora_storage_core.errors import InvalidURLError
from aragora_storage_core.url import parse_url

SECRET_PASSWORDS = ["p@ss", "pa/ss", "100%sure", "with space", "q'u\"ote", "a@b/c%d e"]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
def test_postgres_spellings_mean_the_same_backend(scheme: str) -> None:
    url = parse_url(f"{scheme}://user:pw@db.example.com:6543/aragora?sslmode=require")
    assert url.scheme == "postgresql"
    assert (url.username, url.password, url.host, url.port, url.database) == \
        ("user", "pw", "db.example.com", 6543, "aragora")
    assert url.params == {"sslmode": "require"}


@pytest.mark.parametrize("password", SECRET_PASSWORDS)
def test_unencoded_special_passwords_parse_and_never_render(password: str) -> None:
    url = parse_url(f"postgresql://user:{password}@host:5432/db")
    assert url.password == password
    assert (url.host, url.port, url.database) == ("host", 5432, "db")
    for text in (str(url), repr(url), url.render()):
        assert password not in text
        assert "***" in text or "host" in text


def test_percent_encoded_password_is_decoded() -> None:
    assert parse_url("postgresql://u:p%40ss%2Fx@h/db").password == "p@ss/x"


def test_sqlite_urls_relative_absolute_and_memory() -> None:
    assert parse_url("sqlite:///data/app.db").database == "data/app.db"
    assert parse_url("sqlite:////var/lib/app.db").database == "/var/lib/app.db"
    assert parse_url("sqlite:///:memory:").database == ":memory:"
    assert parse_url("sqlite:///.nomic?mode=consolidated").params == {"mode": "consolidated"}


def test_redis_urls_keep_tls_scheme_and_db() -> None:
    url = parse_url("rediss://:secret@cache.example.com:6380/2")
    assert (url.scheme, url.password, url.host, url.port, url.database) == \
        ("rediss", "secret", "cache.example.com", 6380, "2")
    assert "secret" not in str(url)


def test_ipv6_host() -> None:
    url = parse_url("postgresql://u@[::1]:5432/db")
    assert (url.host, url.port) == ("::1", 5432)
    assert url.is_local


@pytest.mark.parametrize("text", [
    "not a url",
    "postgresql://user:hunter2@host:notaport/db",
    "postgresql://user:hunter2@host:99999/db",
    "postgresql://user:hunter2@ho st/db",
    "postgresql://user:hunter2@host/db?novalue",
])
def test_malformed_urls_raise_without_echoing_the_input(text: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        parse_url(text)
    assert "hunter2" not in str(caught.value)
    assert caught.value.hint


def test_with_params_adds_query_parameters() -> None:
    url = parse_url("sqlite:///x").with_params(mode="legacy")
    assert url.params == {"mode": "legacy"}


def test_host_lists_keep_every_host_and_render_masked() -> None:
    url = parse_url("redis+sentinel://:s3cret@s1:26379,[::1]:26380,s3/mymaster/0"
                    "?sentinel_password=other")
    assert (url.scheme, url.driver, url.host, url.port) == ("redis", "sentinel", "s1", 26379)
    assert url.addresses == (("s1", 26379), ("::1", 26380), ("s3", None))
    assert url.database == "mymaster/0"
    assert url.render() == ("redis+sentinel://:***@s1:26379,[::1]:26380,s3/mymaster/0"
                            "?sentinel_password=***")
    assert "s3cret" not in repr(url) and "other" not in str(url)
    assert parse_url(url.render(hide_password=False)) == url


def test_one_host_has_one_address_and_locality_covers_every_host() -> None:
    assert parse_url("redis://h:1/0").addresses == (("h", 1),)
    assert parse_url("redis+cluster://127.0.0.1:7000,localhost:7001").is_local
    assert not parse_url("redis+cluster://127.0.0.1:7000,cache.example.com:7001").is_local


@pytest.mark.parametrize("text", ["redis+cluster://h1:7000,,h2:7001",
                                  "redis+cluster://h1:7000,h2:port"])
def test_malformed_host_lists_raise(text: str) -> None:
    with pytest.raises(InvalidURLError, match="malformed redis URL"):
        parse_url(text)


def test_an_option_value_with_a_slash_after_a_url_without_a_path() -> None:
    url = parse_url("rediss+cluster://:pw@h1:7000,h2:7001?ssl_ca_certs=/etc/ssl/ca.pem&prefix=a:")
    assert (url.addresses, url.database) == ((("h1", 7000), ("h2", 7001)), None)
    assert url.params == {"ssl_ca_certs": "/etc/ssl/ca.pem", "prefix": "a:"}
    assert parse_url("redis://h?ssl_ca_certs=/x/ca.pem").params == {"ssl_ca_certs": "/x/ca.pem"}
