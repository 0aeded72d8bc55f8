"""Throwaway ``redis-server`` processes for tests that restart, slow down or secure one.

Each listens on a free port of 127.0.0.1, keeps nothing on disk, and is stopped by the
test that started it. The shared server on 6379 is never touched this way.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from aragora_storage_core.errors import BackendUnavailableError


def free_port(bus: bool = False) -> int:
    """A TCP port nothing listens on right now; with ``bus``, port + 10000 is free too
    (a cluster node's bus port)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not bus:
            return port
        if port + 10000 < 65536:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


class RedisServerProcess:
    """One ``redis-server`` started with extra arguments; ``restart`` keeps its port."""

    def __init__(self, workdir: Path, *args: str, tls: bool = False, bus: bool = False,
                 config: Path | None = None) -> None:
        self.workdir = workdir
        self.args = args
        self.tls = tls
        self.port = free_port(bus)
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServerProcess:
        """Start the server and wait until its port accepts connections."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        listen = ["--port", "0", "--tls-port", str(self.port)] if self.tls else [
            "--port", str(self.port)]
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [binary, *([str(self.config)] if self.config else []), *listen,
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), *self.args],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log_text = (self.workdir / "redis.log").read_text(errors="replace")
                pytest.fail(f"redis-server exited at start:\n{log_text[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        pytest.fail("redis-server did not start listening within 10 s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port: a new run_id and an empty dataset."""
        self.stop()
        self.start()

    def url(self, scheme: str = "redis", auth: str = "", query: str = "") -> str:
        """The server's URL, with ``user:password@`` and ``?query`` when given."""
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0" + (f"?{query}" if query else "")


#: Seconds after which a test waiting on a stalled server has hung.
HANG_GUARD_SECONDS = 30


def stall(server: RedisServerProcess, seconds: float) -> Callable[[], None]:
    """Make the server sleep ``seconds`` (DEBUG SLEEP); return a wait-until-awake function."""
    sleeper = socket.create_connection(("127.0.0.1", server.port))
    sleeper.sendall(f"DEBUG SLEEP {seconds}\r\n".encode())
    time.sleep(0.3)  # let the server start sleeping before the command under test

    def awake() -> None:
        sleeper.settimeout(HANG_GUARD_SECONDS)
        assert sleeper.recv(16).startswith(b"+OK")
        sleeper.close()

    return awake


def assert_sent_once(error: BaseException, server: RedisServerProcess, stream: str) -> None:
    """``error`` says an XADD timed out (after 0.4 s) and was not retried; the server
    applied it exactly once to ``stream`` (after waking up)."""
    assert isinstance(error, BackendUnavailableError)
    assert "stream_events.append timed out after 0.4s" in error.message
    assert "never applied twice" in error.message
    raw = redis.Redis(port=server.port)
    try:
        assert raw.xlen(stream) == 1
    finally:
        raw.close()
