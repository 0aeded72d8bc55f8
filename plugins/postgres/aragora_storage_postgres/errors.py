"""The PostgreSQL backend's own kinds of the core's typed errors."""

from __future__ import annotations

from aragora_storage_core.errors import BackendUnavailableError, TransactionError


class PoolTimeoutError(BackendUnavailableError):
    """Every pooled connection stayed busy for ``ARAGORA_DB_POOL_TIMEOUT`` seconds."""

    code = "storage.E106"


class ConnectionLostError(TransactionError):
    """The server closed the connection while a write transaction was open."""

    code = "storage.E107"
