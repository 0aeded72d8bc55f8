"""Fixtures for the example MariaDB plugin: a fresh, uniquely named database per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from tests.conftest import service_unavailable

HOST, PORT, USER = "127.0.0.1", 3306, "root"
#: Server backends migrate only when asked: the tests ask on first use.
AUTO = {"ARAGORA_AUTO_MIGRATE": "1"}

pytestmark = pytest.mark.mariadb


@pytest.fixture(scope="session")
def maria_admin() -> Iterator[Any]:
    """An autocommit root connection to the machine's MariaDB (skip/fail if down)."""
    import pymysql

    try:
        conn = pymysql.connect(host=HOST, port=PORT, user=USER, autocommit=True,
                               connect_timeout=3)
    except pymysql.err.OperationalError:
        service_unavailable("MariaDB")
    yield conn
    conn.close()


@pytest.fixture
def make_maria_url(maria_admin: Any) -> Iterator[Any]:
    """A function making fresh empty databases (returns each one's URL); dropped after."""
    made: list[str] = []

    def make() -> str:
        name = f"aragora_test_{secrets.token_hex(6)}"
        with maria_admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        made.append(name)
        return f"mariadb://{USER}@{HOST}:{PORT}/{name}"

    yield make
    with maria_admin.cursor() as cursor:
        for name in made:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def maria_url(make_maria_url: Any) -> str:
    """The URL of a fresh empty database."""
    url: str = make_maria_url()
    return url


@pytest.fixture
def conformance_backend(maria_url: str) -> Iterator[Backend]:
    """The conformance kit's backend: MariaDB on an empty database."""
    registry = Registry(env=AUTO)
    backend = registry.connect(maria_url)
    yield backend
    registry.close()

