"""How a Redis backend reaches its data: one server, a Redis Cluster, or Sentinel's primary.

Each topology gives the client the stores send commands to, the clients to ``SCAN`` (one
per primary: a cluster's keys are spread over its primaries), the ``run_id`` of the nodes
that serve data now (to notice restarts), facts for ``doctor`` and closes its connections.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from redis import ConnectionPool, Redis, SSLConnection
from redis.exceptions import ConnectionError, TimeoutError
from redis.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)

from aragora_storage_core.url import StorageURL
from aragora_storage_redis.options import RedisOptions, connection_kwargs, tls_kwargs


def _addresses(url: StorageURL, default_port: int) -> list[tuple[str, int]]:
    return [(host or "localhost", port or default_port) for host, port in url.addresses]


def _hosts(url: StorageURL, default_port: int) -> str:
    return ",".join(f"{host}:{port}" for host, port in _addresses(url, default_port))


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


class SingleServer:
    """One ``redis-server``: one connection pool."""

    mode = "single"

    def __init__(self, url: StorageURL, options: RedisOptions) -> None:
        kwargs = connection_kwargs(url, options)
        if options.tls:
            kwargs["connection_class"] = SSLConnection
        host, port = _addresses(url, 6379)[0]
        self.pool = ConnectionPool(host=host, port=port, db=options.db, **kwargs)
        self.client: Any = Redis(connection_pool=self.pool)
        self.location = location_of(url, options)

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
        retry = kwargs.pop("retry")
        self.location = location_of(url, options)
        node: Any = ClusterNode  # redis-py's cluster module is untyped
        self.client: Any = RedisCluster(
            startup_nodes=[node(host, port) for host, port in _addresses(url, 6379)],
            retry=retry, **kwargs)

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


class RecheckingSentinelPool(SentinelConnectionPool):
    """redis-py's Sentinel pool, which asks the sentinels for the primary only when it
    opens a connection, so after a ``SENTINEL FAILOVER`` its open connections keep
    writing to the old primary until Sentinel demotes it (seconds later; those writes
    are then lost). This one asks again when a connection is taken and the last answer
    is ``check_interval`` seconds old; a new primary closes the idle connections."""

    def __init__(self, service: str, sentinel: Sentinel, *, check_interval: float,
                 **kwargs: Any) -> None:
        super().__init__(service, sentinel, **kwargs)  # type: ignore[no-untyped-call]
        self.check_interval = check_interval
        self._checked_at = time.monotonic()

    def get_connection(self, *args: Any, **options: Any) -> Any:
        """A pooled connection, to the current primary if the last check is old."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_interval:
            self._checked_at = now
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
        sentinel_kwargs: dict[str, Any] = {
            "username": options.sentinel_username,
            "password": url.params.get("sentinel_password"),
            "socket_timeout": options.socket_timeout,
            "socket_connect_timeout": options.connect_timeout,
            "client_name": "aragora-storage",
        }
        if options.tls:
            sentinel_kwargs.update(ssl=True, **tls_kwargs(options))
        self.sentinel = Sentinel(_addresses(url, 26379), sentinel_kwargs=sentinel_kwargs)
        self.service = service
        kwargs = connection_kwargs(url, options)
        self._node_kwargs = kwargs | ({"ssl": True} if options.tls else {})
        kwargs["connection_class"] = (SentinelManagedSSLConnection if options.tls
                                      else SentinelManagedConnection)
        self.pool = RecheckingSentinelPool(service, self.sentinel, db=options.db,
                                           check_interval=options.sentinel_check_interval,
                                           **kwargs)
        self.client: Any = Redis(connection_pool=self.pool)
        self.location = location_of(url, options)

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


Topology = SingleServer | ClusterServers | SentinelPrimary


def open_topology(url: StorageURL, options: RedisOptions) -> Topology:
    """The topology ``options.mode`` names, with its client made (cluster: connected)."""
    if options.mode == "cluster":
        return ClusterServers(url, options)
    if options.mode == "sentinel":
        return SentinelPrimary(url, options)
    return SingleServer(url, options)
