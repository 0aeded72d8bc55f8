"""Parse database URLs into an immutable value whose text never shows the password.

Passwords may contain ``@``, ``/``, ``%``, ``?`` or spaces without being percent-encoded:
the user part ends at the last ``@`` of the URL, unless that ``@`` sits in a well-formed
query after a user part of its own (``postgresql://app@host/db?password=pa@hunter2``).
Host-less schemes (``sqlite://``) take no user, password or host at all. The host part
may list several hosts, comma separated (``redis+sentinel://s1:26379,s2:26379/...``);
``host``/``port`` are the first. Percent escapes (``%40``) are decoded; a ``%`` that
starts no escape is kept as it is. Parse errors never echo the input.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from urllib.parse import quote, unquote

from aragora_storage_core.errors import ConfigurationError, InvalidURLError
from aragora_storage_core.records import dataclass, field, replace

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
#: URL schemes that are spellings of another one: ``postgres://`` is ``postgresql://``.
SCHEME_ALIASES: dict[str, str] = {"postgres": "postgresql"}
_HOSTLESS = {"sqlite", "sqlcipher"}
MASK = "***"
#: Query options whose values ``str()`` shows. Any other option's value (``password``,
#: ``sslpassword``, ``sentinel_password``, ``key``, and a misspelt or unknown option, which
#: may well hold a secret too) is rendered as ``***``.
SHOWN_PARAMS = frozenset({
    # sqlite, supabase
    "mode", "protocol",
    # libpq (PostgreSQL)
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslnegotiation", "gssencmode",
    "channel_binding", "connect_timeout", "application_name", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "target_session_attrs",
    "load_balance_hosts", "client_encoding", "options", "hostaddr", "service", "passfile",
    # redis
    "prefix", "stream_maxlen", "socket_timeout", "retries", "max_connections",
    "ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname",
    "service_name", "master_name", "sentinel_check_interval",
})
#: An option name shown in an error, and a well-formed query: compiled on first use
#: (``re.match`` caches them), as only an error or an ``@`` after a ``?`` needs them.
_OPTION_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,40}$"
_QUERY = r"^[A-Za-z_][A-Za-z0-9_]*=[^&]*(&[A-Za-z_][A-Za-z0-9_]*=[^&]*)*$"


@dataclass(frozen=True)
class StorageURL:
    """A parsed database URL. ``str()`` and ``repr()`` mask the password and every query
    value but those of :data:`SHOWN_PARAMS`."""

    scheme: str
    driver: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    database: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    #: Every ``(host, port)`` when the URL lists more than one host; empty otherwise.
    hosts: tuple[tuple[str, int | None], ...] = ()

    @property
    def addresses(self) -> tuple[tuple[str | None, int | None], ...]:
        """Every ``(host, port)`` of the URL, the first one first."""
        return self.hosts or ((self.host, self.port),)

    @property
    def params(self) -> dict[str, str]:
        """Query parameters as a dict (last one wins)."""
        return dict(self.query)

    def render(self, *, hide_password: bool = True) -> str:
        """Return the URL as text, with the password replaced by ``***`` unless asked not to."""
        scheme = f"{self.scheme}+{self.driver}" if self.driver else self.scheme
        auth = ""
        if self.username is not None or self.password is not None:
            auth = quote(self.username or "", safe="")
            if self.password is not None:
                auth += ":" + (MASK if hide_password else quote(self.password, safe=""))
            auth += "@"
        host = ",".join(_render_host(name, port) for name, port in self.addresses)
        path = ""
        if self.database is not None:
            path = "/" + (self.database if self.scheme in _HOSTLESS else quote(self.database))
        query = "&".join(
            f"{quote(k)}={MASK if hide_password and k.lower() not in SHOWN_PARAMS else quote(v)}"
            for k, v in self.query)
        return f"{scheme}://{auth}{host}{path}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"StorageURL({self.render()!r})"

    def reject_unknown_options(self, known: Collection[str], where: str,
                               hints: Mapping[str, str] | None = None) -> None:
        """Raise :class:`ConfigurationError` for a query option not in ``known``.

        An option is never silently ignored: ``sqlite:///app.db?key=...`` would otherwise
        open the file unencrypted. ``where`` names the URL (``"sqlite URL"``), ``hints``
        gives a better fix for some option names. The
        message names the option only when it looks like one, and never shows a value.
        """
        for key in self.params:
            if key in known:
                continue
            name = repr(key) if re.match(_OPTION_NAME, key) else "(a name that is not an option)"
            hint = (hints or {}).get(key.lower()) or (
                f"known options: {', '.join(sorted(known))}" if known
                else f"remove the query part: the {where} takes no options")
            raise ConfigurationError(f"unknown option {name} in the {where}", hint)

    def with_params(self, **params: str) -> StorageURL:
        """Return a copy with query parameters added or replaced."""
        merged = dict(self.query) | params
        return replace(self, query=tuple(merged.items()))

    @property
    def is_local(self) -> bool:
        """True when every host is this machine (a socket, localhost or loopback)."""
        return all(_is_local(name) for name, _ in self.addresses)


def _render_host(name: str | None, port: int | None) -> str:
    text = f"[{name}]" if name and ":" in name else name or ""
    return text if port is None else f"{text}:{port}"


def _is_local(name: str | None) -> bool:
    host = (name or "").lower()
    return host in ("", "localhost", "::1") or host.startswith("127.") or host.startswith("/")


def parse_url(text: str) -> StorageURL:
    """Parse ``text`` into a :class:`StorageURL`.

    Raises :class:`InvalidURLError` with a message that names what is wrong but never
    repeats the URL, which may hold a password.
    """
    text = text.strip()
    match = _SCHEME.match(text)
    if not match:
        raise InvalidURLError(
            "malformed database URL: it does not start with 'scheme://'",
            "write it as scheme://user:password@host:port/database, e.g. postgresql://...",
        )
    full_scheme = match.group(1).lower()
    scheme, _, driver = full_scheme.partition("+")
    scheme = SCHEME_ALIASES.get(scheme, scheme)
    rest = text[match.end() :]
    if scheme in _HOSTLESS:
        return _parse_hostless(scheme, driver or None, rest)
    if scheme in ("http", "https"):
        return _parse_http(scheme, rest)
    return _parse_network(scheme, driver or None, rest)


def _parse_hostless(scheme: str, driver: str | None, rest: str) -> StorageURL:
    path, _, query = rest.partition("?")
    if path and not path.startswith("/"):
        raise InvalidURLError(
            f"malformed {scheme} URL: it names a user, password or host, which a {scheme} "
            "file has none of",
            f"write {scheme}:///relative/path.db or {scheme}:////absolute/path.db "
            "(a key goes in ARAGORA_SQLITE_KEY)")
    if path.startswith("/"):
        path = path[1:]
    return StorageURL(
        scheme=scheme,
        driver=driver,
        database=unquote(path) or None,
        query=_parse_query(scheme, query),
    )


def _parse_http(scheme: str, rest: str) -> StorageURL:
    rest, _, query = rest.partition("?")
    host, _, path = rest.partition("/")
    if not host or "@" in host:
        raise InvalidURLError(
            f"malformed {scheme} URL: expected {scheme}://<project>.supabase.co",
            "copy the project URL from the Supabase dashboard (Settings > API)",
        )
    hostname, port = _split_port(scheme, host)
    return StorageURL(scheme=scheme, host=hostname, port=port, database=path or None,
                      query=_parse_query(scheme, query))


def _parse_network(scheme: str, driver: str | None, rest: str) -> StorageURL:
    username: str | None = None
    password: str | None = None
    at = _userinfo_end(rest)
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, sep, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if sep else None
    hostport, _, query = rest.partition("?")  # a host has no "?"; an option value may
    hostport, _, database = hostport.partition("/")  # hold a "/" (?ssl_ca_certs=/etc/ca)
    hosts = tuple(_split_port(scheme, part) for part in hostport.split(","))
    if len(hosts) > 1 and not all(name for name, _ in hosts):
        raise InvalidURLError(
            f"malformed {scheme} URL: an empty host in the comma-separated host list",
            "list hosts as host1:port1,host2:port2",
        )
    (host, port), *others = hosts
    return StorageURL(
        scheme=scheme,
        driver=driver,
        username=username,
        password=password,
        host=host,
        port=port,
        hosts=tuple((name or "", number) for name, number in hosts) if others else (),
        database=unquote(database) or None,
        query=_parse_query(scheme, query),
    )


def _userinfo_end(rest: str) -> int:
    """Index of the ``@`` that ends the user part of ``rest`` (``-1``: there is none).

    The last ``@`` wins (a raw ``@`` in a password is common), except when the URL also
    reads as ``user@host/db?options`` with that last ``@`` inside a well-formed query:
    then the query holds it, e.g. ``?password=pa@hunter2``.
    """
    last = rest.rfind("@")
    question = rest.find("?")
    if last < 0 or question < 0 or last < question:
        return last
    first = rest.rfind("@", 0, question)
    authority = rest[first + 1:question]
    if first >= 0 and "/" in authority and re.match(_QUERY, rest[question + 1:]):
        return first
    return last


def _split_port(scheme: str, hostport: str) -> tuple[str | None, int | None]:
    if any(ch.isspace() for ch in hostport):
        raise InvalidURLError(
            f"malformed {scheme} URL: the host part contains spaces",
            "percent-encode special characters in the password (e.g. %40 for @)",
        )
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = hostport.partition(":")
    if not port_text:
        return unquote(host) or None, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidURLError(
            f"malformed {scheme} URL: the port is not a number from 1 to 65535",
            "write the port as digits after the host, e.g. host:5432",
        )
    return unquote(host) or None, int(port_text)


def _parse_query(scheme: str, query: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for part in filter(None, query.split("&")):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise InvalidURLError(
                f"malformed {scheme} URL: query parameters must be key=value",
                "write options as ?key=value&other=value",
            )
        pairs.append((unquote(key), unquote(value)))
    return tuple(pairs)
