"""The project's direct PostgreSQL connection (``SUPABASE_DB_URL``), for schema changes.

PostgREST cannot run DDL, so applying migrations (and moving id sequences after a
restore) needs the connection string from Dashboard > Settings > Database. It goes
through the PostgreSQL backend's database layer, installed by
``pip install 'aragora-storage[postgres]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aragora_storage_core.errors import ConfigurationError
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
    try:
        from aragora_storage_postgres.database import PostgresDatabase
    except ImportError:
        raise ConfigurationError(f"{why} over SUPABASE_DB_URL needs the PostgreSQL driver",
                                 "pip install 'aragora-storage[postgres]'") from None
    settings = backend.settings
    database = PostgresDatabase(url, pool_size=1, max_overflow=0,
                                pool_timeout=settings.pool_timeout,
                                slow_query_ms=settings.slow_query_ms)
    try:
        yield database
    finally:
        database.close()
