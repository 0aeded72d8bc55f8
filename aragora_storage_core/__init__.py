"""aragora-storage core: plugin hooks, backend selection, stores, layout and tools.

Importing this package imports no database driver, no plugin and not even pluggy; names
below load on first use so that ``import aragora_storage_core`` stays cheap (and the CLI
is listening for Ctrl-C almost as soon as the interpreter starts).
"""

from __future__ import annotations

import importlib

#: ``typing.TYPE_CHECKING`` without importing ``typing`` (mypy treats the name the same).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from aragora_storage_core.compat import (
        DatabaseManager,
        get_encrypted_connection,
        get_wal_connection,
        safe_add_column,
    )
    from aragora_storage_core.hookspecs import hookimpl, hookspec
    from aragora_storage_core.layout import (
        DatabaseMode,
        DatabaseType,
        get_db_mode,
        get_db_path,
    )
    from aragora_storage_core.registry import Registry, get_registry, reset_registry
    from aragora_storage_core.seed_stores import (
        AuditStore,
        OrganizationStore,
        ShareLinkStore,
        UserStore,
        WebhookStore,
    )

__version__ = "0.1.0"

_LAZY = {
    "hookimpl": "aragora_storage_core.hookspecs",
    "hookspec": "aragora_storage_core.hookspecs",
    "DatabaseMode": "aragora_storage_core.layout",
    "DatabaseType": "aragora_storage_core.layout",
    "get_db_mode": "aragora_storage_core.layout",
    "get_db_path": "aragora_storage_core.layout",
    "Registry": "aragora_storage_core.registry",
    "get_registry": "aragora_storage_core.registry",
    "reset_registry": "aragora_storage_core.registry",
    "DatabaseManager": "aragora_storage_core.compat",
    "get_wal_connection": "aragora_storage_core.compat",
    "get_encrypted_connection": "aragora_storage_core.compat",
    "safe_add_column": "aragora_storage_core.compat",
    "UserStore": "aragora_storage_core.seed_stores",
    "OrganizationStore": "aragora_storage_core.seed_stores",
    "AuditStore": "aragora_storage_core.seed_stores",
    "ShareLinkStore": "aragora_storage_core.seed_stores",
    "WebhookStore": "aragora_storage_core.seed_stores",
}

__all__ = [
    "AuditStore",
    "DatabaseManager",
    "DatabaseMode",
    "DatabaseType",
    "OrganizationStore",
    "Registry",
    "ShareLinkStore",
    "UserStore",
    "WebhookStore",
    "get_db_mode",
    "get_db_path",
    "get_encrypted_connection",
    "get_registry",
    "get_wal_connection",
    "hookimpl",
    "hookspec",
    "reset_registry",
    "safe_add_column",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aragora_storage_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
