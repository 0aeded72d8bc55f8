"""Sentinel's primary for ``redis.asyncio``: the async twin of
:class:`~aragora_storage_redis.sentinel.RecheckingSentinelPool` (imported only by the
async path)."""

from __future__ import annotations

import contextlib
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.exceptions import ConnectionError, TimeoutError

from aragora_storage_redis.nodes import Recheck
from aragora_storage_redis.options import for_asyncio


class AsyncRecheckingSentinelPool(SentinelConnectionPool):
    """Asks the sentinels for the primary again when a connection is taken and the last
    answer is ``check_interval`` seconds old, as the sync pool does."""

    def __init__(self, service: str, sentinel: Sentinel, *, check_interval: float,
                 **kwargs: Any) -> None:
        super().__init__(service, sentinel, **kwargs)  # type: ignore[no-untyped-call]
        self.recheck = Recheck(check_interval)

    async def get_connection(self, *args: Any, **options: Any) -> Any:
        """A pooled connection, to the current primary if the last check is old."""
        if self.recheck.due():
            with contextlib.suppress(ConnectionError, TimeoutError):
                await self.get_master_address()  # type: ignore[no-untyped-call]
        return await super().get_connection(*args, **options)  # type: ignore[no-untyped-call]


class SentinelClient(Redis):
    """The primary's client; closing it closes the sentinels' connections too."""

    sentinels_of_primary: Sentinel

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close the connections to the primary, then those to the sentinels."""
        await super().aclose(close_connection_pool)
        for sentinel in self.sentinels_of_primary.sentinels:
            await sentinel.aclose()


def primary_client(service: str, sentinels: list[tuple[str, int]],
                   sentinel_kwargs: dict[str, Any], pool_kwargs: dict[str, Any], *,
                   tls: bool) -> SentinelClient:
    """A ``redis.asyncio`` client of the primary the ``sentinels`` name for ``service``."""
    sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)
    pool = AsyncRecheckingSentinelPool(
        service, sentinel, connection_class=SentinelManagedSSLConnection if tls
        else SentinelManagedConnection, **for_asyncio(pool_kwargs))
    client = SentinelClient(connection_pool=pool)
    client.auto_close_connection_pool = True  # the pool is this client's own
    client.sentinels_of_primary = sentinel
    return client
