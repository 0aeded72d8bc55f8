"""The project's direct PostgreSQL connection (``SUPABASE_DB_URL``), for schema changes.

PostgREST cannot run DDL, so applying migrations (and moving id sequences after a
restore) needs the connection string from Dashboard > Settings > Database. The registry
opens it with the PostgreSQL backend (``pip install 'aragora-storage[postgres]'``); this
plugin never imports another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aragora_storage_core.backend import SQLBackend
from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.registry import Registry
from aragora_storage_core.url import parse_url

if TYPE_CHECKING:
    from aragora_storage_core.sql.database import SQLDatabase
    from aragora_storage_supabase.backend import SupabaseBackend


@contextmanager
def direct_database(backend: SupabaseBackend, why: str) -> Iterator[SQLDatabase]:
    """An open PostgreSQL database on ``SUPABASE_DB_URL``, closed afterwards."""
    if not backend.direct_url:
        raise ConfigurationError(f"{why} needs the project's direct database connection",
                                 "export SUPABASE_DB_URL=postgresql://postgres:<password>@"
                                 "db.<project>.supabase.co:5432/postgres")
    url = parse_url(backend.direct_url)
    if url.scheme != "postgresql":
        raise ConfigurationError("SUPABASE_DB_URL must be a postgresql:// connection string",
                                 "copy it from Dashboard > Settings > Database")
    registry = backend.registry or Registry(backend.settings)
    direct = registry.connect(url, "SUPABASE_DB_URL")
    try:
        if not isinstance(direct, SQLBackend):
            raise ConfigurationError("SUPABASE_DB_URL opened a backend that runs no SQL",
                                     "point it at the project's PostgreSQL database")
        yield direct.database_for(DatabaseType.NOMIC)
    finally:
        direct.close()
