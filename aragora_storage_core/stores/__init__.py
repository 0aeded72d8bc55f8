"""Store protocols: what application code may call, whatever the backend."""

from aragora_storage_core.stores.protocols import (
    AgentMetricsStore,
    AuditStore,
    CacheStore,
    DebateArtifactStore,
    NomicCycleStore,
    OrganizationStore,
    ShareLinkStore,
    StoreKind,
    StreamEventStore,
    TokenBlacklistStore,
    UsageStore,
    UserStore,
    WebhookStore,
)

__all__ = [
    "AgentMetricsStore",
    "AuditStore",
    "CacheStore",
    "DebateArtifactStore",
    "NomicCycleStore",
    "OrganizationStore",
    "ShareLinkStore",
    "StoreKind",
    "StreamEventStore",
    "TokenBlacklistStore",
    "UsageStore",
    "UserStore",
    "WebhookStore",
]
