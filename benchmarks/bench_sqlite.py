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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from timing import audit, per_op, user

from aragora_storage_core.models import AuditEntry, User
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
TARGETS = {"get_by_id": 1.10, "UserStore.create": 1.10, "AuditStore.log": 1.10}


def now_iso() -> str:
    """The timestamp text both sides write."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def dumps(value: Any) -> str:
    """JSON text as both sides store it."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class RawSQLite:
    """What a careful programmer writes by hand with ``sqlite3`` for the same operations."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                    check_same_thread=False)
        for pragma in PRAGMAS:
            self.conn.execute(pragma)

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

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class Sides:
    """The same operations on the registry's stores and on :class:`RawSQLite`."""

    def __init__(self, tmp: str) -> None:
        self.registries = [Registry(Settings.from_env({"ARAGORA_DATA_DIR": f"{tmp}/{side}"}))
                           for side in ("registry", "raw")]
        self.users = self.registries[0].store("users")
        self.audit = self.registries[0].store("audit")
        self.registries[1].store("users")  # the same migrations make the raw side's file
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
        self.batch += 1
        ids = [self.ids[(self.batch * size + i) % len(self.ids)] for i in range(size)]
        fresh = [user(f"{side}{self.batch}-{i}") for i in range(size)]
        many = [user(f"{side}{self.batch}-bulk{i}") for i in range(size)]
        entries = [audit(i) for i in range(size)]

        def reads() -> None:
            for key in ids:
                users.get_by_id(key)

        def creates() -> None:
            for new in fresh:
                users.create(new)

        def logs() -> None:
            for entry in entries:
                audit_log.log(entry)

        return {"get_by_id": reads, "UserStore.create": creates, "AuditStore.log": logs,
                "create_many (executemany)": lambda: users.create_many(many) and None}

    def close(self) -> None:
        """Close both sides."""
        self.raw.close()
        self.registries[0].close()


def main(argv: Sequence[str] | None = None) -> None:
    """Run every comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100, help="interleaved batch pairs")
    parser.add_argument("--batch", type=int, default=100, help="operations per batch")
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


if __name__ == "__main__":
    main()
