"""Which logical databases and tables a Supabase project holds for this plugin."""

from __future__ import annotations

from aragora_storage_core.layout import DATABASE_INFO, DatabaseType

#: The logical databases whose tables the backend serves: the accounts, the token
#: blacklist and the seed's "Supabase Tables" (``nomic``), created in this order.
DATABASES = (DatabaseType.USERS, DatabaseType.TOKEN_BLACKLIST, DatabaseType.NOMIC)
TABLES: tuple[str, ...] = tuple(t for db in DATABASES for t in DATABASE_INFO[db].table_names)
