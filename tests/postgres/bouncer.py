"""A throwaway PgBouncer (Debian's ``pgbouncer``) in front of a PostgreSQL server.

Started on a free port with a generated ini: transaction pooling, trust authentication
of the ``postgres`` user (the server behind it trusts local connections), and a small
server pool, so that consecutive transactions of one client run on whichever server
connection is free. As root it runs as the ``postgres`` user (pgbouncer refuses root).
Installed by ``.ci/setup.d/30-pgbouncer.sh``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.postgres.cluster import free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


class Bouncer:
    """One pgbouncer process: :meth:`start`, :meth:`stop`; ``url(db)`` connects through it."""

    def __init__(self, server_host: str, server_port: int, *, pool_mode: str = "transaction",
                 server_pool_size: int = 2, ignore_startup_parameters: str = "") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="aragora-bouncer-", dir="/tmp"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        (self.root / "users.txt").write_text('"postgres" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={server_host} port={server_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            f"pool_mode = {pool_mode}\ndefault_pool_size = {server_pool_size}\n"
            "max_client_conn = 500\nserver_reset_query =\n"
            f"ignore_startup_parameters = {ignore_startup_parameters}\n"
            f"logfile = {self.root / 'pgbouncer.log'}\npidfile = {self.root / 'pgbouncer.pid'}\n")
        if self.as_server:
            shutil.chown(self.root, "postgres")

    @staticmethod
    def installed() -> bool:
        """True when the pgbouncer binary is on this machine."""
        return Path(BINARY).exists()

    def start(self) -> None:
        """Start pgbouncer in the background and wait until it accepts connections."""
        subprocess.run([*self.as_server, BINARY, "-d", str(self.root / "pgbouncer.ini")],
                       check=True, capture_output=True, cwd=self.root)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start; see {self.root / 'pgbouncer.log'}")

    def stop(self) -> None:
        """Stop the pgbouncer this object started (by its pid) and delete its directory."""
        pidfile = self.root / "pgbouncer.pid"
        if pidfile.exists():
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, user: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` through this pgbouncer."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"
