"""Several processes writing one SQLite database through the stores lose no update.

Python's default ``sqlite3`` transaction handling starts a transaction lazily at the first
write, so a read-modify-write reads outside any lock: two writers read the same value and
one increment is lost, or the two readers both try to upgrade to writers and one gets
"database is locked" at once (SQLite does not wait in that deadlock). The stores open
every write with ``BEGIN IMMEDIATE`` and retry "busy" with back-off; these tests run real
processes against one file and count.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings

WORKERS = 3
INCREMENTS = 150
USER_ID = "u-counter"

#: argv: data dir, start flag file, increments, how to increment, threads. Prints "ready"
#: first. Each thread opens its own connection when it starts writing.
_WORKER = """
import sys, threading, time
from pathlib import Path
from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings

data_dir, flag, count, how = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
threads = int(sys.argv[5])
registry = Registry(Settings.from_env({"ARAGORA_DATA_DIR": data_dir}))
users = registry.store("users")
database = registry.active().database_for(DatabaseType.USERS)
users.get_by_id("u-counter")
print("ready", flush=True)
while not flag.exists():
    time.sleep(0.005)
def increment(times):
    for _ in range(times):
        if how == "sql":
            users.record_failed_login("u-counter")
        else:
            with database.transaction():
                user = users.get_by_id("u-counter")
                users.update("u-counter", failed_login_count=user.failed_login_count + 1)
workers = [threading.Thread(target=increment, args=(count // threads,)) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
registry.close()
"""


def _registry(data_dir: Path) -> Registry:
    return Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(data_dir)}))


def _race(data_dir: Path, how: str, threads: int = 1,
          counts: tuple[int, ...] = (INCREMENTS,) * WORKERS) -> int:
    """Run one process (of ``threads`` threads) per entry of ``counts``, each adding that
    many to one counter at once; return the counter's final value."""
    registry = _registry(data_dir)
    registry.store("users").create(User(id=USER_ID, email="c@example.com",
                                        password_hash="h", password_salt="s"))
    registry.close()
    flag = data_dir.parent / f"go-{how}"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(data_dir), str(flag), str(count), how,
             str(threads)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for count in counts
    ]
    try:
        for worker in workers:  # every worker has connected before any starts writing
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.communicate()[1]
        flag.touch()
        for worker in workers:
            _, stderr = worker.communicate(timeout=120)
            assert "locked" not in stderr.lower(), stderr
            assert worker.returncode == 0 and "Traceback" not in stderr, stderr
    finally:
        for worker in workers:  # never leave a worker waiting for the flag
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    registry = _registry(data_dir)
    user = registry.store("users").get_by_id(USER_ID)
    registry.close()
    assert user is not None
    return int(user.failed_login_count)


def test_processes_incrementing_in_sql_lose_no_update(tmp_path: Path) -> None:
    assert _race(tmp_path / "data", "sql") == WORKERS * INCREMENTS


def test_read_modify_write_in_one_store_transaction_loses_no_update(tmp_path: Path) -> None:
    """The pattern default ``sqlite3`` handling breaks: read in Python, write back +1."""
    assert _race(tmp_path / "data", "python") == WORKERS * INCREMENTS


def test_threads_of_several_processes_each_with_its_connection_lose_no_update(
        tmp_path: Path) -> None:
    """Three threads per process, and one process finishes and closes while the others
    still write. (Locks dropped by a thread's first connection are caught for certain by
    ``test_file_locks.py``; here they would lose updates only by chance.)"""
    counts = (30, INCREMENTS * 2, INCREMENTS * 2)
    assert _race(tmp_path / "data", "sql", threads=3, counts=counts) == sum(counts)
