"""Redis Sentinel: the primary that the sentinels name for a service, followed through a
failover."""

from __future__ import annotations

import contextlib
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError, TimeoutError
from redis.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)

from aragora_storage_core.url import StorageURL
from aragora_storage_redis.nodes import Recheck, addresses, location_of, replica_run_ids
from aragora_storage_redis.options import RedisOptions, connection_kwargs, tls_kwargs


class RecheckingSentinelPool(SentinelConnectionPool):
    """redis-py's Sentinel pool, which asks the sentinels for the primary only when it
    opens a connection, so after a ``SENTINEL FAILOVER`` its open connections keep
    writing to the old primary until Sentinel demotes it (seconds later; those writes
    are then lost). This one asks again when a connection is taken and the last answer
    is ``check_interval`` seconds old; a new primary closes the idle connections."""

    def __init__(self, service: str, sentinel: Sentinel, *, check_interval: float,
                 **kwargs: Any) -> None:
        super().__init__(service, sentinel, **kwargs)  # type: ignore[no-untyped-call]
        self.recheck = Recheck(check_interval)

    def get_connection(self, *args: Any, **options: Any) -> Any:
        """A pooled connection, to the current primary if the last check is old."""
        if self.recheck.due():
            # No sentinel answering is no reason to fail the command: the connections
            # stay, and their own errors (or the next connect) tell if the primary is gone.
            with contextlib.suppress(ConnectionError, TimeoutError):
                self.get_master_address()  # type: ignore[no-untyped-call]
        return super().get_connection(*args, **options)


class SentinelPrimary:
    """The primary that Sentinel names for a service; a failover moves the connections.

    Each new connection asks the sentinels for the current primary; a connection to a
    primary that was demoted fails (``READONLY``) and the next one goes to the new one.
    """

    mode = "sentinel"

    def __init__(self, url: StorageURL, options: RedisOptions) -> None:
        service = options.service or ""
        self._sentinel_kwargs: dict[str, Any] = {
            "username": options.sentinel_username,
            "password": url.params.get("sentinel_password"),
            "socket_timeout": options.socket_timeout,
            "socket_connect_timeout": options.connect_timeout,
            "client_name": "aragora-storage",
        }
        if options.tls:
            self._sentinel_kwargs.update(ssl=True, **tls_kwargs(options))
        self._sentinels = addresses(url, 26379)
        self.sentinel = Sentinel(self._sentinels, sentinel_kwargs=self._sentinel_kwargs)
        self.service = service
        kwargs = connection_kwargs(url, options)
        self._node_kwargs = kwargs | ({"ssl": True} if options.tls else {})
        self._pool_kwargs = kwargs | {"db": options.db,
                                      "check_interval": options.sentinel_check_interval}
        self._tls = options.tls
        self.pool = RecheckingSentinelPool(
            service, self.sentinel, connection_class=SentinelManagedSSLConnection if options.tls
            else SentinelManagedConnection, **self._pool_kwargs)
        self.client: Any = Redis(connection_pool=self.pool)
        self.location = location_of(url, options)

    def async_client(self) -> Any:
        """A ``redis.asyncio`` client of the primary, through sentinels of its own, set up
        like :attr:`client` (for the running event loop only)."""
        from aragora_storage_redis.async_sentinel import primary_client

        return primary_client(self.service, self._sentinels, self._sentinel_kwargs,
                              self._pool_kwargs, tls=self._tls)

    def scan_targets(self) -> list[Any]:
        """The current primary."""
        return [self.client]

    def run_ids(self, every_node: bool = False) -> frozenset[str]:
        """The current primary's ``run_id`` (with ``every_node``, its replicas' too: one of
        them becomes the primary in a failover, which is no restart)."""
        found = {self.client.info("server")["run_id"]}
        if every_node:
            found |= replica_run_ids(self.sentinel.discover_replicas(self.service),
                                     self._node_kwargs)
        return frozenset(found)

    def facts(self) -> dict[str, Any]:
        """The service name."""
        return {"mode": self.mode, "service": self.service}

    def close(self) -> None:
        """Close the connections to the primary and to the sentinels."""
        self.pool.disconnect()
        for sentinel in self.sentinel.sentinels:
            sentinel.close()
