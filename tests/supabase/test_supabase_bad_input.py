"""Bad input and faults: each is one typed error with a hint, in bounded time, and the key
never appears in any message, repr, log line or command output."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from aragora_storage_supabase import SupabaseClient
from aragora_storage_supabase.errors import KeyRejectedError
from aragora_storage_supabase.project import key_role

from aragora_storage_core.cli import main
from aragora_storage_core.errors import (
    BackendUnavailableError,
    ConfigurationError,
    InvalidURLError,
    StorageError,
)
from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.supabase.postgrest_server import ANON_KEY
from tests.supabase.supabase_support import KEY, TestProject

pytestmark = pytest.mark.postgres
WRONG_KEY = "sb-wrong-" + KEY[::-1]


class SilentServer:
    """A real TCP listener that accepts connections and never answers (a hung project)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _open(env: dict[str, str]) -> Any:
    return Registry(env=env).active()


def _all_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


@pytest.mark.parametrize("url", ["not a url", "https://", "https://user@host", "ftp://host"])
def test_malformed_supabase_url_is_one_clear_error_without_the_key(url: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        _open({"SUPABASE_URL": url, "SUPABASE_KEY": KEY})
    assert error.value.hint
    assert KEY not in _all_text(error.value)


def test_malformed_url_error_names_the_shape_to_use() -> None:
    with pytest.raises(InvalidURLError) as error:
        _open({"SUPABASE_URL": "yourproject.supabase.co", "SUPABASE_KEY": KEY})
    assert "scheme://" in error.value.message


def test_plain_http_to_a_remote_host_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigurationError) as error:
        _open({"SUPABASE_URL": "http://example.com", "SUPABASE_KEY": KEY})
    assert "http://" in error.value.message and "https://" in error.value.hint
    assert KEY not in _all_text(error.value)


def test_invalid_timeout_is_a_configuration_error(postgrest: TestProject) -> None:
    with pytest.raises(ConfigurationError, match="SUPABASE_TIMEOUT"):
        _open({"SUPABASE_URL": postgrest.url, "SUPABASE_KEY": KEY, "SUPABASE_TIMEOUT": "-1"})


def test_wrong_key_is_rejected_at_connect_and_never_shown(
        postgrest: TestProject) -> None:
    with pytest.raises(KeyRejectedError) as error:
        _open({"SUPABASE_URL": postgrest.url, "SUPABASE_KEY": WRONG_KEY})
    assert "rejected the key" in error.value.message and "SUPABASE_KEY" in error.value.hint
    assert WRONG_KEY not in _all_text(error.value)


def test_unreachable_project_is_a_typed_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(BackendUnavailableError) as error:
        _open({"SUPABASE_URL": url, "SUPABASE_KEY": KEY})
    assert "cannot reach" in error.value.message
    assert KEY not in _all_text(error.value) + caplog.text


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_hung_project_times_out_within_supabase_timeout(silent: SilentServer) -> None:
    with pytest.raises(BackendUnavailableError) as error:
        _open({"SUPABASE_URL": silent.url, "SUPABASE_KEY": KEY, "SUPABASE_TIMEOUT": "0.3"})
    assert "timed out after 0.3s" in error.value.message
    assert "SUPABASE_TIMEOUT" in error.value.hint


def test_project_going_down_mid_use_says_a_write_may_not_have_been_applied(
        supabase_backend: Any, project_database: str) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)  # tables ready on the session server
    server = TestProject(project_database).start()
    registry = Registry(env={"SUPABASE_URL": server.url, "SUPABASE_KEY": KEY})
    events = registry.active().store(StoreKind.STREAM_EVENTS)
    events.append(StreamEvent("loop-down", 1, "cycle_start", {}))
    server.stop()
    with pytest.raises(BackendUnavailableError) as error:
        events.append(StreamEvent("loop-down", 1, "phase_start", {}))
    assert "may or may not have been applied" in error.value.message
    registry.close()


def test_backend_and_project_reprs_and_descriptions_hide_the_key(supabase_backend: Any) -> None:
    shown = " ".join([repr(supabase_backend), repr(supabase_backend.project),
                      str(supabase_backend.describe()), str(supabase_backend.url),
                      repr(supabase_backend.url), repr(supabase_backend.settings),
                      repr(Registry(env={"SUPABASE_URL": "https://p.supabase.co",
                                         "SUPABASE_KEY": KEY}).explain())])
    assert KEY not in shown
    assert "***" in shown


@pytest.mark.parametrize("key", [KEY, WRONG_KEY])
@pytest.mark.parametrize("command", [["doctor"], ["doctor", "--json"], ["migrate"],
                                     ["plugins"]])
def test_no_command_ever_prints_or_logs_the_key(
        key: str, command: list[str], postgrest: TestProject,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SUPABASE_URL", postgrest.url)
    monkeypatch.setenv("SUPABASE_KEY", key)
    main(command)
    out, err = capsys.readouterr()
    assert key not in out + err + caplog.text
    assert out + err, "the command said something"


def test_seed_compat_client_reports_configuration_without_the_key() -> None:
    client = SupabaseClient({"SUPABASE_URL": "https://p.supabase.co", "SUPABASE_KEY": KEY})
    assert client.is_configured is True
    assert KEY not in repr(client) and "***" in repr(client)
    assert SupabaseClient({"SUPABASE_URL": "https://p.supabase.co"}).is_configured is False
    assert SupabaseClient({}).is_configured is False
    with pytest.raises(StorageError) as error:
        _ = SupabaseClient({"SUPABASE_KEY": KEY}).client
    assert KEY not in _all_text(error.value)


def test_seed_compat_client_opens_the_supabase_client(postgrest: TestProject) -> None:
    client = SupabaseClient({"SUPABASE_URL": postgrest.url, "SUPABASE_KEY": KEY})
    rows = client.client.table("schema_version").select("version").limit(1).execute().data
    assert isinstance(rows, list)


@pytest.mark.parametrize(("key", "role"), [
    (ANON_KEY, "anon"), ("sb_publishable_x", "anon"), (KEY, "service_role"),
    ("sb_secret_x", "service_role"), ("not-a-jwt", None)])
def test_the_keys_role_is_read_from_its_claim_or_prefix(key: str, role: str | None) -> None:
    assert key_role(key) == role


def test_the_anon_key_is_refused_at_connect_naming_it_and_the_fix(
        supabase_backend: Any, postgrest: TestProject) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)  # migrated: grants and RLS in place
    with pytest.raises(KeyRejectedError) as error:
        _open({"SUPABASE_URL": postgrest.url, "SUPABASE_KEY": ANON_KEY})
    assert "anon key" in error.value.message and "service_role" in error.value.hint
    assert ANON_KEY not in _all_text(error.value)


class RedirectingProject:
    """A project address that redirects every request to another server (``sink``), which
    records the headers it receives; stands in for a proxy or domain pointing elsewhere."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.received: list[dict[str, str]] = []
        received = self.received

        class Sink(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"[]")

            def log_message(self, *args: Any) -> None:
                pass

        self.sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        target = f"http://localhost:{self.sink.server_port}"

        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(302)
                self.send_header("Location", target + self.path)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.front = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        self.url = f"http://127.0.0.1:{self.front.server_port}"
        for server in (self.sink, self.front):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop both servers."""
        for server in (self.front, self.sink):
            server.shutdown()
            server.server_close()


def test_redirect_to_another_host_is_an_error_and_the_key_is_not_sent_there() -> None:
    project = RedirectingProject()
    try:
        with pytest.raises(BackendUnavailableError) as error:
            _open({"SUPABASE_URL": project.url, "SUPABASE_KEY": KEY})
    finally:
        project.close()
    assert project.received == []
    assert error.value.message.startswith(f"the Supabase project at {project.url} answered")
    assert "redirect" in error.value.message and error.value.hint
    assert KEY not in _all_text(error.value)
