"""Health findings about a PostgreSQL server: version, latency, pool, TLS, a pooler in
front, and each read replica."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING

from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import StorageError
from aragora_storage_postgres.connection import where
from aragora_storage_postgres.pooler import CHANGES
from aragora_storage_postgres.replicas import ReplicaReport, ReplicaSet, ReplicaState

if TYPE_CHECKING:
    from aragora_storage_postgres.backend import PostgresBackend

#: ``sslmode`` values that let a connection fall back to plain text.
UNENCRYPTED_SSLMODES = frozenset({"", "disable", "allow", "prefer"})


def health(backend: PostgresBackend) -> list[Check]:
    """Server version and latency, pool usage, TLS in use, a transaction-mode pooler,
    each replica's state and lag (call it inside ``primary_reads()``).

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
    if backend.behind_transaction_pooler():
        checks.append(Check(
            "storage.I150", Level.INFO,
            f"{target} is a transaction-mode pooler (PgBouncer or alike): "
            + "; ".join(CHANGES) + "; migrations lock per transaction as everywhere",
            data={"transaction_pooler": True, "changes": list(CHANGES)}))
    if database.replicas is not None:
        checks.extend(replica_checks(database.replicas))
    return checks


def replica_checks(replicas: ReplicaSet) -> list[Check]:
    """One finding per replica, measured now: in use with its lag, lagging, down, promoted."""
    replicas.check()
    return [_replica_check(report, replicas.max_lag) for report in replicas.reports()]


def _replica_check(report: ReplicaReport, max_lag: float) -> Check:
    data = report.to_dict()
    if report.state is ReplicaState.DOWN:
        return Check("storage.W142", Level.WARNING,
                     f"replica {report.label} does not answer ({report.problem}); reads go to"
                     " the primary or other replicas until it does",
                     "start it, or fix its entry in DATABASE_REPLICA_URLS", data=data)
    if report.state is ReplicaState.NOT_A_REPLICA:
        return Check("storage.W143", Level.WARNING,
                     f"replica {report.label} is not a standby (promoted, or a primary listed as"
                     " a replica); reads skip it",
                     "remove it from DATABASE_REPLICA_URLS, or make DATABASE_URL point at it if"
                     " it is the new primary", data=data)
    if not report.readable:
        behind = "by more than the checks remember" if report.lag is None else (
            f"{report.lag:.2f} s")
        return Check("storage.W141", Level.WARNING,
                     f"replica {report.label} lags {behind} behind the primary (limit"
                     f" ARAGORA_DB_MAX_REPLICA_LAG={max_lag:g} s); reads skip it until it"
                     " catches up",
                     "check replication on it (SELECT pg_is_wal_replay_paused(); the primary's"
                     " pg_stat_replication)", data=data)
    return Check("storage.I140", Level.INFO,
                 f"replica {report.label}: standby, lag at most {report.lag:.2f} s, serving reads",
                 data=data)
