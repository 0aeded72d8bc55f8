"""The embedded SQLite backend: ``sqlite:///path``, the default when nothing is set.

Registered through the ``aragora_storage.backends`` entry point like any third-party
backend, and written only against the public plugin API.
"""

from aragora_storage_sqlite.backend import SQLiteBackend
from aragora_storage_sqlite.hooks import storage_connect

BACKEND_NAME = "sqlite"
STORES = SQLiteBackend.stores_served

__all__ = ["BACKEND_NAME", "STORES", "SQLiteBackend", "storage_connect"]
