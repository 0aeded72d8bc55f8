"""Facts about the nodes of a Redis URL, shared by every topology (``topology.py``,
``sentinel.py``): their addresses, where the data is (for messages), replicas' run ids,
when to ask the sentinels again."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError, TimeoutError

from aragora_storage_core.url import StorageURL
from aragora_storage_redis.options import RedisOptions


def addresses(url: StorageURL, default_port: int) -> list[tuple[str, int]]:
    """``(host, port)`` of every host of ``url``, with the defaults filled in."""
    return [(host or "localhost", port or default_port) for host, port in url.addresses]


def _hosts(url: StorageURL, default_port: int) -> str:
    return ",".join(f"{host}:{port}" for host, port in addresses(url, default_port))


def replica_run_ids(addresses: Any, node_kwargs: dict[str, Any]) -> set[str]:
    """``run_id`` of each replica at ``(host, port)`` that answers; one that does not is
    left out (a replica being down keeps no one from connecting)."""
    found: set[str] = set()
    for host, port in addresses:
        replica = Redis(host=host, port=int(port), **node_kwargs)
        try:
            with contextlib.suppress(ConnectionError, TimeoutError):
                found.add(replica.info("server")["run_id"])
        finally:
            replica.close()
    return found


def location_of(url: StorageURL, options: RedisOptions) -> str:
    """Where the data is, for messages: hosts, service and database, never credentials."""
    if options.mode == "cluster":
        return f"redis cluster at {_hosts(url, 6379)}"
    if options.mode == "sentinel":
        return (f"redis sentinel service {options.service!r} at {_hosts(url, 26379)} "
                f"db {options.db}")
    return f"redis at {_hosts(url, 6379)}/{options.db}"


class Recheck:
    """When to ask the sentinels again: ``check_interval`` seconds after the last time."""

    def __init__(self, check_interval: float) -> None:
        self.check_interval = check_interval
        self._checked_at = time.monotonic()

    def due(self) -> bool:
        """True (and the clock restarts) when the last check is ``check_interval`` old."""
        now = time.monotonic()
        if now - self._checked_at < self.check_interval:
            return False
        self._checked_at = now
        return True
