"""Stores on SQLite through the registry vs hand-written ``sqlite3`` doing the same work.

Both sides run the same SQL on a connection with the same pragmas (autocommit, WAL,
``synchronous=NORMAL``, busy timeout, foreign keys), write in explicit
``BEGIN IMMEDIATE`` transactions, and build the same dataclasses; each side has its own
database file made by the same migrations. The two sides run the same batch back to back,
many times, alternating which goes first, so load from other processes hits both alike;
the ratio is the median over those pairs of registry time / raw time.

    .venv/bin/python benchmarks/bench_sqlite.py [--pairs 100] [--batch 100] [--dir /dev/shm]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from timing import audit, compare, per_op, print_table, user

from aragora_storage_core.models import AuditEntry, Organization, UsageEvent, User, to_iso
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings

PRAGMAS = (
    "PRAGMA busy_timeout = 50",  # the short busy slice SQLiteDatabase gives SQLite
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)
USER_SELECT = (
    "SELECT id, email, password_hash, password_salt, name, org_id, role, created_at,"
    " updated_at, last_login_at, is_active, email_verified, avatar_url, preferences,"
    " locked_until, failed_login_count, lockout_reason, last_activity_at, last_debate_at"
    " FROM users WHERE id = ?"
)
USER_INSERT = (
    "INSERT INTO users (id, email, password_hash, password_salt, name, org_id, role,"
    " created_at, updated_at, last_login_at, is_active, email_verified, avatar_url,"
    " preferences, locked_until, failed_login_count, lockout_reason, last_activity_at,"
    " last_debate_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
AUDIT_INSERT = (
    "INSERT INTO audit_log (timestamp, user_id, org_id, action, resource_type, resource_id,"
    " details, ip_address, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
AUDIT_INSERT_MANY = AUDIT_INSERT.removesuffix(" RETURNING id")
REVOKE_INSERT = (
    "INSERT INTO token_blacklist (jti, expires_at, user_id, revoked_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (jti) DO NOTHING"
)
USAGE_INSERT = (
    "INSERT INTO usage_events (org_id, event_type, count, metadata, timestamp)"
    " VALUES (?, ?, ?, ?, ?) RETURNING id"
)
EXPIRES = datetime.now(UTC) + timedelta(days=1)
TARGETS = {"get_by_id": 1.10, "UserStore.create": 1.10, "AuditStore.log": 1.10,
           "TokenBlacklist.revoke": 1.10, "UsageStore.record": 1.10}


def now_iso() -> str:
    """The timestamp text both sides write."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def dumps(value: Any) -> str:
    """JSON text as both sides store it."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class RawSQLite:
    """What a careful programmer writes by hand with ``sqlite3`` for the same operations."""

    def __init__(self, path: Path) -> None:
        self.conn = _connect(path)
        self.tokens = _connect(path.with_name("token_blacklist.db"))

    def _write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.conn.execute(sql, params)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return cursor

    @staticmethod
    def _user(row: Sequence[Any]) -> User:
        return User(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
                    row[9], bool(row[10]), bool(row[11]), row[12], json.loads(row[13]),
                    row[14], row[15], row[16], row[17], row[18])

    @staticmethod
    def _user_row(user: User) -> tuple[Any, ...]:
        now = now_iso()
        return (
            user.id, user.email, user.password_hash, user.password_salt, user.name,
            user.org_id, user.role, user.created_at or now, user.updated_at or now,
            user.last_login_at, int(user.is_active), int(user.email_verified),
            user.avatar_url, dumps(user.preferences), user.locked_until,
            user.failed_login_count, user.lockout_reason, user.last_activity_at,
            user.last_debate_at,
        )

    def get_by_id(self, user_id: str) -> User | None:
        """Point read building a :class:`User`."""
        row = self.conn.execute(USER_SELECT, (user_id,)).fetchone()
        return None if row is None else self._user(row)

    def create(self, user: User) -> User:
        """Insert one user in its own transaction."""
        row = self._user_row(user)
        self._write(USER_INSERT, row)
        self.conn.execute("COMMIT")
        return self._user(row)

    def create_many(self, users: Sequence[User]) -> int:
        """Insert many users with ``executemany`` in one transaction."""
        rows = [self._user_row(u) for u in users]
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(USER_INSERT, rows)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return len(rows)

    def log(self, entry: AuditEntry) -> int:
        """Append one audit entry in its own transaction; return its id."""
        row = (
            entry.timestamp or now_iso(), entry.user_id, entry.org_id, entry.action,
            entry.resource_type, entry.resource_id, dumps(entry.details), entry.ip_address,
            entry.user_agent,
        )
        (entry_id,) = self._write(AUDIT_INSERT, row).fetchone()
        self.conn.execute("COMMIT")
        return int(entry_id)

    def revoke(self, jti: str, expires_at: datetime, user_id: str | None = None) -> None:
        """Blacklist one token id in its own transaction (its own file, as the store's)."""
        self.tokens.execute("BEGIN IMMEDIATE")
        try:
            self.tokens.execute(REVOKE_INSERT, (jti, to_iso(expires_at), user_id, now_iso()))
        except BaseException:
            self.tokens.execute("ROLLBACK")
            raise
        self.tokens.execute("COMMIT")

    def record(self, event: UsageEvent) -> int:
        """Record one usage event in its own transaction; return its id."""
        row = (event.org_id, event.event_type, event.count, dumps(event.metadata),
               to_iso(event.timestamp) or now_iso())
        (event_id,) = self._write(USAGE_INSERT, row).fetchone()
        self.conn.execute("COMMIT")
        return int(event_id)

    def close(self) -> None:
        """Close the connections."""
        self.conn.close()
        self.tokens.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


class Sides:
    """The same operations on the registry's stores and on :class:`RawSQLite`."""

    def __init__(self, tmp: str) -> None:
        self.registries = [Registry(Settings.from_env({"ARAGORA_DATA_DIR": f"{tmp}/{side}"}))
                           for side in ("registry", "raw")]
        self.users = self.registries[0].store("users")
        self.audit = self.registries[0].store("audit")
        self.tokens = self.registries[0].store("token_blacklist")
        self.usage = self.registries[0].store("usage")
        for kind in ("users", "token_blacklist"):  # the same migrations make the raw files
            self.registries[1].store(kind)
        for registry in self.registries:  # usage events belong to an organization
            registry.store("organizations").create(Organization("org-1", "Org", "org"))
        self.registries[1].close()
        self.raw = RawSQLite(Path(tmp) / "raw" / "users.db")
        seed = [user(f"seed{i}") for i in range(1000)]
        self.users.create_many(seed)
        self.raw.create_many(seed)
        self.ids = [u.id for u in seed]
        self.batch = 0

    def batches(self, side: str, size: int) -> dict[str, Callable[[], None]]:
        """One batch of ``size`` operations of every kind for ``side``."""
        users: Any = self.users if side == "registry" else self.raw
        audit_log: Any = self.audit if side == "registry" else self.raw
        tokens: Any = self.tokens if side == "registry" else self.raw
        usage: Any = self.usage if side == "registry" else self.raw
        self.batch += 1
        ids = [self.ids[(self.batch * size + i) % len(self.ids)] for i in range(size)]
        fresh = [user(f"{side}{self.batch}-{i}") for i in range(size)]
        many = [user(f"{side}{self.batch}-bulk{i}") for i in range(size)]
        entries = [audit(i) for i in range(size)]
        jtis = [f"{side}{self.batch}-jti{i}" for i in range(size)]
        events = [UsageEvent("org-1", "debate", i) for i in range(size)]

        def reads() -> None:
            for key in ids:
                users.get_by_id(key)

        def creates() -> None:
            for new in fresh:
                users.create(new)

        def logs() -> None:
            for entry in entries:
                audit_log.log(entry)

        def revokes() -> None:
            for jti in jtis:
                tokens.revoke(jti, EXPIRES)

        def records() -> None:
            for event in events:
                usage.record(event)

        return {"get_by_id": reads, "UserStore.create": creates, "AuditStore.log": logs,
                "TokenBlacklist.revoke": revokes, "UsageStore.record": records,
                "create_many (executemany)": lambda: users.create_many(many) and None}

    def calls(self, side: str) -> dict[str, Callable[[int], object]]:
        """One operation of every kind for ``side``, by call number (the cold comparison)."""
        users: Any = self.users if side == "registry" else self.raw
        audit_log: Any = self.audit if side == "registry" else self.raw
        tokens: Any = self.tokens if side == "registry" else self.raw
        usage: Any = self.usage if side == "registry" else self.raw
        ids, entry, event = self.ids, audit(0), UsageEvent("org-1", "debate", 1)
        made = iter(range(10**9))
        return {
            "get_by_id": lambda i: users.get_by_id(ids[i % len(ids)]),
            "UserStore.create": lambda i: users.create(user(f"{side}-cold-{next(made)}")),
            "AuditStore.log": lambda i: audit_log.log(entry),
            "TokenBlacklist.revoke": lambda i: tokens.revoke(f"{side}-c{next(made)}", EXPIRES),
            "UsageStore.record": lambda i: usage.record(event),
        }

    def close(self) -> None:
        """Close both sides."""
        self.raw.close()
        self.registries[0].close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run every comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100, help="interleaved batch pairs")
    parser.add_argument("--batch", type=int, default=100, help="operations per batch")
    parser.add_argument("--cold-pairs", type=int, default=30,
                        help="pairs of the call-by-call comparison (0: skip it)")
    parser.add_argument("--dir", help="where the databases go (e.g. /dev/shm: no disk I/O, "
                        "so the framework's own overhead shows most)")
    args = parser.parse_args(argv)

    times: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        sides = Sides(tmp)
        for n in range(args.pairs + 1):  # pair 0 warms up and is not counted
            order = ("registry", "raw") if n % 2 else ("raw", "registry")
            runs = {side: sides.batches(side, args.batch) for side in order}
            for op in runs[order[0]]:
                for side in order:  # the two sides of one operation run back to back
                    seconds = per_op(runs[side][op], args.batch)
                    if n:
                        times.setdefault(op, {}).setdefault(side, []).append(seconds)
        cold = [compare(op, ours, sides.calls("raw")[op], args.cold_pairs, args.batch)
                for op, ours in sides.calls("registry").items()] if args.cold_pairs else []
        sides.close()

    print(f"SQLite stores through the registry vs raw sqlite3, {args.pairs} interleaved "
          f"pairs of {args.batch}-operation batches, in {args.dir or tempfile.gettempdir()}")
    print(f"{'operation':<27} {'registry us':>11} {'raw us':>8} {'ratio':>7}  target")
    for op, measured in times.items():
        ratio = statistics.median(a / b for a, b in zip(measured["registry"], measured["raw"],
                                                        strict=True))
        fw, rw = (statistics.median(measured[s]) * 1e6 for s in ("registry", "raw"))
        target = TARGETS.get(op)
        verdict = "-" if target is None else f"<= {target:.2f}x " + (
            "ok" if ratio <= target else "MISSED")
        print(f"{op:<27} {fw:>11.2f} {rw:>8.2f} {ratio:>6.2f}x  {verdict}")
    print("ratio: median over pairs of registry time / raw time; us: median per operation")
    if cold:
        print("\nCold: the two sides alternate call by call (each evicts the other's code and"
              " objects from the CPU caches, as other work does in an application)")
        print_table(cold, "sqlite3", args.cold_pairs, 1.10)


if __name__ == "__main__":
    main()
