"""The PostgreSQL backend of aragora-storage: ``postgresql://`` (or ``postgres://``) URLs.

Registered through the ``aragora_storage.backends`` entry points ``postgresql`` and
``postgres``; psycopg2 is imported only when a backend opens.
"""

from aragora_storage_postgres.backend import PostgresBackend
from aragora_storage_postgres.dialect import POSTGRES
from aragora_storage_postgres.hooks import storage_connect

BACKEND_NAME = "postgresql"
STORES = PostgresBackend.stores_served
#: The dialect, for tools that write PostgreSQL DDL without connecting (registry.dialect).
DIALECT = POSTGRES

__all__ = ["BACKEND_NAME", "DIALECT", "STORES", "PostgresBackend", "storage_connect"]
