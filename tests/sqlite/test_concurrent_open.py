"""Processes that open a brand-new file at the same moment all get a connection.

A file another process is creating or switching to WAL answers "busy" at once, without
SQLite's busy handler waiting: that answer used to fail the open with "stayed locked ...
for 30s" after a fraction of a second (about 1 in 6 runs of two concurrent
``migrate --migrate`` on a fresh data directory).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROUNDS, PROCESSES = 100, 6

RACE = textwrap.dedent('''
    import multiprocessing, sys
    from aragora_storage_core.sqlite.connection import connect

    def open_and_write(path, barrier, results):
        barrier.wait()  # every process opens the new file at the same moment
        try:
            conn = connect(path, 10.0)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
            conn.execute("COMMIT")
            results.put("ok")
        except Exception as error:
            results.put(f"{type(error).__name__}: {error}")

    if __name__ == "__main__":
        folder, rounds, processes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        context = multiprocessing.get_context("fork")
        for number in range(rounds):
            barrier, results = context.Barrier(processes), context.Queue()
            workers = [context.Process(target=open_and_write,
                                       args=(f"{folder}/{number}.db", barrier, results))
                       for _ in range(processes)]
            for worker in workers:
                worker.start()
            outcomes = [results.get(timeout=60) for _ in workers]
            for worker in workers:
                worker.join()
            print(*(o for o in outcomes if o != "ok"), sep="\\n")
''')


@pytest.mark.slow
def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RACE, str(tmp_path), str(ROUNDS), str(PROCESSES)],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    failures = [line for line in result.stdout.splitlines() if line.strip()]
    assert failures == []
    assert len(list(tmp_path.glob("*.db"))) == ROUNDS
