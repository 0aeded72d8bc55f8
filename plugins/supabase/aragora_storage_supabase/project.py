"""The Supabase project a backend talks to: its API address, the client, typed errors.

The unmodified ``supabase`` client is created with an ``httpx`` client of our own, so
every request has a bounded timeout (``SUPABASE_TIMEOUT``, default 10 s). The key travels
only in request headers; it is never part of a URL, a message or a ``repr``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from aragora_storage_core.errors import (
    BackendUnavailableError,
    ConfigurationError,
    DuplicateError,
    StorageError,
)
from aragora_storage_core.sql import slowlog
from aragora_storage_core.url import MASK, StorageURL
from aragora_storage_supabase.errors import (
    GRANTS_HINT,
    GrantsMissingError,
    KeyRejectedError,
    TablesMissingError,
)

if TYPE_CHECKING:
    from postgrest import SyncRequestBuilder


DEFAULT_TIMEOUT = 10.0
#: Rows asked for per request (Supabase's default ``max-rows``; a project may cap lower).
PAGE_SIZE = 1000
#: PostgREST's answers for a table or column its schema cache does not hold (yet):
#: ``42P01``/``PGRST205`` (table), ``42703``/``PGRST204`` (column), ``PGRST202`` (function).
_MISSING_SCHEMA = frozenset({"PGRST205", "42P01", "42703", "PGRST204", "PGRST202"})
#: PostgREST's 503s: cannot connect to, lost, or cannot read the schema of the database;
#: and the server's own "connection terminated" / "cannot connect now" (57P01-57P03).
_DATABASE_LOST = frozenset({"PGRST000", "PGRST001", "PGRST002", "57P01", "57P02", "57P03"})
#: Statuses recognised by status, not body: the gateway's 401 for a wrong or missing key
#: (hosted or self-hosted Kong), its 502/504 when PostgREST is down or too slow, and 404
#: (PostgREST answers a write to a table not in its schema cache with a bare ``{}``).
GATEWAY_STATUSES = frozenset({401, 404, 502, 504})
_KEY_HINT = "use the project's service_role key (Dashboard > Settings > API) as SUPABASE_KEY"


def key_role(key: str) -> str | None:
    """The role a Supabase key acts as (``anon``, ``service_role``), read without verifying.

    New-style keys say it in their prefix (``sb_publishable_``, ``sb_secret_``); legacy
    keys are JWTs with a ``role`` claim. ``None`` when the key shows neither.
    """
    if key.startswith("sb_publishable_"):
        return "anon"
    if key.startswith("sb_secret_"):
        return "service_role"
    parts = key.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    role = payload.get("role") if isinstance(payload, dict) else None
    return role if isinstance(role, str) else None


def checked_key(key: str) -> str:
    """``key`` if it can travel in an HTTP header, else a :class:`ConfigurationError`.

    Supabase keys are printable ASCII without spaces. A key holding a line break (a copy
    and paste accident) would make the HTTP library fail with the key quoted in its
    message and in its DEBUG log, so it is refused before any request, unquoted.
    """
    if not key.isascii() or not key.isprintable() or " " in key:
        raise ConfigurationError(
            "SUPABASE_KEY contains a line break, space or other character no Supabase key has",
            "copy the key again from the dashboard (Settings > API) into SUPABASE_KEY, "
            "on one line")
    return key


def timeout_from(env: Mapping[str, str]) -> float:
    """``SUPABASE_TIMEOUT`` in seconds (default 10)."""
    raw = env.get("SUPABASE_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ConfigurationError("SUPABASE_TIMEOUT must be a positive number of seconds",
                                 "export SUPABASE_TIMEOUT=10")
    return value


def api_base(url: StorageURL) -> str:
    """``https://<host>[:port]`` of a ``supabase://`` URL; plain http only for this machine."""
    url.reject_unknown_options({"protocol"}, "supabase URL")
    protocol = url.params.get("protocol", "https")
    if protocol not in ("https", "http"):
        raise ConfigurationError("the supabase URL option protocol must be https or http",
                                 "export SUPABASE_URL=https://<project>.supabase.co")
    if not url.host:
        raise ConfigurationError("the supabase URL names no host",
                                 "export SUPABASE_URL=https://<project>.supabase.co")
    if protocol == "http" and not url.is_local:
        raise ConfigurationError(
            f"SUPABASE_URL uses plain http:// for the remote host {url.host}: the key and "
            "every row would travel unencrypted",
            "use the https:// project URL; http:// is accepted only for localhost")
    if not url.password:
        raise ConfigurationError("no Supabase key was given",
                                 "export SUPABASE_KEY=<service-role key>")
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{protocol}://{host}" + (f":{url.port}" if url.port else "")


class ServedSchema(NamedTuple):
    """What the API's schema cache serves: ``{table: columns}`` and function names."""

    tables: dict[str, set[str]]
    functions: set[str]


class GatewayAnswer(Exception):
    """A response the gateway (or PostgREST) gave with a status in :data:`GATEWAY_STATUSES`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def gateway_answer(response: Any) -> GatewayAnswer:
    """The :class:`GatewayAnswer` of a read ``httpx`` response with a gateway status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    return GatewayAnswer(response.status_code,
                         str(message or response.reason_phrase or "no message"))


def raise_gateway_answer(response: Any) -> None:
    """``httpx`` response hook: raise :class:`GatewayAnswer` for a gateway status."""
    if response.status_code in GATEWAY_STATUSES:
        response.read()
        raise gateway_answer(response)


def http_settings(timeout: float, hook: Callable[[Any], Any]) -> dict[str, Any]:
    """The ``httpx`` client settings of every project client: ``timeout`` (connecting
    within at most 5 s), no redirects (httpx would send the ``apikey`` header on to any
    other host), and ``hook`` on every response (:func:`raise_gateway_answer`)."""
    import httpx

    return {"timeout": httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            "follow_redirects": False, "event_hooks": {"response": [hook]}}


def client_over(http: Any, make: Callable[..., Any], options: Callable[..., Any],
                base_url: str, key: str) -> Any:
    """The ``supabase`` client ``make(base_url, key, options(...))`` makes over the ``httpx``
    client ``http``, keeping no session of its own. A URL or key the client refuses is a
    :class:`ConfigurationError` that shows neither."""
    settings = options(httpx_client=http, auto_refresh_token=False, persist_session=False)
    try:
        return make(base_url, key, settings)
    except Exception as error:  # the client validates the URL's and the key's shape
        raise ConfigurationError(
            f"the supabase client refused the project settings ({type(error).__name__})",
            "export SUPABASE_URL=https://<project>.supabase.co and SUPABASE_KEY") from None


def open_client(base_url: str, key: str, timeout: float) -> tuple[Any, Any]:
    """The unmodified ``supabase`` client over an ``httpx`` client with ``timeout``.

    Returns ``(supabase client, httpx client)``; close the second when done.
    """
    import httpx
    from supabase import ClientOptions, create_client

    http = httpx.Client(**http_settings(timeout, raise_gateway_answer))
    try:
        return client_over(http, create_client, ClientOptions, base_url, key), http
    except ConfigurationError:
        http.close()
        raise


class Transport(Protocol):
    """The clients a :class:`SupabaseProject` sends through, and how a request waits."""

    @property
    def client(self) -> Any:
        """The ``supabase`` client: builds table and function requests."""

    @property
    def http(self) -> Any:
        """The ``httpx`` client under it (for the requests the client has no call for)."""

    def send(self, request: Callable[[], Any], write: bool) -> Any:
        """The result of the request ``request()`` starts (``write``: it changes data)."""

    def close(self) -> None:
        """Close the HTTP connections."""


class SyncTransport:
    """The synchronous ``supabase`` client; a request is sent by calling it."""

    def __init__(self, base_url: str, key: str, timeout: float) -> None:
        self.client, self.http = open_client(base_url, key, timeout)

    def send(self, request: Callable[[], Any], write: bool) -> Any:
        """Send the request and wait for its answer."""
        return request()

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()


class SupabaseProject:
    """One project: the ``supabase`` client over a bounded ``httpx`` client.

    :meth:`run` executes a built PostgREST query and turns every failure into a typed
    error; :meth:`scrub` masks the key in any text. ``transport`` opens the clients and
    says how a request waits for its answer (the async path's is in :mod:`.aio`).
    """

    def __init__(self, url: StorageURL, timeout: float, slow_query_ms: float,
                 transport: Callable[[str, str, float], Transport] = SyncTransport) -> None:
        self.base_url = api_base(url)
        self.location = f"Supabase project at {self.base_url}"
        self.encrypted = self.base_url.startswith("https://")
        self.timeout = timeout
        self._key = checked_key(url.password or "")
        self.role = key_role(self._key)
        self._slow_s = slow_query_ms / 1000
        self.transport = transport(self.base_url, self._key, timeout)
        self._full_page = 0  # the largest page size the server ever answered in full

    def __repr__(self) -> str:
        return f"<SupabaseProject {self.base_url} key={MASK}>"

    @property
    def client(self) -> Any:
        """The ``supabase`` client requests are built with."""
        return self.transport.client

    @property
    def http(self) -> Any:
        """The ``httpx`` client under it."""
        return self.transport.http

    def scrub(self, text: str) -> str:
        """``text`` with the key masked."""
        return text.replace(self._key, MASK) if self._key else text

    def table(self, name: str) -> SyncRequestBuilder:
        """A PostgREST request builder for table ``name``."""
        builder: SyncRequestBuilder = self.client.table(name)
        return builder

    def execute(self, query: Any, operation: str, idempotent: bool = True,
                write: bool | None = None) -> Any:
        """Execute ``query`` (a built request); return the client's response (``data``,
        ``count``); failures become typed errors. ``write``: the request changes data
        (default: it is not a ``GET`` or ``HEAD``)."""
        from httpx import HTTPError
        from postgrest import APIError

        if write is None:
            write = query.request.http_method not in ("GET", "HEAD")
        started = perf_counter()
        try:
            response = self.transport.send(query.execute, write)
        except (APIError, HTTPError, GatewayAnswer) as error:
            raise self.translate(error, operation, idempotent) from None
        elapsed = perf_counter() - started
        if elapsed > self._slow_s:
            slowlog.report(f"supabase {operation}", elapsed, self._slow_s)
        return response

    def run(self, query: Any, operation: str, idempotent: bool = True) -> list[dict[str, Any]]:
        """Execute ``query`` (a built request); return its rows; failures become typed errors."""
        rows: list[dict[str, Any]] = self.execute(query, operation, idempotent).data
        return rows

    def rpc(self, function: str, params: dict[str, Any], operation: str,
            idempotent: bool = False) -> Any:
        """Call the database function ``function`` (``POST /rpc/<function>``); its result.

        Functions that change data are not ``idempotent``; those that only read are.
        """
        return self.execute(self.client.rpc(function, params), operation, idempotent,
                            write=not idempotent).data

    def served_schema(self) -> ServedSchema:
        """The tables (with their columns) and functions the API's schema cache holds (its
        OpenAPI root), of those the key's role may use."""
        from httpx import HTTPError

        started = perf_counter()
        headers = {"apikey": self._key, "Authorization": f"Bearer {self._key}",
                   "Accept": "application/openapi+json"}
        http = self.http
        try:
            response = self.transport.send(
                lambda: http.get(f"{self.base_url}/rest/v1/", headers=headers), write=False)
            response.raise_for_status()
            spec = response.json()
            definitions = spec.get("definitions") or {}
            paths = spec.get("paths") or {}
        except (HTTPError, GatewayAnswer) as error:
            raise self.translate(error, "read the API's schema") from None
        except ValueError:
            raise BackendUnavailableError(
                f"the {self.location} answered the schema request with no JSON",
                "check SUPABASE_URL: it must be the project's API URL") from None
        elapsed = perf_counter() - started
        if elapsed > self._slow_s:
            slowlog.report("supabase schema", elapsed, self._slow_s)
        return ServedSchema(
            {str(table): set(table_spec.get("properties") or {})
             for table, table_spec in definitions.items() if isinstance(table_spec, dict)},
            {str(path)[len("/rpc/"):] for path in paths if str(path).startswith("/rpc/")})

    def pages(self, build: Callable[[], Any], operation: str, limit: int | None = None,
              start: int = 0) -> Iterator[list[dict[str, Any]]]:
        """The rows of the ordered query ``build()`` makes, page by page, up to ``limit``
        rows from row ``start``.

        The server silently caps every answer at its ``max-rows``, so a page shorter than
        asked is the end only when the cap is known to be larger: it is shorter than an
        earlier page, or a page that size once came back full. Otherwise the next page is
        asked for, and an empty page ends the rows.
        """
        offset, largest = start, 0
        while limit is None or offset - start < limit:
            want = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - offset + start)
            page = self.run(build().range(offset, offset + want - 1), operation)
            if not page:
                return
            yield page
            offset += len(page)
            if len(page) == want:
                self._full_page = max(self._full_page, want)
            elif len(page) < largest or self._full_page >= want:
                return
            largest = max(largest, len(page))

    def translate(self, error: Exception, operation: str,
                  idempotent: bool = True) -> StorageError:
        """The typed error for a PostgREST ``APIError`` or an ``httpx`` failure."""
        import httpx
        from postgrest import APIError

        outcome = "" if idempotent else (
            "; the write may or may not have been applied and was not retried")
        if isinstance(error, GatewayAnswer):
            return self._gateway_error(error, operation, outcome)
        if isinstance(error, APIError):
            return self._api_error(error, operation, outcome)
        if isinstance(error, httpx.TimeoutException):
            return BackendUnavailableError(
                f"{operation} timed out after {self.timeout:g}s on {self.location}{outcome}",
                "check the project's status page, or raise SUPABASE_TIMEOUT")
        reason = self.scrub(str(error).strip() or type(error).__name__)
        if "CERTIFICATE_VERIFY_FAILED" in reason or "SSL" in reason:
            return BackendUnavailableError(
                f"TLS connection to the {self.location} failed ({operation}): {reason}",
                "check the system's CA certificates (or SSL_CERT_FILE) and the project URL")
        return BackendUnavailableError(
            f"cannot reach the {self.location} ({operation}): {reason}{outcome}",
            "check SUPABASE_URL and the network (is the project paused?)")

    def _gateway_error(self, error: GatewayAnswer, operation: str,
                       outcome: str) -> StorageError:
        if error.status == 404:
            return TablesMissingError(
                f"{operation}: the API of the {self.location} does not serve this table or "
                f"function ({self.scrub(error.message)})",
                "aragora-storage migrate --migrate (see docs/supabase.md)")
        if error.status == 401 and self.role == "anon":
            return KeyRejectedError(
                f"{operation}: SUPABASE_KEY is the public anon key, which may not use the "
                f"tables of the {self.location}", _KEY_HINT)
        if error.status == 401:
            return KeyRejectedError(
                f"the {self.location} rejected the key ({self.scrub(error.message)})",
                _KEY_HINT)
        what = "could not reach" if error.status == 502 else "timed out waiting for"
        return BackendUnavailableError(
            f"{operation}: the API gateway of the {self.location} {what} the database API "
            f"(HTTP {error.status}){outcome}",
            "check the project's status (Dashboard, or status.supabase.com) and retry")

    def _api_error(self, error: Any, operation: str, outcome: str) -> StorageError:
        code = str(error.code or "")
        message = self.scrub(str(error.message or "no message"))
        if message == "Invalid API key" or code.startswith("PGRST30") or code == "401":
            return KeyRejectedError(f"the {self.location} rejected the key", _KEY_HINT)
        if code in _DATABASE_LOST or code == "503":
            return BackendUnavailableError(
                f"{operation}: the {self.location} cannot reach its database "
                f"({message}, {code}){outcome}",
                "check the project's status (Dashboard, or status.supabase.com) and retry")
        if len(code) == 3 and code.startswith("3"):
            return BackendUnavailableError(
                f"the {self.location} answered {operation} with a redirect (HTTP {code}); "
                "the key is not sent to another address",
                "set SUPABASE_URL to the project's own API URL (Dashboard > Settings > API)")
        if code == "42501" and self.role == "anon":
            return KeyRejectedError(
                f"{operation}: the anon key may not use this table of the {self.location} "
                "(row level security)", _KEY_HINT)
        if code == "42501":
            return GrantsMissingError(
                f"{operation}: {message} on the {self.location}: the key's role lacks the "
                "grants the tables need", GRANTS_HINT)
        if code == "23505":
            return DuplicateError(f"{operation}: {message}", "the row exists already")
        if code == "23503":
            return DuplicateError(
                f"{operation}: the row references a missing record, or a record still "
                f"references it ({message})", "create the referenced record first")
        if code in _MISSING_SCHEMA:
            return TablesMissingError(
                f"{operation}: the {self.location} has no such table ({message})",
                "aragora-storage migrate --migrate (see docs/supabase.md)")
        return StorageError(f"the {self.location} refused {operation}: {message} ({code})",
                            "see the project's API logs (Dashboard > Logs > API)")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.transport.close()
