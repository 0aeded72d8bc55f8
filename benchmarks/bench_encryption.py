"""Encryption at rest, side by side with the same work unencrypted, in one run (< 1 min).

1. Store operations on SQLCipher through the registry vs the same stores on plain SQLite,
   and raw ``sqlcipher3`` vs raw ``sqlite3`` on the same SQL (SQLCipher's own cost).
2. Column encryption: ``WebhookStore.create``/``get`` with a Fernet key vs without, and
   the cipher's encrypt + decrypt alone per value.
3. Opening connections: passphrase derivations for N connections to one database, and
   the time to open one (cached raw key vs SQLCipher's own passphrase KDF vs plain).

Each pair runs back to back many times, alternating which goes first; ratios are the
median over the pairs.

    .venv/bin/python benchmarks/bench_encryption.py [--pairs 15] [--batch 100]
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlcipher3 import dbapi2

from aragora_storage_core.encryption.fernet import FernetColumns
from aragora_storage_core.encryption.sqlcipher import DatabaseKey, derivation_count
from aragora_storage_core.models import User, Webhook
from aragora_storage_core.registry import Registry
from aragora_storage_core.sqlite.connection import connect

PASSPHRASE = "benchmark passphrase with a 'quote' 0123456789"
COLUMN_KEY = Fernet.generate_key().decode()


def paired(a: Callable[[int], None], b: Callable[[int], None], pairs: int,
           batch: int) -> tuple[float, float, float]:
    """Median seconds per operation of ``a`` and ``b``, and the median of their ratios."""
    times_a: list[float] = []
    times_b: list[float] = []
    counter = 0
    for pair in range(pairs):
        order = [(a, times_a), (b, times_b)]
        if pair % 2:
            order.reverse()
        for action, times in order:
            gc.disable()
            start = time.perf_counter()
            for _ in range(batch):
                counter += 1
                action(counter)
            times.append((time.perf_counter() - start) / batch)
            gc.enable()
    ratios = [x / y for x, y in zip(times_a, times_b, strict=True)]
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def registry(directory: Path, encrypted: bool, column_key: bool = False) -> Registry:
    """A registry over a fresh data directory."""
    env = {"ARAGORA_DATA_DIR": str(directory)}
    if encrypted:
        env.update(ARAGORA_SQLITE_ENCRYPTION="1", ARAGORA_SQLITE_KEY=PASSPHRASE)
    if column_key:
        env["ARAGORA_ENCRYPTION_KEY"] = COLUMN_KEY
    return Registry(env=env)


def user(n: int, tag: str) -> User:
    """A user row."""
    return User(id=f"{tag}{n}", email=f"{tag}{n}@example.com", password_hash="h" * 64,
                password_salt="s" * 32, name=f"User {n}")


def store_rows(root: Path, pairs: int, batch: int) -> list[dict[str, Any]]:
    """Registry on SQLCipher vs registry on plain SQLite, per store operation."""
    secret, plain = registry(root / "enc", True), registry(root / "plain", False)
    enc_users, plain_users = secret.store("users"), plain.store("users")
    results = []
    for name, a, b in (
        ("UserStore.create", lambda n: enc_users.create(user(n, "c")),
         lambda n: plain_users.create(user(n, "c"))),
        ("UserStore.get_by_id", lambda n: enc_users.get_by_id(f"c{n % 50 + 1}"),
         lambda n: plain_users.get_by_id(f"c{n % 50 + 1}")),
    ):
        enc_s, plain_s, ratio = paired(a, b, pairs, batch)
        results.append({"operation": name, "sqlcipher_us": enc_s * 1e6,
                        "plain_us": plain_s * 1e6, "ratio": ratio})
    secret.close()
    plain.close()
    return results


def raw_rows(root: Path, pairs: int, batch: int) -> list[dict[str, Any]]:
    """Hand-written ``sqlcipher3`` vs ``sqlite3``: insert and point read, same pragmas."""
    enc = connect(root / "raw-enc.db", key=DatabaseKey(PASSPHRASE))
    plain = sqlite3.connect(root / "raw-plain.db", isolation_level=None)
    plain.execute("PRAGMA journal_mode = WAL")
    plain.execute("PRAGMA synchronous = NORMAL")
    for conn in (enc, plain):
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")

    def insert(conn: Any) -> Callable[[int], None]:
        def run(n: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (f"value {n}" * 4,))
            conn.execute("COMMIT")
        return run

    def read(conn: Any) -> Callable[[int], None]:
        return lambda n: conn.execute("SELECT v FROM t WHERE id = ?", (n % 50 + 1,)).fetchone()

    results = []
    for name, make in (("raw insert", insert), ("raw point read", read)):
        enc_s, plain_s, ratio = paired(make(enc), make(plain), pairs, batch)
        results.append({"operation": name, "sqlcipher_us": enc_s * 1e6,
                        "plain_us": plain_s * 1e6, "ratio": ratio})
    enc.close()
    plain.close()
    return results


def column_rows(root: Path, pairs: int, batch: int) -> list[dict[str, Any]]:
    """Webhook store with and without a Fernet key, and the cipher alone."""
    sealed, plain = registry(root / "col", False, True), registry(root / "nocol", False)
    sealed_hooks, plain_hooks = sealed.store("webhooks"), plain.store("webhooks")

    def hook(n: int) -> Webhook:
        return Webhook(f"w{n}", "org", "https://example.com/hook", f"whsec_{n:032d}")

    results = []
    for name, a, b in (
        ("WebhookStore.create", lambda n: sealed_hooks.create(hook(n)),
         lambda n: plain_hooks.create(hook(n))),
        ("WebhookStore.get", lambda n: sealed_hooks.get(f"w{n % 50 + 1}"),
         lambda n: plain_hooks.get(f"w{n % 50 + 1}")),
    ):
        with_s, without_s, ratio = paired(a, b, pairs, batch)
        results.append({"operation": name, "fernet_us": with_s * 1e6,
                        "plain_us": without_s * 1e6, "ratio": ratio,
                        "overhead_us": (with_s - without_s) * 1e6})
    cipher = FernetColumns([COLUMN_KEY])
    rounds = 2000
    start = time.perf_counter()
    for n in range(rounds):
        cipher.decrypt("webhooks", "secret", cipher.encrypt("webhooks", "secret", f"s{n}"))
    results.append({"operation": "Fernet encrypt+decrypt of one value",
                    "fernet_us": (time.perf_counter() - start) / rounds * 1e6})
    sealed.close()
    plain.close()
    return results


def open_rows(root: Path, connections: int) -> dict[str, Any]:
    """Derivations for ``connections`` opens of one database, and the cost of one open."""
    path = root / "open.db"
    key = DatabaseKey(PASSPHRASE)
    before = derivation_count()
    start = time.perf_counter()
    connect(path, key=key).close()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(connections - 1):
        connect(path, key=key).close()
    cached = (time.perf_counter() - start) / (connections - 1)
    derivations = derivation_count() - before
    tool_path = root / "tool.db"
    tool = dbapi2.connect(str(tool_path))
    tool.execute("PRAGMA key = 'plain-passphrase-for-the-kdf'")
    tool.execute("CREATE TABLE t (x)")
    tool.close()
    start = time.perf_counter()
    for _ in range(3):
        tool = dbapi2.connect(str(tool_path))
        tool.execute("PRAGMA key = 'plain-passphrase-for-the-kdf'")
        tool.execute("SELECT count(*) FROM t").fetchone()
        tool.close()
    kdf_each = (time.perf_counter() - start) / 3
    start = time.perf_counter()
    for _ in range(connections):
        connect(root / "open-plain.db").close()
    plain = (time.perf_counter() - start) / connections
    return {"connections": connections, "derivations": derivations,
            "first_open_ms": first * 1e3, "open_cached_key_ms": cached * 1e3,
            "open_sqlcipher_kdf_ms": kdf_each * 1e3, "open_plain_ms": plain * 1e3}


def main() -> None:
    """Run every section and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report = {
            "stores": store_rows(root, args.pairs, args.batch),
            "raw": raw_rows(root, args.pairs, args.batch),
            "columns": column_rows(root, args.pairs, args.batch),
            "open": open_rows(root, args.connections),
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("SQLCipher vs plain SQLite (median per operation)")
    for row in report["stores"] + report["raw"]:
        print(f"  {row['operation']:<22} sqlcipher {row['sqlcipher_us']:8.1f} us   "
              f"plain {row['plain_us']:8.1f} us   ratio {row['ratio']:.2f}")
    print("Column encryption (webhooks.secret, Fernet)")
    for row in report["columns"]:
        if "ratio" in row:
            print(f"  {row['operation']:<22} fernet {row['fernet_us']:8.1f} us   "
                  f"plain {row['plain_us']:8.1f} us   ratio {row['ratio']:.2f}   "
                  f"+{row['overhead_us']:.1f} us")
        else:
            print(f"  {row['operation']:<38} {row['fernet_us']:8.1f} us")
    opened = report["open"]
    print(f"Opening {opened['connections']} connections to one encrypted database: "
          f"{opened['derivations']} key derivation(s)")
    print(f"  first open (derives) {opened['first_open_ms']:.1f} ms   "
          f"later opens (cached key) {opened['open_cached_key_ms']:.2f} ms   "
          f"with SQLCipher's passphrase KDF {opened['open_sqlcipher_kdf_ms']:.2f} ms   "
          f"plain {opened['open_plain_ms']:.2f} ms")


if __name__ == "__main__":
    main()
