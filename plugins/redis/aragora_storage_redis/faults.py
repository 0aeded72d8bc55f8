"""Redis failures as the project's typed errors, and which commands may be retried.

redis-py's own retry is switched off (see ``options.connection_kwargs``). Each command
has a :class:`Kind`: reads (:data:`READ`) and writes that give the same result when
repeated (:data:`WRITE`: SET, DEL) are sent again after a dropped connection or a
timeout; writes that would be applied twice (:data:`WRITE_ONCE`: ``XADD``) only after
errors that prove the command did not run (a cluster that is down or moving a slot, a
pool with no free connection), and a timeout on one says its outcome is unknown.
:class:`Retrier` runs them so.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ClusterDownError,
    ConnectionError,
    CrossSlotTransactionError,
    MaxConnectionsError,
    NoPermissionError,
    RedisClusterException,
    RedisClusterUnreachableError,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
)
from redis.sentinel import MasterNotFoundError

from aragora_storage_core.errors import BackendUnavailableError, StorageError

T = TypeVar("T")

_CREDENTIALS_HINT = "check the user name and password in REDIS_URL (or DATABASE_URL)"
_TLS_HINT = ("give the CA certificate with ?ssl_ca_certs=/path/ca.pem; switching checks off "
             "(?ssl_cert_reqs=none) is for testing only")
#: Errors that say the command was not run: safe to send again, even a write.
NOT_RUN = (ClusterDownError, TryAgainError, SlotNotCoveredError)
#: Every error redis-py raises (its cluster errors are not all ``RedisError``).
DRIVER_ERRORS = (RedisError, RedisClusterException)
#: Errors that prove a write was never sent: a refusal of the cluster, or every pooled
#: connection in use (``max_connections``); ``XADD`` is sent again after these.
UNSENT = (*NOT_RUN, MaxConnectionsError)
#: Errors after which an idempotent command is sent again.
RETRIED = (ConnectionError, TimeoutError, RedisClusterUnreachableError, *NOT_RUN)


#: Backoff before retry ``n`` is ``min(BACKOFF_CAP, BACKOFF_BASE * 2**n)``: 0.2, 0.4, 0.8,
#: 1.5 s. The default 4 retries wait 2.9 s in all, so a restart of about 2 s is absorbed.
BACKOFF_BASE, BACKOFF_CAP = 0.1, 1.5


@dataclass(frozen=True)
class Kind:
    """How a command may be retried, and what a failure or cancellation of it means."""

    #: The errors after which it may be sent again.
    retried: tuple[type[Exception], ...]
    #: Whether one of those errors still allows it (bad credentials never do).
    retryable: Callable[[Exception], bool]
    #: Whether sending it twice gives the result of sending it once.
    idempotent: bool
    #: Whether it changes the server (a cancellation in flight may have applied it).
    write: bool


def _always(error: Exception) -> bool:
    return True


def _retryable(error: Exception) -> bool:
    return not isinstance(error, AuthenticationError | AuthorizationError) and not _tls_failure(
        error)


#: A read (GET, EXISTS, XRANGE): retried on connection errors, timeouts and failovers.
READ = Kind(RETRIED, _retryable, idempotent=True, write=False)
#: A write that gives the same result when repeated (SET, DEL): retried like a read.
WRITE = Kind(RETRIED, _retryable, idempotent=True, write=True)
#: A write that would be applied twice (XADD): retried only when provably not sent.
WRITE_ONCE = Kind(UNSENT, _always, idempotent=False, write=True)


class Retrier:
    """Runs commands again, with backoff, after errors that allow it.

    ``sleep`` waits out each backoff: ``time.sleep`` on the sync API; the async path
    passes one that awaits ``asyncio.sleep`` through the bridge, so the loop never blocks.
    """

    def __init__(self, retries: int, sleep: Callable[[float], object] = time.sleep) -> None:
        self._backoff = ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE)
        self._retries = retries
        self._sleep = sleep

    def idempotent(self, command: Callable[[], T]) -> T:
        """Run ``command``; retry it on connection errors, timeouts and cluster failovers,
        never on bad credentials."""
        return self.call(command, WRITE)

    def call(self, command: Callable[[], T], kind: Kind) -> T:
        """Run ``command``, sending it again as often as ``kind`` allows."""
        failures = 0
        while True:
            try:
                return command()
            except kind.retried as error:  # redis-py dropped the connection; a retry takes
                # a new one
                failures += 1
                pause = self.pause(kind, error, failures)
                if pause is None:
                    raise
                self._sleep(pause)

    def pause(self, kind: Kind, error: Exception, failures: int) -> float | None:
        """The wait before sending a command of ``kind`` again after its ``failures``-th
        failure, ``error``; ``None`` when it must not be sent again."""
        if failures > self._retries or not kind.retryable(error):
            return None
        return float(self._backoff.compute(failures))


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the errors it was raised from (a cluster wraps a node's error)."""
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _tls_failure(error: BaseException) -> bool:
    return any(isinstance(seen, ssl.SSLError) or "SSL" in str(seen) for seen in _chain(error))


def _credentials_rejected(error: BaseException) -> bool:
    return any(isinstance(seen, AuthenticationError) or (
        isinstance(seen, ResponseError) and str(seen).startswith(("WRONGPASS", "NOAUTH")))
        for seen in _chain(error))


class Located(Protocol):
    """Something that knows where its server is and which secret to keep out of messages."""

    location: str
    socket_timeout: float

    def scrub(self, text: str) -> str:
        """``text`` with any secret masked."""


def translate(error: RedisError | RedisClusterException, where: Located, operation: str,
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
    if isinstance(error, MasterNotFoundError):  # its text lists every sentinel client
        if _tls_failure(error):
            return BackendUnavailableError(
                f"TLS connection to the sentinels of {where.location} failed ({operation})",
                _TLS_HINT)
        return BackendUnavailableError(
            f"{where.location}: no sentinel named a primary for the service ({operation})",
            "check the sentinel hosts and ports, the service name and ?sentinel_password=")
    if _tls_failure(error):
        return BackendUnavailableError(
            f"TLS connection to {where.location} failed: {reason}", _TLS_HINT)
    if isinstance(error, MaxConnectionsError):
        return BackendUnavailableError(
            f"{where.location}: every pooled connection was in use, {operation} was not "
            "sent (nothing applied)",
            "raise ?max_connections= in the URL, or run fewer calls at once")
    if isinstance(error, NOT_RUN):
        return BackendUnavailableError(
            f"{where.location}: the cluster refused {operation} ({reason}); a command "
            "refused this way did not run",
            "see `aragora-storage doctor` for the slots not served and the failing nodes")
    outcome = "" if idempotent else (
        "; the write may or may not have been applied and was not retried, so it is "
        "never applied twice")
    if isinstance(error, TimeoutError):
        return BackendUnavailableError(
            f"{operation} timed out after {where.socket_timeout:g}s on {where.location}{outcome}",
            "check the server's load (SLOWLOG, LATENCY DOCTOR) or raise ?socket_timeout=")
    if isinstance(error, ConnectionError | RedisClusterException) and not isinstance(
            error, CrossSlotTransactionError):
        return BackendUnavailableError(
            f"cannot reach {where.location} ({operation}): {reason}{outcome}",
            "check that the server is running and that the URL's host and port are right")
    return StorageError(f"{where.location} refused {operation}: {reason}",
                        "see the Redis server log")
