"""Health findings about a PostgreSQL server: version, latency, pool, TLS."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING

from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import StorageError
from aragora_storage_postgres.connection import where

if TYPE_CHECKING:
    from aragora_storage_postgres.backend import PostgresBackend

#: ``sslmode`` values that let a connection fall back to plain text.
UNENCRYPTED_SSLMODES = frozenset({"", "disable", "allow", "prefer"})


def health(backend: PostgresBackend) -> list[Check]:
    """Server version and latency, pool usage, TLS in use.

    Pending migrations are reported by ``doctor`` for every backend (the core asks
    ``storage_migrate`` for their status), so they are not repeated here.
    """
    database, target = backend.database, where(backend.url)
    try:
        start = perf_counter()
        database.fetch_one("SELECT 1", (), "health")
        latency_ms = (perf_counter() - start) * 1000
        facts = database.server_facts()
    except StorageError as error:
        return [Check("storage.E100", Level.ERROR, error.message, error.hint)]
    version = facts["server_version"]
    checks = [
        Check("storage.I100", Level.INFO,
              f"PostgreSQL {version // 10000}.{version % 10000} at {target}, "
              f"round trip {latency_ms:.2f} ms",
              data={"server_version": version, "latency_ms": round(latency_ms, 3)}),
        Check("storage.I101", Level.INFO, "pool: {in_use} in use, {idle} idle, {open} open "
              "(size {size} + overflow {max_overflow})".format(**facts["pool"]),
              data=facts["pool"]),
        Check("storage.I103", Level.INFO,
              f"TLS {'in use' if facts['ssl_in_use'] else 'not in use'} to {target}",
              data={"ssl_in_use": facts["ssl_in_use"]}),
    ]
    sslmode = backend.url.params.get("sslmode", "").lower()
    if not backend.url.is_local and sslmode in UNENCRYPTED_SSLMODES:
        checks.append(Check(
            "storage.W104", Level.WARNING,
            f"connection to remote PostgreSQL at {target} may be unencrypted "
            f"(sslmode={sslmode or 'unset'})",
            "add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem to DATABASE_URL"))
    return checks
