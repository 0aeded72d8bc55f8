"""The conformance kit's tests for the stores Redis serves, against the shared server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.fixtures import conformance_registry
from aragora_storage_core.testing.health import (
    TestBackupConformance,
    TestHealthConformance,
    TestMigrationConformance,
)
from aragora_storage_core.testing.stores import (
    TestCacheStoreConformance,
    TestStreamEventStoreConformance,
    TestTokenBlacklistConformance,
)

__all__ = [
    "TestBackupConformance",
    "TestCacheStoreConformance",
    "TestHealthConformance",
    "TestMigrationConformance",
    "TestStreamEventStoreConformance",
    "TestTokenBlacklistConformance",
    "conformance_registry",
]


@pytest.fixture
def conformance_backend(redis_url: str) -> Iterator[Backend]:
    """An open Redis backend under a prefix of its own (SCAN + UNLINK cleans it after)."""
    backend = Registry(env={}).connect(redis_url)
    yield backend
    backend.close()
