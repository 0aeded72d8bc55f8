"""Connection options read from a Redis URL, and the connection settings they make.

``redis://host:6379/0`` is one server, ``redis+cluster://host1:7000,host2:7001`` a Redis
Cluster (any reachable nodes; the rest are discovered), ``redis+sentinel://s1:26379,
s2:26379/<service>/0`` the primary that the sentinels name; ``rediss`` in place of
``redis`` is TLS for every connection. Every option is a query parameter
(``?prefix=app:&socket_timeout=2``); an unknown one is an error naming the known ones.
TLS verifies the server certificate unless ``ssl_cert_reqs=none`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.settings import parse_flag
from aragora_storage_core.url import StorageURL

DEFAULT_PREFIX = "aragora:"
CERT_REQS = ("required", "optional", "none")
#: ``redis+<mode>://``: how the URL's hosts are used (no ``+mode`` is one server).
MODES = ("single", "cluster", "sentinel")
#: Options that only a ``redis+sentinel://`` URL takes; the password is never stored here.
SENTINEL_ONLY = frozenset({"sentinel_username", "sentinel_password", "sentinel_check_interval"})


def _text(value: str) -> str:
    return value


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if not 0 <= number < float("inf"):
        raise ValueError(value)
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


def _flag(value: str) -> bool:
    flag = parse_flag(value)
    if flag is None:
        raise ValueError(value)
    return flag


def _cert_reqs(value: str) -> str:
    if value.lower() not in CERT_REQS:
        raise ValueError(value)
    return value.lower()


#: Query parameter -> (parser, example value for the hint).
PARAMETERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "prefix": (_text, "aragora:"),
    "stream_maxlen": (_positive_int, "10000"),
    "socket_timeout": (_positive_float, "5"),
    "connect_timeout": (_positive_float, "5"),
    "retries": (_count, "4"),
    "max_connections": (_positive_int, "50"),
    "ssl_cert_reqs": (_cert_reqs, "required"),
    "ssl_ca_certs": (_text, "/etc/ssl/redis-ca.pem"),
    "ssl_certfile": (_text, "/etc/ssl/client.pem"),
    "ssl_keyfile": (_text, "/etc/ssl/client.key"),
    "ssl_check_hostname": (_flag, "true"),
    "sentinel_username": (_text, "sentinel-user"),
    "sentinel_password": (_text, "..."),
    "sentinel_check_interval": (_seconds, "1"),
}


@dataclass(frozen=True)
class RedisOptions:
    """Validated options of one Redis URL. Holds no password: that stays in the URL."""

    prefix: str = DEFAULT_PREFIX
    stream_maxlen: int = 10_000
    socket_timeout: float = 5.0
    connect_timeout: float = 5.0
    #: With :class:`~aragora_storage_redis.faults.Retrier`'s backoff (0.2, 0.4, 0.8, 1.5 s)
    #: idempotent commands ride out a server restart of up to about 2.9 s.
    retries: int = 4
    max_connections: int = 50
    db: int = 0
    tls: bool = False
    ssl_cert_reqs: str = "required"
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    mode: str = "single"
    #: The Sentinel service name of the primary (``redis+sentinel://`` only).
    service: str | None = None
    sentinel_username: str | None = None
    #: Seconds between two questions to the sentinels about the primary (0: every command).
    sentinel_check_interval: float = 1.0

    @classmethod
    def from_url(cls, url: StorageURL) -> RedisOptions:
        """Read and validate the options of ``url``; the message never shows the URL."""
        mode = _mode(url)
        values: dict[str, Any] = {"tls": url.scheme == "rediss", "mode": mode}
        for key, raw in url.params.items():
            if key not in PARAMETERS:
                known = ", ".join(sorted(PARAMETERS))
                raise ConfigurationError(
                    f"unknown option {key!r} in the redis URL", f"known options: {known}")
            if key in SENTINEL_ONLY and mode != "sentinel":
                raise ConfigurationError(f"redis URL option {key} needs a sentinel URL",
                                         "write the URL as redis+sentinel://...")
            parse, example = PARAMETERS[key]
            try:
                value = parse(raw)
            except ValueError:
                raise ConfigurationError(
                    f"redis URL option {key} has an invalid value",
                    f"write it like ?{key}={example}") from None
            if key != "sentinel_password":  # secrets stay in the URL
                values[key] = value
        if not values.get("prefix", DEFAULT_PREFIX):
            raise ConfigurationError("redis URL option prefix is empty",
                                     "use a non-empty prefix such as ?prefix=aragora:")
        if mode == "sentinel":
            values["service"], values["db"] = _service_and_database(url.database)
        elif mode == "cluster":
            values["db"] = _cluster_database(url.database)
        else:
            if len(url.addresses) > 1:
                raise ConfigurationError(
                    "a redis:// URL names one server, this one lists several hosts",
                    "write redis+cluster://host1:port,host2:port for a Redis Cluster or "
                    "redis+sentinel://host1:26379,host2:26379/<service>/0 for Sentinel")
            values["db"] = _database_number(url.database)
        return cls(**values)

    @property
    def verifies_certificates(self) -> bool:
        """True unless TLS is on with certificate or host name checks switched off."""
        return not self.tls or (self.ssl_cert_reqs == "required" and self.ssl_check_hostname)


def _mode(url: StorageURL) -> str:
    if url.driver is None:
        return "single"
    if url.driver not in MODES[1:]:
        raise ConfigurationError(f"unknown redis URL form {url.scheme}+{url.driver}://",
                                 f"use {url.scheme}://, {url.scheme}+cluster:// or "
                                 f"{url.scheme}+sentinel://")
    return url.driver


def _cluster_database(path: str | None) -> int:
    if path not in (None, "", "0"):
        raise ConfigurationError("a Redis Cluster has only database 0",
                                 "write the URL as redis+cluster://host:port (or .../0)")
    return 0


def _service_and_database(path: str | None) -> tuple[str, int]:
    service, _, number = (path or "").partition("/")
    if not service:
        raise ConfigurationError(
            "the redis+sentinel URL names no service",
            "write it as redis+sentinel://host1:26379,host2:26379/<service name>/0")
    return service, _database_number(number)


def _database_number(path: str | None) -> int:
    if not path:
        return 0
    if not path.isdigit():
        raise ConfigurationError("the redis URL path must be a database number",
                                 "write it as redis://host:6379/0")
    return int(path)


def connection_kwargs(url: StorageURL, options: RedisOptions) -> dict[str, Any]:
    """Settings of every connection to a data node (no host: the topology adds that).

    Bounded timeouts and no retries inside redis-py: retrying is decided per command by
    :class:`~aragora_storage_redis.faults.Retrier`, as a write such as ``XADD`` must
    never be sent twice.
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    for part, value in (("user name", url.username), ("password", url.password)):
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:  # redis-py's message would quote a character of it
            raise ConfigurationError(
                f"the {part} in the redis URL is not UTF-8 text",
                f"use a {part} of text characters (percent-encoded in the URL)") from None
    kwargs: dict[str, Any] = {
        "username": url.username,
        "password": url.password,
        "socket_timeout": options.socket_timeout,
        "socket_connect_timeout": options.connect_timeout,
        "retry": Retry(NoBackoff(), 0),
        "max_connections": options.max_connections,
        "client_name": "aragora-storage",
    }
    if options.tls:
        kwargs.update(tls_kwargs(options))
    return kwargs


def for_asyncio(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` (of :func:`connection_kwargs`) for a ``redis.asyncio`` client: the same
    settings, with redis.asyncio's own (switched off) retry object."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return kwargs | {"retry": Retry(NoBackoff(), 0)}


def tls_kwargs(options: RedisOptions) -> dict[str, Any]:
    """The ``ssl_*`` settings of a TLS connection."""
    return {
        "ssl_cert_reqs": options.ssl_cert_reqs,
        "ssl_ca_certs": options.ssl_ca_certs,
        "ssl_certfile": options.ssl_certfile,
        "ssl_keyfile": options.ssl_keyfile,
        "ssl_check_hostname": options.ssl_check_hostname,
    }
