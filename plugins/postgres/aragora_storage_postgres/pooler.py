"""Is a transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy) between us and PostgreSQL?

Behind such a pooler each transaction of a client connection may run on another server
connection, so nothing may rely on session state between transactions. The backend
never does (migrations lock with ``pg_advisory_xact_lock``, nothing is ``SET`` or
``PREPARE``d outside a transaction); what changes is the backup: ``pg_dump`` and
``pg_restore`` set session state before their transaction, which would leak onto
other clients' server connections, so a backup is a COPY dump inside one transaction.

The probe needs no privilege and changes nothing: client connection B reads its
server's ``pg_backend_pid()`` in autocommit, then client connection C reads its own
inside a transaction. Directly or through a session-mode pooler, B keeps its server
connection and C gets another; through a transaction-mode pooler, B's server connection
is free again and C is handed it (poolers hand out the most recently used one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.connection import connect_kwargs, open_connection

if TYPE_CHECKING:
    import psycopg2.extensions

#: Probes before concluding there is no transaction pooler (other clients may take the
#: freed server connection first).
ATTEMPTS = 3
#: What the backend does differently behind a transaction-mode pooler, for ``doctor``.
CHANGES = ("backups are COPY dumps inside one transaction instead of pg_dump",
           "a pg_dump backup is restored only over a direct connection")


def behind_transaction_pooler(url: StorageURL) -> bool:
    """True when consecutive transactions of one connection may run on different servers."""
    kwargs = connect_kwargs(url)
    first = open_connection(url, kwargs)
    try:
        second = open_connection(url, kwargs)
        try:
            return any(_backend_pid(first) == _backend_pid(second, in_transaction=True)
                       for _ in range(ATTEMPTS))
        finally:
            second.close()
    finally:
        first.close()


def _backend_pid(conn: psycopg2.extensions.connection, in_transaction: bool = False) -> Any:
    with conn.cursor() as cursor:
        if in_transaction:
            cursor.execute("BEGIN")
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchall()[0][0]
        if in_transaction:
            cursor.execute("COMMIT")
    return pid
