"""Stores on PostgreSQL through the registry vs hand-written psycopg2 and SQLAlchemy Core.

The raw side is what a careful programmer writes by hand with psycopg2, run on a
connection checked out of the store's own pool and held for the whole run (so the store
pays its per-call checkout and the raw side does not). Raw writes are ``BEGIN`` /
statement / ``COMMIT``, the round trips psycopg2 makes in its default mode; the store
sends ``BEGIN`` with the first statement, one round trip fewer. The SQLAlchemy side uses
Core constructs on an ``Engine`` with the same pool size. Every side builds the same
dataclasses with the same row helpers, in its own tables of one scratch database. The
sides run the same batch back to back, many times, rotating the order; the ratio is the
median over rounds of side time / raw time. Bulk inserts compare with the best raw
method (``execute_values`` or ``COPY``, whichever is faster in that round). Sessions
commit with ``synchronous_commit=off`` so that the disk flush of each commit (the same
for every side) does not drown the per-call cost being compared.

    .venv/bin/python benchmarks/bench_postgres.py [--rounds 20] [--batch 100]
    BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres (admin URL, default)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import sqlalchemy as sa
from aragora_storage_postgres.backend import PostgresBackend
from psycopg2.extras import execute_values
from timing import audit, per_op, user

from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import AuditEntry, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.sql.stores.accounts import USER_COLUMNS, user_from_row, user_to_row

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
AUDIT_COLUMNS = ("timestamp", "user_id", "org_id", "action", "resource_type", "resource_id",
                 "details", "ip_address", "user_agent")
SIDES = ("store", "raw", "sqlalchemy")
NO_FLUSH = "-c%20synchronous_commit%3Doff"
TARGETS = {"UserStore.get_by_id": 1.10, "TokenBlacklist.is_revoked": 1.10,
           "UserStore.create": 1.10, "AuditStore.log": 1.10, "UserStore.create_many": 1.20}


def now_iso() -> str:
    """The timestamp text every side writes."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def dumps(value: Any) -> str:
    """JSON text as every side stores it."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def audit_row(entry: AuditEntry) -> tuple[Any, ...]:
    """The audit row every side writes."""
    return (entry.timestamp or now_iso(), entry.user_id, entry.org_id, entry.action,
            entry.resource_type, entry.resource_id, dumps(entry.details), entry.ip_address,
            entry.user_agent)


class RawPsycopg2:
    """Hand-written psycopg2 on one pooled (autocommit) connection held throughout."""

    def __init__(self, conn: Any, table: str) -> None:
        self.conn, self.table = conn, table
        cols = ", ".join(USER_COLUMNS)
        self.select = f"SELECT {cols} FROM {table} WHERE id = %s"
        self.insert = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * 19)})"
        self.insert_values = f"INSERT INTO {table} ({cols}) VALUES %s"
        self.copy = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)"
        self.log_sql = (f"INSERT INTO {table}_audit ({', '.join(AUDIT_COLUMNS)}) VALUES"
                        f" ({', '.join(['%s'] * 9)}) RETURNING id")
        self.revoked = (f"SELECT 1 FROM {table}_tokens WHERE jti = %s AND expires_at > %s")

    def get_by_id(self, user_id: str) -> User | None:
        """Point read building a :class:`User`."""
        cursor = self.conn.cursor()
        cursor.execute(self.select, (user_id,))
        row = cursor.fetchone()
        return None if row is None else user_from_row(row)

    def is_revoked(self, jti: str) -> bool:
        """Point read of the token blacklist."""
        cursor = self.conn.cursor()
        cursor.execute(self.revoked, (jti, now_iso()))
        return cursor.fetchone() is not None

    def _write(self, sql: str, params: Sequence[Any]) -> Any:
        cursor = self.conn.cursor()
        cursor.execute("BEGIN")
        try:
            cursor.execute(sql, params)
            result = cursor.fetchone() if cursor.description else None
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
        return result

    def create(self, user: User) -> User:
        """Insert one user in its own transaction."""
        row = user_to_row(user)
        self._write(self.insert, row)
        return user_from_row(row)

    def log(self, entry: AuditEntry) -> int:
        """Append one audit entry; return its id."""
        return int(self._write(self.log_sql, audit_row(entry))[0])

    def create_many(self, users: Sequence[User]) -> int:
        """Bulk insert with ``execute_values`` in one transaction."""
        rows = [user_to_row(u) for u in users]
        cursor = self.conn.cursor()
        cursor.execute("BEGIN")
        execute_values(cursor, self.insert_values, rows, page_size=1000)
        cursor.execute("COMMIT")
        return len(rows)

    def create_many_copy(self, users: Sequence[User]) -> int:
        """Bulk insert with ``COPY ... FROM STDIN`` (CSV built in Python) in one transaction."""
        buffer = io.StringIO()
        for u in users:
            buffer.write(",".join(_csv(v) for v in user_to_row(u)) + "\n")
        buffer.seek(0)
        cursor = self.conn.cursor()
        cursor.execute("BEGIN")
        cursor.copy_expert(self.copy, buffer)
        cursor.execute("COMMIT")
        return len(users)


def _csv(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return '"' + text.replace('"', '""') + '"'


class CoreSide:
    """The same operations with SQLAlchemy Core on an ``Engine`` (pooled, psycopg2)."""

    def __init__(self, url: str, table: str) -> None:
        self.engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"),
                                       pool_size=10, max_overflow=5)
        assert "synchronous_commit" in str(self.engine.url.query)
        users = sa.table(table, *(sa.column(c) for c in USER_COLUMNS))
        audit = sa.table(f"{table}_audit", sa.column("id"), *(sa.column(c) for c in AUDIT_COLUMNS))
        tokens = sa.table(f"{table}_tokens", sa.column("jti"), sa.column("expires_at"))
        self.users = users
        self.select = sa.select(*users.c).where(users.c.id == sa.bindparam("id"))
        self.revoked = sa.select(sa.literal(1)).where(
            tokens.c.jti == sa.bindparam("jti"), tokens.c.expires_at > sa.bindparam("now"))
        self.insert = sa.insert(users)
        self.log_sql = sa.insert(audit).returning(audit.c.id)

    def get_by_id(self, user_id: str) -> User | None:
        """Point read building a :class:`User`."""
        with self.engine.connect() as conn:
            row = conn.execute(self.select, {"id": user_id}).fetchone()
        return None if row is None else user_from_row(row)

    def is_revoked(self, jti: str) -> bool:
        """Point read of the token blacklist."""
        with self.engine.connect() as conn:
            return conn.execute(self.revoked, {"jti": jti, "now": now_iso()}).first() is not None

    def create(self, user: User) -> User:
        """Insert one user in its own transaction."""
        row = user_to_row(user)
        with self.engine.begin() as conn:
            conn.execute(self.insert, dict(zip(USER_COLUMNS, row, strict=True)))
        return user_from_row(row)

    def log(self, entry: AuditEntry) -> int:
        """Append one audit entry; return its id."""
        with self.engine.begin() as conn:
            return int(conn.execute(self.log_sql, dict(zip(AUDIT_COLUMNS, audit_row(entry),
                                                           strict=True))).scalar_one())

    def create_many(self, users: Sequence[User]) -> int:
        """Bulk insert (SQLAlchemy's insertmanyvalues) in one transaction."""
        rows = [dict(zip(USER_COLUMNS, user_to_row(u), strict=True)) for u in users]
        with self.engine.begin() as conn:
            conn.execute(self.insert, rows)
        return len(rows)


class Bench:
    """A scratch database: the store's tables, and copies of them for the other sides."""

    def __init__(self, url: str) -> None:
        self.registry = Registry(env={"DATABASE_URL": url})
        backend = self.registry.active()
        assert isinstance(backend, PostgresBackend)
        self.registry.hook.storage_migrate(backend=backend,
                                           request=MigrationRequest(MigrationAction.MIGRATE))
        self.stores = {k: backend.store(k) for k in ("users", "audit", "token_blacklist")}
        self.lease = backend.database.pool.acquire()  # the raw side's pooled connection
        with backend.database.transaction() as tx:
            for side in ("raw", "sqlalchemy"):
                tx.execute(f"CREATE TABLE {side}_users (LIKE users INCLUDING ALL)")
                tx.execute(f"CREATE TABLE {side}_users_audit (LIKE audit_log INCLUDING ALL)")
                tx.execute(f"CREATE TABLE {side}_users_tokens (LIKE token_blacklist"
                           " INCLUDING ALL)")
        self.sides: dict[str, Any] = {
            "store": self.stores["users"], "raw": RawPsycopg2(self.lease.raw, "raw_users"),
            "sqlalchemy": CoreSide(url, "sqlalchemy_users")}
        seed = [user(f"seed{i}") for i in range(1000)]
        for side in self.sides.values():
            side.create_many(seed)
        later = datetime.now(UTC) + timedelta(hours=1)
        self.stores["token_blacklist"].revoke_many((f"t{i}", later) for i in range(1000))
        with backend.database.transaction() as tx:
            for side in ("raw", "sqlalchemy"):
                tx.execute(f"INSERT INTO {side}_users_tokens SELECT * FROM token_blacklist")
            tx.execute("ANALYZE")
        self.ids = [u.id for u in seed]
        self.batch = 0

    def batches(self, side: str, size: int) -> dict[str, Callable[[], Any]]:
        """One batch of ``size`` operations of every kind for ``side``."""
        users = self.sides[side]
        logger = self.stores["audit"] if side == "store" else users
        tokens = self.stores["token_blacklist"] if side == "store" else users
        self.batch += 1
        ids = [self.ids[(self.batch * size + i) % len(self.ids)] for i in range(size)]
        fresh = [user(f"{side}{self.batch}-{i}") for i in range(size)]
        bulk = [user(f"{side}{self.batch}-bulk{i}") for i in range(1000)]
        entries = [audit(i) for i in range(size)]
        ops: dict[str, Callable[[], Any]] = {
            "UserStore.get_by_id": lambda: [users.get_by_id(k) for k in ids],
            "TokenBlacklist.is_revoked": lambda: [tokens.is_revoked(f"t{k[4:]}") for k in ids],
            "UserStore.create": lambda: [users.create(u) for u in fresh],
            "AuditStore.log": lambda: [logger.log(e) for e in entries],
            "UserStore.create_many": lambda: users.create_many(bulk),
        }
        if side == "raw":
            copy_bulk = [user(f"copy{self.batch}-bulk{i}") for i in range(1000)]
            ops["COPY"] = lambda: users.create_many_copy(copy_bulk)
        return ops

    def close(self) -> None:
        """Give the raw side's connection back and close everything."""
        self.sides["sqlalchemy"].engine.dispose()
        backend = self.registry.active()
        assert isinstance(backend, PostgresBackend)
        backend.database.pool.release(self.lease)
        self.registry.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run every comparison on a scratch database and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="interleaved batch rounds")
    parser.add_argument("--batch", type=int, default=100, help="operations per batch")
    args = parser.parse_args(argv)
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    name = f"aragora_bench_{secrets.token_hex(4)}"
    admin.cursor().execute(f"CREATE DATABASE {name}")
    times: dict[str, dict[str, list[float]]] = {}
    try:
        bench = Bench(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}?options={NO_FLUSH}")
        for n in range(args.rounds + 1):  # round 0 warms up and is not counted
            order = SIDES[n % 3:] + SIDES[:n % 3]
            runs = {side: bench.batches(side, args.batch) for side in order}
            for op in runs["store"]:
                for side in order:  # the sides of one operation run back to back
                    ops = 1000 if op == "UserStore.create_many" else args.batch
                    seconds = per_op(runs[side][op], ops)
                    if op == "UserStore.create_many" and side == "raw":
                        copy = per_op(runs["raw"]["COPY"], 1000)
                        times.setdefault("bulk: raw COPY", {}).setdefault("raw", []).append(copy)
                        seconds = min(seconds, copy)
                    if n:
                        times.setdefault(op, {}).setdefault(side, []).append(seconds)
        bench.close()
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
    report(times, args)


def report(times: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    """Print the table of medians and ratios."""
    print(f"PostgreSQL: stores vs hand-written psycopg2 vs SQLAlchemy Core, {args.rounds} "
          f"interleaved rounds of {args.batch}-operation batches (bulk: 1000 rows)")
    print(f"{'operation':<27} {'store us':>9} {'raw us':>8} {'core us':>8} {'store/raw':>9}"
          f" {'core/raw':>8}  target")
    for op, measured in times.items():
        if "store" not in measured:
            continue
        ratios = {side: statistics.median(a / b for a, b in zip(measured[side], measured["raw"],
                                                                strict=True))
                  for side in ("store", "sqlalchemy")}
        us = {side: statistics.median(measured[side]) * 1e6 for side in SIDES}
        target = TARGETS[op]
        verdict = f"<= {target:.2f}x " + ("ok" if ratios["store"] <= target else "MISSED")
        print(f"{op:<27} {us['store']:>9.2f} {us['raw']:>8.2f} {us['sqlalchemy']:>8.2f}"
              f" {ratios['store']:>8.2f}x {ratios['sqlalchemy']:>7.2f}x  {verdict}")
    copy = statistics.median(times["bulk: raw COPY"]["raw"]) * 1e6
    print(f"(bulk raw = the faster of execute_values and COPY per round; COPY alone: "
          f"{copy:.2f} us/row)")
    print("ratio: median over rounds of side time / raw time; us: median per operation (row)")


if __name__ == "__main__":
    main()
