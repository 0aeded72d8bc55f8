"""The conformance kit's tests for the stores Supabase serves, through the unmodified
supabase client against the PostgREST-protocol test server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.testing.fixtures import conformance_registry
from aragora_storage_core.testing.health import TestHealthConformance, TestMigrationConformance
from aragora_storage_core.testing.stores import (
    TestAgentMetricsStoreConformance,
    TestDebateArtifactStoreConformance,
    TestNomicCycleStoreConformance,
    TestStreamEventStoreConformance,
)

__all__ = [
    "TestAgentMetricsStoreConformance",
    "TestDebateArtifactStoreConformance",
    "TestHealthConformance",
    "TestMigrationConformance",
    "TestNomicCycleStoreConformance",
    "TestStreamEventStoreConformance",
    "conformance_registry",
]

pytestmark = pytest.mark.postgres


@pytest.fixture
def conformance_backend(supabase_backend: Backend) -> Iterator[Backend]:
    """The Supabase backend on the test project, tables empty."""
    yield supabase_backend
