"""Open psycopg2 connections from a :class:`StorageURL`, and explain why one failed.

libpq parameters in the URL's query (``sslmode``, ``sslrootcert``, ``connect_timeout``,
...) are passed through. psycopg2's own messages may repeat the DSN or the password, so a
failure becomes one of our typed errors built only from the masked URL: the driver's text
is never shown and never chained (``from None``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aragora_storage_core.errors import (
    BackendUnavailableError,
    ConfigurationError,
    StorageError,
)
from aragora_storage_core.url import StorageURL

if TYPE_CHECKING:
    import psycopg2.extensions

DEFAULT_PORT = 5432
#: libpq parameters we set unless the URL says otherwise.
#: libpq settings unless the URL says otherwise. TCP keepalives notice a server that
#: vanished (network partition) in about a minute instead of the kernel's two hours.
DEFAULTS = {
    "connect_timeout": "10",
    "application_name": "aragora-storage",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
#: The driver's messages naming an option (compiled on first use by ``re.search``: only a
#: failed connection reads them).
_OPTION = r'invalid connection option "([A-Za-z_]+)"'
_BAD_VALUES = (r'for connection option "(\w+)"', r"invalid (\w+) value")
_PERCENT_HINT = (
    "percent-encode @ / % : ? # and spaces in the password (%40 %2F %25 %3A %3F %23 %20)"
)


#: libpq environment variables that decide where a connection goes when the URL leaves a
#: part out, with the connection option that would override each.
_REDIRECTS = (("PGHOST", "host"), ("PGHOSTADDR", "host"), ("PGPORT", "port"),
              ("PGSERVICE", "service"), ("PGSERVICEFILE", "service"))


def check_destination(url: StorageURL, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse a URL whose database libpq would choose from its defaults or environment.

    Without a database name libpq uses ``PGDATABASE`` or the user's name; without a host or
    port, ``PGHOST``/``PGPORT``; ``PGSERVICE`` can change anything. Tables would then be
    created (or read) in another database than the URL shows.
    """
    options = dict(url.params)
    if url.database is None and "dbname" not in options:
        raise ConfigurationError(
            "the PostgreSQL URL names no database (libpq would pick PGDATABASE or the user's"
            " name)", "add it: postgresql://user@host:5432/DBNAME")
    given = {"host": url.host or url.hosts or options.get("host"),
             "port": url.port or options.get("port"), "service": options.get("service")}
    for variable, option in _REDIRECTS:
        if environ.get(variable) and (option == "service" or not given[option]):
            raise ConfigurationError(
                f"{variable} is set and would decide where the PostgreSQL URL connects",
                f"unset {variable}, or write the {option} into the URL")


def connect_kwargs(url: StorageURL) -> dict[str, Any]:
    """Keyword arguments for ``psycopg2.connect`` (psycopg2 quotes every value itself).

    :func:`check_destination` first: the URL alone says where the connection goes.
    """
    check_destination(url)
    kwargs: dict[str, Any] = dict(DEFAULTS)
    kwargs.update(url.params)
    for key, value in (("host", url.host), ("port", url.port), ("user", url.username),
                       ("password", url.password), ("dbname", url.database)):
        if value is not None:
            kwargs[key] = value
    if url.hosts:  # libpq's own host list: the first that answers (and target_session_attrs)
        kwargs["host"] = ",".join(name for name, _ in url.hosts)
        kwargs["port"] = ",".join(str(port or DEFAULT_PORT) for _, port in url.hosts)
    return kwargs


def where(url: StorageURL) -> str:
    """``host:port/database`` of ``url`` for messages (never the user or password)."""
    host = url.host or "local socket"
    return f"{host}:{url.port or DEFAULT_PORT}/{url.database or url.username or ''}"


def open_connection(url: StorageURL, kwargs: dict[str, Any]) -> psycopg2.extensions.connection:
    """A new autocommit connection; a failure raises a clean :class:`StorageError`."""
    import psycopg2

    try:
        conn: psycopg2.extensions.connection = psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        raise connect_error(str(exc), url) from None
    conn.autocommit = True
    return conn


def connect_error(driver_text: str, url: StorageURL) -> StorageError:
    """Our error for a failed connection, classified from the driver's text (not shown)."""
    text = driver_text.lower()
    target = where(url)
    user = url.username or "(default user)"
    if "password authentication failed" in text or "no password supplied" in text:
        return BackendUnavailableError(
            f"PostgreSQL at {target} rejected the password of user {user}",
            f"check the user and password in DATABASE_URL; {_PERCENT_HINT}")
    if "authentication failed" in text:
        return BackendUnavailableError(
            f"PostgreSQL at {target} refused to authenticate user {user}",
            "check the user, password and pg_hba.conf method for this host")
    if 'role "' in text and "does not exist" in text:  # quoted: not a database "roles"
        return BackendUnavailableError(
            f"PostgreSQL at {target} has no user {user}",
            f"create it (createuser {user}) or fix the user in DATABASE_URL")
    if 'database "' in text and "does not exist" in text:
        return BackendUnavailableError(
            f"database {url.database!r} does not exist on PostgreSQL at {target}",
            f"create it (createdb {url.database}) or fix the database name in DATABASE_URL")
    if "no pg_hba.conf entry" in text:
        return BackendUnavailableError(
            f"PostgreSQL at {target} does not accept this user/database from this host"
            f"{' without TLS' if 'no encryption' in text else ''}",
            "add a pg_hba.conf entry, or connect with ?sslmode=require if it allows only TLS")
    tls = _tls_problem(text)
    if tls is not None:
        return BackendUnavailableError(f"TLS connection to PostgreSQL at {target} failed: {tls}",
                                       "check sslmode, sslrootcert and the server's certificate")
    option = re.search(_OPTION, driver_text)
    if option is not None:
        return ConfigurationError(
            f"unknown connection option {option.group(1)!r} in the PostgreSQL URL",
            "use libpq parameters only (sslmode, sslrootcert, connect_timeout, ...)")
    bad_value = next(filter(None, (re.search(p, driver_text) for p in _BAD_VALUES)), None)
    if bad_value is not None:
        name = bad_value.group(1)
        return ConfigurationError(
            f"invalid value of connection option {name!r} in the PostgreSQL URL",
            "see the libpq connection parameters, e.g. sslmode=verify-full")
    if "could not translate host name" in text:
        return BackendUnavailableError(f"host {url.host!r} of PostgreSQL is unknown",
                                       "fix the host in DATABASE_URL")
    if "too many clients" in text or "connection slots are reserved" in text:
        return BackendUnavailableError(
            f"PostgreSQL at {target} has no free connection slots",
            "lower ARAGORA_DB_POOL_SIZE or raise the server's max_connections")
    if "starting up" in text or "shutting down" in text or "recovery mode" in text:
        return BackendUnavailableError(f"PostgreSQL at {target} is starting or stopping",
                                       "retry in a few seconds")
    return BackendUnavailableError(
        f"cannot reach PostgreSQL at {target}",
        "start the server, or fix host and port in DATABASE_URL (aragora-storage doctor)")


def _tls_problem(text: str) -> str | None:
    if "certificate verify failed" in text:
        return "the server's certificate is not signed by the CA in sslrootcert"
    if "does not match host name" in text:
        return "the server's certificate does not match the host name"
    if "root certificate file" in text:
        return "the sslrootcert file cannot be read"
    if "server does not support ssl" in text:
        return "the server does not support TLS"
    if "ssl" in text and ("error" in text or "certificate" in text):
        return "the TLS handshake failed"
    return None
