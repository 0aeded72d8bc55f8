"""A forked child (gunicorn ``--preload``, multiprocessing) never uses its parent's sessions."""

from __future__ import annotations

import os

import pytest
from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.models import User

pytestmark = pytest.mark.postgres
PID = "SELECT pg_backend_pid()"


def test_forked_child_opens_its_own_session_and_leaves_the_parents_alone(
        pg_backend: PostgresBackend) -> None:
    users = pg_backend.store("users")
    (parent_session,) = pg_backend.database.fetch_one(PID) or (0,)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its session, write a row, leave without cleanup
        code = 1
        try:
            (session,) = pg_backend.database.fetch_one(PID) or (0,)
            os.write(write, str(session).encode())
            users.create(User(id="child", email="c@x", password_hash="h", password_salt="s"))
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    child_session = int(os.read(read, 32) or b"0")
    os.close(read)
    assert os.waitpid(child, 0)[1] == 0
    assert child_session not in (0, parent_session)
    assert pg_backend.database.fetch_one(PID) == (parent_session,)
    assert users.get_by_id("child") is not None
