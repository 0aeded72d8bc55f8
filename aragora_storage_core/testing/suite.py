"""Every conformance test: ``from ...testing.suite import *``; each class skips by the
stores the backend declares (``stores_served``)."""

from aragora_storage_core.testing.fixtures import conformance_empty_backend, conformance_registry
from aragora_storage_core.testing.health import (
    TestBackupConformance,
    TestHealthConformance,
    TestMigrationConformance,
)
from aragora_storage_core.testing.stores import (
    TestAgentMetricsStoreConformance,
    TestAuditStoreConformance,
    TestCacheStoreConformance,
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
from aragora_storage_core.testing.strict import TestStrictConformance
from aragora_storage_core.testing.tasks import TestAsyncTasksConformance

__all__ = [
    "TestAgentMetricsStoreConformance",
    "TestAsyncTasksConformance",
    "TestAuditStoreConformance",
    "TestBackupConformance",
    "TestCacheStoreConformance",
    "TestDebateArtifactStoreConformance",
    "TestHealthConformance",
    "TestMigrationConformance",
    "TestNomicCycleStoreConformance",
    "TestOrganizationStoreConformance",
    "TestShareLinkStoreConformance",
    "TestStreamEventStoreConformance",
    "TestStrictConformance",
    "TestTokenBlacklistConformance",
    "TestUsageStoreConformance",
    "TestUserStoreConformance",
    "TestWebhookStoreConformance",
    "conformance_empty_backend",
    "conformance_registry",
]
