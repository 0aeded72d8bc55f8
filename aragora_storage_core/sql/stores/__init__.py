"""The shared SQL stores and which logical database each one lives in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aragora_storage_core.columns import ColumnCipher
from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.settings import Settings
from aragora_storage_core.sql.database import SQLDatabase
from aragora_storage_core.sql.stores.accounts import SQLOrganizationStore, SQLUserStore
from aragora_storage_core.sql.stores.activity import SQLAuditStore, SQLUsageStore
from aragora_storage_core.sql.stores.links import SQLShareLinkStore, SQLWebhookStore
from aragora_storage_core.sql.stores.nomic import (
    SQLAgentMetricsStore,
    SQLDebateArtifactStore,
    SQLNomicCycleStore,
    SQLStreamEventStore,
)
from aragora_storage_core.sql.stores.tokens import SQLTokenBlacklistStore
from aragora_storage_core.stores.protocols import StoreKind

StoreFactory = Callable[[SQLDatabase, Settings, ColumnCipher], Any]

#: Store kind -> (logical database it lives in, how to build it).
SQL_STORES: Mapping[StoreKind, tuple[DatabaseType, StoreFactory]] = {
    StoreKind.USERS: (DatabaseType.USERS, lambda db, s, c: SQLUserStore(db)),
    StoreKind.ORGANIZATIONS: (DatabaseType.USERS, lambda db, s, c: SQLOrganizationStore(db)),
    StoreKind.AUDIT: (
        DatabaseType.USERS, lambda db, s, c: SQLAuditStore(db, s.audit_retention_days)
    ),
    StoreKind.USAGE: (
        DatabaseType.USERS, lambda db, s, c: SQLUsageStore(db, s.usage_retention_days)
    ),
    StoreKind.SHARE_LINKS: (DatabaseType.USERS, lambda db, s, c: SQLShareLinkStore(db)),
    StoreKind.WEBHOOKS: (DatabaseType.USERS, lambda db, s, c: SQLWebhookStore(db, c)),
    StoreKind.TOKEN_BLACKLIST: (
        DatabaseType.TOKEN_BLACKLIST, lambda db, s, c: SQLTokenBlacklistStore(db)
    ),
    StoreKind.NOMIC_CYCLES: (DatabaseType.NOMIC, lambda db, s, c: SQLNomicCycleStore(db)),
    StoreKind.DEBATE_ARTIFACTS: (
        DatabaseType.NOMIC, lambda db, s, c: SQLDebateArtifactStore(db)
    ),
    StoreKind.STREAM_EVENTS: (DatabaseType.NOMIC, lambda db, s, c: SQLStreamEventStore(db)),
    StoreKind.AGENT_METRICS: (DatabaseType.NOMIC, lambda db, s, c: SQLAgentMetricsStore(db)),
}

__all__ = [
    "SQL_STORES",
    "SQLAgentMetricsStore",
    "SQLAuditStore",
    "SQLDebateArtifactStore",
    "SQLNomicCycleStore",
    "SQLOrganizationStore",
    "SQLShareLinkStore",
    "SQLStreamEventStore",
    "SQLTokenBlacklistStore",
    "SQLUsageStore",
    "SQLUserStore",
    "SQLWebhookStore",
]
