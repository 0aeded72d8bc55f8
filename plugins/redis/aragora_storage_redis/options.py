"""Connection options read from a ``redis://`` or ``rediss://`` URL, and the pool they make.

Every option is a query parameter (``?prefix=app:&socket_timeout=2``); an unknown one
is an error naming the known ones. ``rediss://`` verifies the server certificate unless
``ssl_cert_reqs=none`` says otherwise, explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.settings import parse_flag
from aragora_storage_core.url import StorageURL

if TYPE_CHECKING:
    from redis import ConnectionPool

DEFAULT_PREFIX = "aragora:"
CERT_REQS = ("required", "optional", "none")


def _text(value: str) -> str:
    return value


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
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
    "retries": (_count, "3"),
    "max_connections": (_positive_int, "50"),
    "ssl_cert_reqs": (_cert_reqs, "required"),
    "ssl_ca_certs": (_text, "/etc/ssl/redis-ca.pem"),
    "ssl_certfile": (_text, "/etc/ssl/client.pem"),
    "ssl_keyfile": (_text, "/etc/ssl/client.key"),
    "ssl_check_hostname": (_flag, "true"),
}


@dataclass(frozen=True)
class RedisOptions:
    """Validated options of one Redis URL. Holds no password: that stays in the URL."""

    prefix: str = DEFAULT_PREFIX
    stream_maxlen: int = 10_000
    socket_timeout: float = 5.0
    connect_timeout: float = 5.0
    retries: int = 3
    max_connections: int = 50
    db: int = 0
    tls: bool = False
    ssl_cert_reqs: str = "required"
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True

    @classmethod
    def from_url(cls, url: StorageURL) -> RedisOptions:
        """Read and validate the options of ``url``; the message never shows the URL."""
        values: dict[str, Any] = {"tls": url.scheme == "rediss"}
        for key, raw in url.params.items():
            if key not in PARAMETERS:
                known = ", ".join(sorted(PARAMETERS))
                raise ConfigurationError(
                    f"unknown option {key!r} in the redis URL", f"known options: {known}")
            parse, example = PARAMETERS[key]
            try:
                values[key] = parse(raw)
            except ValueError:
                raise ConfigurationError(
                    f"redis URL option {key} has an invalid value",
                    f"write it like ?{key}={example}") from None
        if not values.get("prefix", DEFAULT_PREFIX):
            raise ConfigurationError("redis URL option prefix is empty",
                                     "use a non-empty prefix such as ?prefix=aragora:")
        values["db"] = _database_number(url.database)
        return cls(**values)

    @property
    def verifies_certificates(self) -> bool:
        """True unless TLS is on with certificate checks explicitly switched off."""
        return not self.tls or self.ssl_cert_reqs == "required"


def _database_number(path: str | None) -> int:
    if not path:
        return 0
    if not path.isdigit():
        raise ConfigurationError("the redis URL path must be a database number",
                                 "write it as redis://host:6379/0")
    return int(path)


def build_pool(url: StorageURL, options: RedisOptions) -> ConnectionPool:
    """One connection pool for ``url``: bounded timeouts, and no retries inside redis-py.

    Retrying is decided per command by :class:`~aragora_storage_redis.faults.Retrier`:
    a write such as ``XADD`` must never be sent twice.
    """
    from redis import ConnectionPool, SSLConnection
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
        "host": url.host or "localhost",
        "port": url.port or 6379,
        "db": options.db,
        "username": url.username,
        "password": url.password,
        "socket_timeout": options.socket_timeout,
        "socket_connect_timeout": options.connect_timeout,
        "retry": Retry(NoBackoff(), 0),
        "max_connections": options.max_connections,
        "client_name": "aragora-storage",
    }
    if options.tls:
        kwargs.update(
            connection_class=SSLConnection,
            ssl_cert_reqs=options.ssl_cert_reqs,
            ssl_ca_certs=options.ssl_ca_certs,
            ssl_certfile=options.ssl_certfile,
            ssl_keyfile=options.ssl_keyfile,
            ssl_check_hostname=options.ssl_check_hostname,
        )
    return ConnectionPool(**kwargs)
