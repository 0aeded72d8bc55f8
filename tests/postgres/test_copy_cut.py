"""A bulk insert (COPY) cut by a server restart: one clean error, nothing printed.

psycopg2 2.9 printed a ``SystemError`` chain (``<function decode> returned a result with
an exception set``, caused by ``AdminShutdown``) on stderr while raising the connection
error. The insert runs in a child process so that everything it prints, until the
interpreter has exited, is seen.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
INSERT = """
import sys
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry

backend = Registry(env={"ARAGORA_AUTO_MIGRATE": "1"}).connect(sys.argv[1])
users = backend.store("users")
rows = [User(id=f"cut-{i}", email=f"cut-{i}@x", password_hash="h" * 50, password_salt="s")
        for i in range(300_000)]
print("ready", flush=True)
try:
    users.create_many(rows)
    print("inserted")
except Exception as error:
    print(type(error).__name__)
backend.close()
"""
COPYING = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY users%%'"


def test_a_copy_cut_by_a_restart_raises_one_clean_error_and_prints_nothing(
        scratch_cluster: Any) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", INSERT, scratch_cluster.url(sslmode="disable")], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    deadline = time.monotonic() + 120
    while not scratch_cluster.admin(COPYING, dbname="aragora"):
        assert time.monotonic() < deadline and child.poll() is None, "the COPY never ran"
        time.sleep(0.005)  # polling for the fault's moment, not a timing assertion
    scratch_cluster.restart()
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    assert out.strip() == "ConnectionLostError"
    assert err == ""


def test_only_that_print_is_dropped_every_other_exception_reaches_the_hook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg2
    from aragora_storage_postgres.copy_guard import quiet_copy

    seen: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, tb: seen.append(kind))
    stray = SystemError("returned a result with an exception set")
    stray.__cause__ = psycopg2.OperationalError("terminating connection")
    with quiet_copy():
        sys.excepthook(SystemError, stray, None)
        sys.excepthook(ValueError, ValueError("an application's own error"), None)
    sys.excepthook(SystemError, stray, None)  # outside a COPY: reported as ever
    assert seen == [ValueError, SystemError]
