"""The seed's store classes as its code calls them: ``UserStore(db_path=...)`` and friends.

With a path, each opens that one SQLite file (every table of the account database in it,
migrated, or adopted when the application made it); without one, it is the store of the
configured backend (``get_registry().store(...)``). Each call returns the store object
itself, so ``AuditStore(db_path).cleanup_old_entries()`` works as in the seed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from aragora_storage_core.stores.protocols import StoreKind

_BACKENDS: dict[str, Any] = {}
_LOCK = threading.Lock()


def open_store(kind: StoreKind, db_path: str | Path | None = None) -> Any:
    """The store ``kind`` on the SQLite file ``db_path``, or of the configured backend."""
    from aragora_storage_core.registry import Registry, get_registry
    from aragora_storage_core.url import StorageURL

    if db_path is None:
        return get_registry().store(kind)
    key = str(Path(db_path).absolute())
    with _LOCK:
        backend = _BACKENDS.get(key)
        if backend is None:
            url = StorageURL(scheme="sqlite", database=key, query=(("layout", "file"),))
            backend = _BACKENDS[key] = Registry().connect(url)
    return backend.store(kind)


def close_all() -> None:
    """Close every file the seed's store classes opened."""
    with _LOCK:
        for backend in _BACKENDS.values():
            backend.close()
        _BACKENDS.clear()


class UserStore:
    """``UserStore(db_path=None)``: user accounts (the ``users`` store)."""

    def __new__(cls, db_path: str | Path | None = None) -> Any:
        return open_store(StoreKind.USERS, db_path)


class OrganizationStore:
    """``OrganizationStore(db_path=None)``: organizations (the ``organizations`` store)."""

    def __new__(cls, db_path: str | Path | None = None) -> Any:
        return open_store(StoreKind.ORGANIZATIONS, db_path)


class AuditStore:
    """``AuditStore(db_path=None)``: the audit log; ``cleanup_old_entries()`` as the seed."""

    def __new__(cls, db_path: str | Path | None = None) -> Any:
        return open_store(StoreKind.AUDIT, db_path)


class ShareLinkStore:
    """``ShareLinkStore(db_path=None)``: shared debate links."""

    def __new__(cls, db_path: str | Path | None = None) -> Any:
        return open_store(StoreKind.SHARE_LINKS, db_path)


class WebhookStore:
    """``WebhookStore(db_path=None)``: webhook configurations."""

    def __new__(cls, db_path: str | Path | None = None) -> Any:
        return open_store(StoreKind.WEBHOOKS, db_path)
