"""Every conformance test a full SQL backend runs: ``from ...testing.suite import *``."""

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
