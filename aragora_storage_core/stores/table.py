"""The one store table: per store kind, its protocol, its logical database and its shared
SQL implementation. Adding a store is adding one row here (and its pieces).

Implementations are dotted names, imported when the store is first built, so importing
this table (and the core) loads no store module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.records import dataclass
from aragora_storage_core.stores import protocols
from aragora_storage_core.stores.protocols import StoreKind

if TYPE_CHECKING:
    from aragora_storage_core.columns import ColumnCipher
    from aragora_storage_core.settings import Settings

#: What a SQL store takes after its database: ``(settings, cipher) -> extra arguments``.
SQLArguments = Callable[["Settings", "ColumnCipher"], tuple[Any, ...]]

_SQL = "aragora_storage_core.sql.stores"


def _no_arguments(settings: Settings, cipher: ColumnCipher) -> tuple[Any, ...]:
    return ()


@dataclass(frozen=True)
class StoreSpec:
    """One store: its kind, protocol, logical database and SQL implementation.

    ``database`` and ``sql_implementation`` are ``None`` for a store no SQL backend
    serves (the cache); ``sql_arguments`` gives what the implementation takes after its
    database.
    """

    kind: StoreKind
    protocol: type
    database: DatabaseType | None
    sql_implementation: str | None
    sql_arguments: SQLArguments = _no_arguments

    def sql_class(self) -> type:
        """The SQL implementation class, its module imported on first use."""
        if self.sql_implementation is None:
            raise LookupError(f"no SQL implementation of the {self.kind.value} store")
        module, _, name = self.sql_implementation.rpartition(".")
        cls: type = getattr(importlib.import_module(module), name)
        return cls


STORE_TABLE: tuple[StoreSpec, ...] = (
    StoreSpec(StoreKind.USERS, protocols.UserStore, DatabaseType.USERS,
              f"{_SQL}.accounts.SQLUserStore"),
    StoreSpec(StoreKind.ORGANIZATIONS, protocols.OrganizationStore, DatabaseType.USERS,
              f"{_SQL}.accounts.SQLOrganizationStore"),
    StoreSpec(StoreKind.AUDIT, protocols.AuditStore, DatabaseType.USERS,
              f"{_SQL}.activity.SQLAuditStore",
              lambda settings, cipher: (settings.audit_retention_days,)),
    StoreSpec(StoreKind.USAGE, protocols.UsageStore, DatabaseType.USERS,
              f"{_SQL}.activity.SQLUsageStore",
              lambda settings, cipher: (settings.usage_retention_days,)),
    StoreSpec(StoreKind.SHARE_LINKS, protocols.ShareLinkStore, DatabaseType.USERS,
              f"{_SQL}.links.SQLShareLinkStore"),
    StoreSpec(StoreKind.WEBHOOKS, protocols.WebhookStore, DatabaseType.USERS,
              f"{_SQL}.links.SQLWebhookStore", lambda settings, cipher: (cipher,)),
    StoreSpec(StoreKind.TOKEN_BLACKLIST, protocols.TokenBlacklistStore,
              DatabaseType.TOKEN_BLACKLIST, f"{_SQL}.tokens.SQLTokenBlacklistStore"),
    StoreSpec(StoreKind.NOMIC_CYCLES, protocols.NomicCycleStore, DatabaseType.NOMIC,
              f"{_SQL}.nomic.SQLNomicCycleStore"),
    StoreSpec(StoreKind.DEBATE_ARTIFACTS, protocols.DebateArtifactStore, DatabaseType.NOMIC,
              f"{_SQL}.nomic.SQLDebateArtifactStore"),
    StoreSpec(StoreKind.STREAM_EVENTS, protocols.StreamEventStore, DatabaseType.NOMIC,
              f"{_SQL}.nomic.SQLStreamEventStore"),
    StoreSpec(StoreKind.AGENT_METRICS, protocols.AgentMetricsStore, DatabaseType.NOMIC,
              f"{_SQL}.nomic.SQLAgentMetricsStore"),
    StoreSpec(StoreKind.CACHE, protocols.CacheStore, None, None),
)

#: The table by kind.
STORES: Mapping[StoreKind, StoreSpec] = {spec.kind: spec for spec in STORE_TABLE}
_KINDS = {spec.protocol: spec.kind for spec in STORE_TABLE}


def kind_of(store: object) -> StoreKind:
    """The kind named by ``store``: a kind, its name (``"users"``) or its protocol class."""
    if isinstance(store, type):
        kind = _KINDS.get(store)
        if kind is None:
            raise ValueError(f"{store.__name__} is not a store protocol")
        return kind
    return StoreKind(str(store))
