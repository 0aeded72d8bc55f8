"""The conformance kit against the real MariaDB: every relational store, migrations,
health and backup, through the example plugin written only against the plugin API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.suite import *  # noqa: F403
from tests.mariadb.conftest import AUTO

pytestmark = pytest.mark.mariadb


@pytest.fixture
def conformance_empty_backend(make_maria_url: Any) -> Iterator[Backend]:
    """A second MariaDB backend on another new, empty database (restore tests)."""
    registry = Registry(env=AUTO)
    backend = registry.connect(make_maria_url())
    yield backend
    registry.close()
