"""The shared SQL stores and which logical database each one lives in.

Each store's module is imported when that store is first built (or its class is named
here), so a process using one store does not pay for importing all eleven.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.stores.protocols import StoreKind

if TYPE_CHECKING:
    from aragora_storage_core.columns import ColumnCipher
    from aragora_storage_core.settings import Settings
    from aragora_storage_core.sql.database import SQLDatabase

StoreFactory = Callable[["SQLDatabase", "Settings", "ColumnCipher"], Any]

#: Class name -> the module (in this package) that defines it.
_MODULES = {
    "SQLUserStore": "accounts", "SQLOrganizationStore": "accounts",
    "SQLAuditStore": "activity", "SQLUsageStore": "activity",
    "SQLShareLinkStore": "links", "SQLWebhookStore": "links",
    "SQLTokenBlacklistStore": "tokens",
    "SQLNomicCycleStore": "nomic", "SQLDebateArtifactStore": "nomic",
    "SQLStreamEventStore": "nomic", "SQLAgentMetricsStore": "nomic",
}


def __getattr__(name: str) -> Any:
    """The store class ``name``, its module imported on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def _plain(name: str) -> StoreFactory:
    return lambda db, s, c: __getattr__(name)(db)


#: Store kind -> (logical database it lives in, how to build it).
SQL_STORES: Mapping[StoreKind, tuple[DatabaseType, StoreFactory]] = {
    StoreKind.USERS: (DatabaseType.USERS, _plain("SQLUserStore")),
    StoreKind.ORGANIZATIONS: (DatabaseType.USERS, _plain("SQLOrganizationStore")),
    StoreKind.AUDIT: (
        DatabaseType.USERS,
        lambda db, s, c: __getattr__("SQLAuditStore")(db, s.audit_retention_days),
    ),
    StoreKind.USAGE: (
        DatabaseType.USERS,
        lambda db, s, c: __getattr__("SQLUsageStore")(db, s.usage_retention_days),
    ),
    StoreKind.SHARE_LINKS: (DatabaseType.USERS, _plain("SQLShareLinkStore")),
    StoreKind.WEBHOOKS: (
        DatabaseType.USERS, lambda db, s, c: __getattr__("SQLWebhookStore")(db, c)
    ),
    StoreKind.TOKEN_BLACKLIST: (DatabaseType.TOKEN_BLACKLIST, _plain("SQLTokenBlacklistStore")),
    StoreKind.NOMIC_CYCLES: (DatabaseType.NOMIC, _plain("SQLNomicCycleStore")),
    StoreKind.DEBATE_ARTIFACTS: (DatabaseType.NOMIC, _plain("SQLDebateArtifactStore")),
    StoreKind.STREAM_EVENTS: (DatabaseType.NOMIC, _plain("SQLStreamEventStore")),
    StoreKind.AGENT_METRICS: (DatabaseType.NOMIC, _plain("SQLAgentMetricsStore")),
}

__all__ = ["SQL_STORES", *sorted(_MODULES)]
