"""The SQLite plugin's one hook: open ``sqlite://`` URLs."""

from __future__ import annotations

from aragora_storage_core import hookimpl
from aragora_storage_core.backend import Backend
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL
from aragora_storage_sqlite.backend import SQLiteBackend


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``sqlite://`` URLs."""
    if url.scheme != "sqlite":
        return None
    return SQLiteBackend(url, settings)
