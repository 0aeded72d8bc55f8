"""The PostgreSQL backend's own kinds of the core's typed errors."""

from __future__ import annotations

from aragora_storage_core.errors import BackendUnavailableError, TransactionError


class PoolTimeoutError(BackendUnavailableError):
    """Every pooled connection stayed busy for ``ARAGORA_DB_POOL_TIMEOUT`` seconds."""

    code = "storage.E106"


class ConnectionLostError(TransactionError):
    """The server closed the connection while a write transaction was open."""

    code = "storage.E107"


class StatementRefusedError(TransactionError):
    """PostgreSQL cancelled a statement or rolled its transaction back (timeout, deadlock)."""

    code = "storage.E108"


#: SQLSTATE -> (what happened, what to do) for statements the server refuses.
REFUSALS: dict[str, tuple[str, str]] = {
    "40P01": ("PostgreSQL broke a deadlock by rolling this transaction back",
              "retry the operation; it was not applied"),
    "40001": ("PostgreSQL rolled this transaction back: it could not be serialized with a "
              "concurrent one", "retry the operation; it was not applied"),
    "57014": ("PostgreSQL cancelled the statement (statement_timeout or a cancel request)",
              "raise statement_timeout for this work, or make the query cheaper"),
    "55P03": ("PostgreSQL could not take a lock in time (lock_timeout)",
              "retry when the other transaction has finished"),
}


def refusal(exc: BaseException) -> StatementRefusedError | None:
    """The typed error for a driver error that is one of :data:`REFUSALS`, else ``None``.

    psycopg2 names the SQLSTATE ``pgcode``, psycopg 3 ``sqlstate``.
    """
    code = getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None)
    known = REFUSALS.get(code or "")
    if known is None:
        return None
    return StatementRefusedError(*known)


def connection_lost(target: str, committing: bool) -> ConnectionLostError:
    """The server at ``target`` (``host:port/db``) closed a write transaction's connection.

    ``committing``: the ``COMMIT`` had been sent, so the write may have been saved.
    """
    if committing:
        return ConnectionLostError(
            f"the connection to PostgreSQL at {target} was lost while committing;"
            " the write may or may not have been saved",
            "check whether the change is there before doing it again")
    return ConnectionLostError(
        f"the connection to PostgreSQL at {target} was lost during a write"
        " transaction; nothing of it was saved",
        "retry the operation once the server is back")


def lost_twice(target: str) -> BackendUnavailableError:
    """A read found its connection closed, and then the fresh one too."""
    return BackendUnavailableError(
        f"the connection to PostgreSQL at {target} was lost twice in a row",
        "check the server's logs and network; then retry")
