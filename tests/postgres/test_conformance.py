"""The conformance kit against the PostgreSQL backend on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.suite import *  # noqa: F403
from tests.postgres.conftest import AUTO

pytestmark = pytest.mark.postgres


@pytest.fixture
def conformance_backend(pg_url: str) -> Iterator[Backend]:
    """An empty PostgreSQL backend on its own database."""
    backend = Registry(env=AUTO).connect(pg_url)
    yield backend
    backend.close()


@pytest.fixture
def conformance_empty_backend(make_pg_url: Any) -> Iterator[Backend]:
    """A second PostgreSQL backend on another new, empty database."""
    backend = Registry(env={}).connect(make_pg_url())
    yield backend
    backend.close()
