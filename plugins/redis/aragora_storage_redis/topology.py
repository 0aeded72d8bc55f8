"""How a Redis backend reaches its data: one server, a Redis Cluster, or Sentinel's primary
(``sentinel.py``).

Each topology gives the client the stores send commands to, the clients to ``SCAN`` (one
per primary: a cluster's keys are spread over its primaries), the ``run_id`` of the nodes
that serve data now (to notice restarts), facts for ``doctor`` and closes its connections.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, TypeAlias

from redis import ConnectionPool, Redis, SSLConnection
from redis.exceptions import ConnectionError, TimeoutError

from aragora_storage_core.url import StorageURL
from aragora_storage_redis.nodes import addresses, location_of, replica_run_ids
from aragora_storage_redis.options import RedisOptions, connection_kwargs, for_asyncio

if TYPE_CHECKING:
    from aragora_storage_redis.sentinel import SentinelPrimary


class SingleServer:
    """One ``redis-server``: one connection pool."""

    mode = "single"

    def __init__(self, url: StorageURL, options: RedisOptions) -> None:
        host, port = addresses(url, 6379)[0]
        self._kwargs = connection_kwargs(url, options) | {"host": host, "port": port,
                                                          "db": options.db}
        self._tls = options.tls
        pool_kwargs: dict[str, Any] = self._kwargs | (
            {"connection_class": SSLConnection} if options.tls else {})
        self.pool = ConnectionPool(**pool_kwargs)
        self.client: Any = Redis(connection_pool=self.pool)
        self.location = location_of(url, options)

    def async_client(self) -> Any:
        """A ``redis.asyncio`` client with a pool of its own, set up like :attr:`client`
        (for the running event loop only: its connections belong to that loop)."""
        from redis import asyncio as aioredis

        pool_kwargs: dict[str, Any] = for_asyncio(self._kwargs) | (
            {"connection_class": aioredis.SSLConnection} if self._tls else {})
        pool = aioredis.ConnectionPool(**pool_kwargs)
        return aioredis.Redis.from_pool(pool)

    def scan_targets(self) -> list[Any]:
        """The one server."""
        return [self.client]

    def run_ids(self, every_node: bool = False) -> frozenset[str]:
        """The server's ``run_id``."""
        return frozenset({self.client.info("server")["run_id"]})

    def facts(self) -> dict[str, Any]:
        """Nothing beyond the URL."""
        return {"mode": self.mode}

    def close(self) -> None:
        """Close every pooled connection."""
        self.pool.disconnect()


class ClusterServers:
    """A Redis Cluster: redis-py's ``RedisCluster`` routes each key to its slot's primary.

    It follows ``MOVED``/``ASK`` redirects itself (the command did not run, so that is
    safe for writes too); its own retry of connection errors is off, as on one server.
    """

    mode = "cluster"

    def __init__(self, url: StorageURL, options: RedisOptions) -> None:
        from redis.cluster import ClusterNode, RedisCluster

        kwargs = connection_kwargs(url, options)
        if options.tls:
            kwargs["ssl"] = True
        self._node_kwargs = dict(kwargs)
        self._seeds = addresses(url, 6379)
        self.location = location_of(url, options)
        node: Any = ClusterNode  # redis-py's cluster module is untyped
        self.client: Any = RedisCluster(
            startup_nodes=[node(host, port) for host, port in self._seeds], **kwargs)

    def async_client(self) -> Any:
        """A ``redis.asyncio`` cluster client set up like :attr:`client` (for the running
        event loop only); it discovers the nodes on its first command."""
        from redis.asyncio.cluster import ClusterNode, RedisCluster

        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in self._seeds],
                            **for_asyncio(self._node_kwargs))

    def scan_targets(self) -> list[Any]:
        """A client of each primary: ``SCAN`` sees only the keys of the node it runs on."""
        return [self.client.get_redis_connection(node) for node in self.client.get_primaries()]

    def run_ids(self, every_node: bool = False) -> frozenset[str]:
        """``run_id`` of each primary that answers; with ``every_node`` of every replica
        that answers too (from ``CLUSTER NODES``: ``CLUSTER SLOTS`` leaves out replicas that
        have not replicated anything yet)."""
        found: set[str] = set()
        for node in self.client.get_primaries():  # one that is down is left out
            with contextlib.suppress(ConnectionError, TimeoutError):
                found.add(self.client.info("server", target_nodes=node)["run_id"])
        if every_node:
            nodes: dict[str, Any] = self.client.cluster_nodes()
            replicas = [address.rsplit(":", 1) for address, node in nodes.items()
                        if "slave" in node["flags"] and "fail" not in node["flags"]]
            found |= replica_run_ids(replicas, self._node_kwargs)
        return frozenset(found)

    def answer_from_a_live_node(self) -> None:
        """Make a node that answers ``PING`` the one that commands without a key (``INFO``,
        ``CLUSTER INFO``) go to, so that one node being down does not hide the others."""
        for node in [self.client.get_default_node(), *self.client.get_nodes()]:
            try:
                self.client.ping(target_nodes=node)
            except (ConnectionError, TimeoutError):
                continue
            self.client.set_default_node(node)
            return

    def facts(self) -> dict[str, Any]:
        """The primaries the client routes to now."""
        return {"mode": self.mode,
                "primaries": sorted(n.name for n in self.client.get_primaries())}

    def close(self) -> None:
        """Close the connections to every node."""
        self.client.close()


Topology: TypeAlias = "SingleServer | ClusterServers | SentinelPrimary"


def open_topology(url: StorageURL, options: RedisOptions) -> Topology:
    """The topology ``options.mode`` names, with its client made (cluster: connected)."""
    if options.mode == "cluster":
        return ClusterServers(url, options)
    if options.mode == "sentinel":
        from aragora_storage_redis.sentinel import SentinelPrimary

        return SentinelPrimary(url, options)
    return SingleServer(url, options)
