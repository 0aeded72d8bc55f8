"""The Redis backend: one server, a cluster or Sentinel's primary; keys under one prefix."""

from __future__ import annotations

import secrets
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.checks import Check
from aragora_storage_core.migrations.types import MigrationReport, MigrationRequest
from aragora_storage_core.settings import Settings
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.url import MASK, StorageURL
from aragora_storage_redis.commands import Commands
from aragora_storage_redis.faults import DRIVER_ERRORS, Retrier, translate
from aragora_storage_redis.keys import Keyspace
from aragora_storage_redis.nodes import location_of
from aragora_storage_redis.options import RedisOptions
from aragora_storage_redis.topology import Topology, open_topology

if TYPE_CHECKING:
    from aragora_storage_redis.bridged import LoopClients


class RedisBackend(Backend):
    """Token blacklist, stream events and cache in Redis.

    Opening it asks the servers for their ``run_id`` (so a restart can be noticed later);
    an unreachable server (or cluster, or set of sentinels) fails here within the
    connect timeout.
    """

    name: ClassVar[str] = "redis"
    stores_served: ClassVar[frozenset[StoreKind]] = frozenset(
        {StoreKind.TOKEN_BLACKLIST, StoreKind.STREAM_EVENTS, StoreKind.CACHE})

    def __init__(self, url: StorageURL, settings: Settings) -> None:
        super().__init__(url, settings)
        self.options = RedisOptions.from_url(url)
        self.keys = Keyspace(self.options.prefix)
        self.retrier = Retrier(self.options.retries)
        self.socket_timeout = self.options.socket_timeout
        self.location = location_of(url, self.options)
        self._keyspace_ready = False
        self._async_lock = threading.Lock()
        self.async_clients: LoopClients | None = None
        try:
            self.topology: Topology = open_topology(url, self.options)
        except DRIVER_ERRORS as error:
            raise translate(error, self, "connect") from error
        self.client: Any = self.topology.client
        self.commands = Commands(self.client, self.retrier, self)
        try:
            self.run_ids = self.retrier.idempotent(lambda: self.topology.run_ids(every_node=True))
        except DRIVER_ERRORS as error:
            self.topology.close()
            raise translate(error, self, "connect") from error
        except BaseException:
            self.topology.close()
            raise

    def __repr__(self) -> str:
        return f"<RedisBackend {self.url.render()} prefix={self.options.prefix!r}>"

    def scrub(self, text: str) -> str:
        """``text`` with the URL's passwords masked (redis-py never prints them; belt and
        braces)."""
        for secret in (self.url.password, self.url.params.get("sentinel_password")):
            if secret:
                text = text.replace(secret, MASK)
        return text

    def marker(self) -> str | None:
        """The token under ``<prefix>meta:marker``, or ``None`` when it is gone."""
        value = self.commands.read("GET marker", "get", self.keys.marker)
        return value.decode() if isinstance(value, bytes) else value

    def renew_marker(self) -> str:
        """Store a fresh random token under ``<prefix>meta:marker``."""
        token = secrets.token_hex(16)
        self.commands.write("SET marker", "set", self.keys.marker, token)
        return token

    def server_info(self, section: str, operation: str | None = None) -> dict[str, Any]:
        """``INFO section`` as a dict; connection failures become typed errors."""
        info: dict[str, Any] = self.commands.read(operation or f"INFO {section}", "info",
                                                  section)
        return info

    def make_store(self, kind: StoreKind) -> Any:
        """Build the store ``kind``, bringing the keyspace up to date first if allowed."""
        from aragora_storage_redis.stores import STORE_CLASSES

        if not self._keyspace_ready:
            self.auto_migrate()
            self._keyspace_ready = True
        return STORE_CLASSES[kind](self)

    def make_async_store(self, kind: StoreKind, store: Any) -> Any:
        """The async twin of ``store``: the same store class on commands sent by the running
        event loop's ``redis.asyncio`` client (``async_commands.py``); a method of single
        commands runs as its coroutine twin, the others through the greenlet bridge."""
        from aragora_storage_core.aio.bridge import run
        from aragora_storage_core.aio.proxy import AsyncStore
        from aragora_storage_redis.async_commands import TWINS, AsyncCommands
        from aragora_storage_redis.bridged import LoopClients

        with self._async_lock:
            if self.async_clients is None:
                self.async_clients = LoopClients(self.topology.async_client,
                                                 self.options.max_connections)
        commands = AsyncCommands(self.async_clients, self.options.retries, self)
        return AsyncStore(type(store)(self, commands), kind, run, twins=TWINS)

    async def aclose(self) -> None:
        """Close the ``redis.asyncio`` client of the running event loop."""
        if self.async_clients is not None:
            await self.async_clients.aclose()

    def migrate(self, request: MigrationRequest) -> MigrationReport:
        """Report on or apply the keyspace's data migrations."""
        from aragora_storage_redis import migrate

        return migrate.run(self, request)

    def backup(self, request: BackupRequest) -> BackupManifest:
        """DUMP every key under the prefix, with its expiry, into ``request.directory``."""
        from aragora_storage_redis import backup

        return backup.backup(self, request)

    def restore(self, request: RestoreRequest) -> BackupManifest:
        """Replace the keys under the prefix with those of the backup."""
        from aragora_storage_redis import backup

        return backup.restore(self, request)

    def health(self) -> list[Check]:
        """Latency, version, memory, persistence, restarts and transport security."""
        from aragora_storage_redis import health

        return health.health(self)

    def describe(self) -> dict[str, Any]:
        """Facts for ``doctor``: masked URL, topology, prefix, TLS, certificate checks."""
        return super().describe() | self.topology.facts() | {
            "prefix": self.options.prefix,
            "tls": self.options.tls,
            "verifies_certificates": self.options.verifies_certificates,
        }

    def close(self) -> None:
        """Close every connection (async clients are dropped: their loops may be gone)."""
        if self.async_clients is not None:
            self.async_clients.forget()
        self.topology.close()
