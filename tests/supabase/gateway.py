"""What Supabase's API gateway does in front of PostgREST, and nothing more.

It serves ``/rest/v1/...`` by stripping the prefix, checks the ``apikey`` header (or query
parameter) against the project's keys, and passes the request, its ``Authorization``
JWT included, to PostgREST; PostgREST's answer comes back unchanged. Two flavours answer
in their own words: ``hosted`` (supabase.co) and ``kong`` (self-hosted Supabase's Kong).
When PostgREST cannot be reached the gateway answers 502, and 504 when it does not
answer within ``upstream_timeout`` seconds, as both gateways do.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PREFIX = "/rest/v1"
#: The 401 bodies of each gateway: (wrong key, no key).
REJECTIONS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "hosted": ({"message": "Invalid API key",
                "hint": "Double check your Supabase `anon` or `service_role` API key."},
               {"message": "No API key found in request",
                "hint": "No `apikey` request header or url param was found."}),
    "kong": ({"message": "Invalid authentication credentials"},
             {"message": "No API key found in request"}),
}
UPSTREAM_ERRORS = {502: {"message": "An invalid response was received from the upstream server"},
                   504: {"message": "The upstream server is timing out"}}
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "apikey",
                         "content-length"})
_PASSED_BACK = ("content-type", "content-range", "content-location", "location",
                "preference-applied", "proxy-status")


class _Server(ThreadingHTTPServer):
    """Accepts as many waiting connections as the system allows (socketserver's default
    backlog of 5 made dozens of concurrent clients wait for TCP retransmits)."""

    request_queue_size = 1024


class Gateway:
    """A gateway on a free port of 127.0.0.1 in front of the PostgREST at ``upstream``."""

    def __init__(self, upstream: str, keys: Collection[str], flavour: str = "hosted",
                 upstream_timeout: float = 60.0, tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.keys = set(keys)
        self.flavour = flavour
        self.upstream_timeout = upstream_timeout
        self._local = threading.local()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are written separately

            def _serve(self) -> None:
                gateway.serve(self)

            do_GET = do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        host = "localhost" if tls is not None else "127.0.0.1"
        self.url = f"{scheme}://{host}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Gateway:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's keep-alive connection to PostgREST."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(*self.upstream,
                                                    timeout=self.upstream_timeout)
            self._local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _forward(self, method: str, path: str, body: bytes,
                 headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:
        """Send the request on this thread's keep-alive connection; when PostgREST had
        closed that idle connection (nothing was received), send it once more on a new
        one, as proxies do."""
        reused = getattr(self._local, "connection", None) is not None
        connection = self._connection()
        try:
            connection.request(method, path, body=body or None, headers=headers)
            upstream = connection.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self._drop_connection()
            if not reused:
                raise
            connection = self._connection()
            connection.request(method, path, body=body or None, headers=headers)
            upstream = connection.getresponse()
        return upstream, upstream.read()

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one request: reject it, or pass it to PostgREST and relay the answer."""
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        parts = urlsplit(request.path)
        key = request.headers.get("apikey") or dict(parse_qsl(parts.query)).get("apikey")
        if not parts.path.startswith(PREFIX + "/"):
            return _answer(request, 404, {"message": "no Route matched with those values"})
        if not key or key not in self.keys:
            wrong, missing = REJECTIONS[self.flavour]
            return _answer(request, 401, wrong if key else missing)
        path = parts.path[len(PREFIX):] + (f"?{parts.query}" if parts.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        if "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = f"Bearer {key}"
        try:
            upstream, payload = self._forward(request.command, path, body, headers)
        except TimeoutError:
            self._drop_connection()
            return _answer(request, 504, UPSTREAM_ERRORS[504])
        except (OSError, http.client.HTTPException):
            self._drop_connection()
            return _answer(request, 502, UPSTREAM_ERRORS[502])
        request.send_response(upstream.status)
        for name in _PASSED_BACK:
            value = upstream.getheader(name)
            if value is not None:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(payload)


def _answer(request: BaseHTTPRequestHandler, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(data)
