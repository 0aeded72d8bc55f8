"""The conformance kit's tests for every store Supabase serves (all but the cache),
through the unmodified supabase client against the real PostgREST; nothing skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.testing.fixtures import conformance_registry
from aragora_storage_core.testing.health import (
    TestBackupConformance,
    TestHealthConformance,
    TestMigrationConformance,
)
from aragora_storage_core.testing.stores import (
    TestAgentMetricsStoreConformance,
    TestAuditStoreConformance,
    TestDebateArtifactStoreConformance,
    TestNomicCycleStoreConformance,
    TestOrganizationStoreConformance,
    TestShareLinkStoreConformance,
    TestStreamEventStoreConformance,
    TestTokenBlacklistConformance,
    TestUsageStoreConformance,
    TestUserStoreConformance,
    TestWebhookStoreConformance,
)

__all__ = [
    "TestAgentMetricsStoreConformance",
    "TestAuditStoreConformance",
    "TestBackupConformance",
    "TestDebateArtifactStoreConformance",
    "TestHealthConformance",
    "TestMigrationConformance",
    "TestNomicCycleStoreConformance",
    "TestOrganizationStoreConformance",
    "TestShareLinkStoreConformance",
    "TestStreamEventStoreConformance",
    "TestTokenBlacklistConformance",
    "TestUsageStoreConformance",
    "TestUserStoreConformance",
    "TestWebhookStoreConformance",
    "conformance_registry",
]

pytestmark = pytest.mark.postgres


@pytest.fixture
def conformance_backend(supabase_backend: Backend) -> Iterator[Backend]:
    """The Supabase backend on the test project, tables empty."""
    yield supabase_backend
