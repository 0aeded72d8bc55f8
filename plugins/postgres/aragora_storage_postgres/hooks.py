"""The PostgreSQL plugin's one hook: open ``postgresql://`` URLs."""

from __future__ import annotations

from aragora_storage_core import hookimpl
from aragora_storage_core.backend import Backend
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.backend import PostgresBackend


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``postgresql://`` URLs (``postgres://`` and ``+psycopg2`` parse to the same)."""
    if url.scheme != "postgresql":
        return None
    return PostgresBackend(url, settings)
