"""Redis failures as the project's typed errors, and which commands may be retried.

redis-py's own retry is switched off on the pool (see ``options.build_pool``). Reads and
writes that give the same result when repeated (GET, EXISTS, SET, DEL) go through
:meth:`Retrier.idempotent`; writes that would be applied twice (``XADD``) run once, and a
timeout on one says that its outcome is unknown.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ConnectionError,
    NoPermissionError,
    RedisError,
    ResponseError,
    TimeoutError,
)
from redis.retry import Retry

from aragora_storage_core.errors import BackendUnavailableError, StorageError

T = TypeVar("T")
P = ParamSpec("P")

_CREDENTIALS_HINT = "check the user name and password in REDIS_URL (or DATABASE_URL)"


class Retrier:
    """Runs idempotent commands again after a dropped connection or a timeout, with backoff."""

    def __init__(self, retries: int) -> None:
        self._retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries,
                            supported_errors=(ConnectionError, TimeoutError))

    def idempotent(self, command: Callable[[], T]) -> T:
        """Run ``command``; retry it on connection errors and timeouts, never on bad auth."""
        result: T = self._retry.call_with_retry(command, _ignore, is_retryable=_retryable)
        return result


def _ignore(error: Exception) -> None:
    """redis-py already dropped the failed connection; the next attempt takes a fresh one."""


def _retryable(error: Exception) -> bool:
    return not isinstance(error, AuthenticationError | AuthorizationError) and not _tls_failure(
        error)


def _tls_failure(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _credentials_rejected(error: RedisError) -> bool:
    if isinstance(error, AuthenticationError):
        return True
    text = str(error)
    return isinstance(error, ResponseError) and text.startswith(("WRONGPASS", "NOAUTH"))


class Located(Protocol):
    """Something that knows where its server is and which secret to keep out of messages."""

    location: str
    socket_timeout: float

    def scrub(self, text: str) -> str:
        """``text`` with any secret masked."""


def translate(error: RedisError, where: Located, operation: str,
              idempotent: bool = True) -> StorageError:
    """The typed error for a redis-py ``error`` raised while running ``operation``."""
    reason = where.scrub(str(error).strip().rstrip("."))
    if _credentials_rejected(error):
        return BackendUnavailableError(f"{where.location} rejected the credentials",
                                       _CREDENTIALS_HINT)
    if isinstance(error, AuthorizationError | NoPermissionError):
        return BackendUnavailableError(
            f"{where.location}: the user may not run {operation} ({reason})",
            "grant the user the commands and keys of the prefix (ACL SETUSER)")
    if _tls_failure(error):
        return BackendUnavailableError(
            f"TLS connection to {where.location} failed: {reason}",
            "give the CA certificate with ?ssl_ca_certs=/path/ca.pem; switching checks off "
            "(?ssl_cert_reqs=none) is for testing only")
    outcome = "" if idempotent else (
        "; the write may or may not have been applied and was not retried, so it is "
        "never applied twice")
    if isinstance(error, TimeoutError):
        return BackendUnavailableError(
            f"{operation} timed out after {where.socket_timeout:g}s on {where.location}{outcome}",
            "check the server's load (SLOWLOG, LATENCY DOCTOR) or raise ?socket_timeout=")
    if isinstance(error, ConnectionError):
        return BackendUnavailableError(
            f"cannot reach {where.location} ({operation}): {reason}{outcome}",
            "check that the server is running and that the URL's host and port are right")
    return StorageError(f"{where.location} refused {operation}: {reason}",
                        "see the Redis server log")


class RedisStoreBase(Protocol):
    """What :func:`translated` needs of a store."""

    @property
    def _where(self) -> Located: ...


S = TypeVar("S", bound=RedisStoreBase)


def translated(operation: str, *, idempotent: bool = True) -> Callable[
        [Callable[Concatenate[S, P], T]], Callable[Concatenate[S, P], T]]:
    """Decorate a store method so redis-py errors leave it as typed errors."""

    def decorate(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
        @wraps(method)
        def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return method(self, *args, **kwargs)
            except RedisError as error:
                raise translate(error, self._where, operation, idempotent) from error
        return wrapper

    return decorate
