"""docs/async.md's FastAPI example, exactly as written, served by uvicorn and driven with
real HTTP requests (httpx), against SQLite and against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores import UserStore
from tests.conftest import IN_CI

DOC = Path(__file__).resolve().parents[2] / "docs" / "async.md"
BLOCK = re.compile(r"^```python file=app\.py\n(.*?)^```$", re.S | re.M)


def app_source() -> str:
    """The example app of docs/async.md, as written there."""
    (source,) = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    return str(source)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, with its schema (as the doc says to apply it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/app.db"
        return
    from tests.postgres.conftest import HOST, PORT, USER, admin_connection, drop_database

    admin, name = admin_connection(), f"i15_doc_{secrets.token_hex(6)}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://{USER}@{HOST}:{PORT}/{name}"
    try:
        _require_async_path(url)
        _cli(url, "migrate", "--migrate")
        yield url
    finally:
        drop_database(admin, name)
        admin.close()


def _require_async_path(url: str) -> None:
    """The example needs the backend's async path: fail in CI without it, skip elsewhere."""
    registry = Registry(env={})
    try:
        backend = registry.connect(url)
        declared = type(backend).make_async_store is not Backend.make_async_store
    finally:
        registry.close()
    if declared:
        return
    message = f"the {backend.name} plugin has no async path"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(f"{message} (would fail under CI=true)")


def _cli(url: str, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "aragora_storage_core", *args],
                            env={**os.environ, "DATABASE_URL": url}, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


class Served:
    """``uvicorn app:app`` in a child process, on a socket bound here (a free port)."""

    def __init__(self, folder: Path, url: str) -> None:
        (folder / "app.py").write_text(app_source(), encoding="utf-8")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.log = folder / "uvicorn.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app:app", "--fd",
                 str(self.listener.fileno())],
                cwd=folder, env={**os.environ, "DATABASE_URL": url},
                pass_fds=(self.listener.fileno(),), stdout=log, stderr=subprocess.STDOUT)
        self.listener.close()  # the child's copy serves; a crashed child refuses requests

    def stop(self) -> str:
        """Stop the server the way a deployment does (SIGTERM); its log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path, database_url)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


async def _conversation(base: str) -> dict[str, Any]:
    """What a client sees, request by request."""
    seen: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        ada = await client.post("/users", json={"email": "ada@example.com",
                                                "password": "correct horse", "name": "Ada"})
        seen["created"] = (ada.status_code, ada.json())
        user_id = ada.json()["id"]
        seen["read"] = (await client.get(f"/users/{user_id}")).json()
        seen["taken"] = (await client.post("/users", json={
            "email": "ada@example.com", "password": "x"})).status_code
        seen["missing"] = (await client.get("/users/nobody")).status_code
        seen["before"] = (await client.get("/tokens/jti-1")).json()
        seen["revoke"] = (await client.post("/tokens/jti-1/revoke", json={})).status_code
        seen["after"] = (await client.get("/tokens/jti-1")).json()
        crowd = await asyncio.gather(*(
            client.post("/users", json={"email": f"user{n}@example.com", "password": "pw"})
            for n in range(12)))
        seen["crowd"] = [response.status_code for response in crowd]
        seen["ids"] = {response.json()["id"] for response in crowd}
    return seen


def test_the_fastapi_example_serves_users_and_revocations(served: Served,
                                                           database_url: str) -> None:
    try:
        seen = asyncio.run(_conversation(served.base))
    except httpx.HTTPError as error:  # the server died or hung: its log says why
        raise AssertionError(f"{error!r}\n{served.stop()}") from error
    log = served.stop()

    assert seen["created"][0] == 201, log
    assert seen["created"][1]["email"] == "ada@example.com"
    assert seen["read"] == seen["created"][1]
    assert (seen["taken"], seen["missing"]) == (409, 404)
    assert (seen["before"], seen["revoke"], seen["after"]) == \
        ({"revoked": False}, 204, {"revoked": True})
    assert seen["crowd"] == [201] * 12 and len(seen["ids"]) == 12
    # uvicorn re-raises the SIGTERM it handled once shut down: that is a clean stop
    assert served.process.returncode in (0, -signal.SIGTERM), log
    assert "Application shutdown complete" in log  # the lifespan closed the registry
    assert "Traceback" not in log and "ERROR" not in log
    registry = Registry(env={"DATABASE_URL": database_url})
    try:
        stored = registry.store(UserStore)
        assert stored.count() == 13
        ada = stored.get_by_id(seen["created"][1]["id"])
        assert ada is not None and ada.name == "Ada" and ada.password_hash != "correct horse"
    finally:
        registry.close()
