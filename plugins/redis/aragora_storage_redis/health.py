"""Health findings about a Redis backend: reachability, version, memory, durability, TLS."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import StorageError
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_redis.faults import DRIVER_ERRORS, translate

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

#: Stores whose loss on a restart is a security problem, not just a cold cache.
DURABLE_STORES = frozenset({StoreKind.TOKEN_BLACKLIST})


def transport_checks(backend: RedisBackend) -> list[Check]:
    """Warnings about how the connection is protected; needs no server."""
    checks: list[Check] = []
    where = backend.location
    if not backend.options.verifies_certificates:
        checks.append(Check(
            "storage.W114", Level.WARNING,
            f"{where}: TLS certificate verification is off (ssl_cert_reqs="
            f"{backend.options.ssl_cert_reqs})",
            "remove ssl_cert_reqs from the URL and pass the CA: ?ssl_ca_certs=/path/ca.pem"))
    if not backend.options.tls and not backend.url.is_local:
        checks.append(Check(
            "storage.W115", Level.WARNING,
            f"{where}: plain redis:// to a remote host sends data and password unencrypted",
            "use rediss:// (TLS) for Redis on another machine"))
    return checks


def _persistence(backend: RedisBackend) -> dict[Any, Any] | None:
    try:
        config: dict[Any, Any] = dict(backend.client.config_get("save", "appendonly"))
    except RedisError:
        return None  # CONFIG is often disabled on managed servers
    return {k if isinstance(k, str) else k.decode(): v if isinstance(v, str) else v.decode()
            for k, v in config.items()}


def server_checks(backend: RedisBackend) -> list[Check]:
    """Latency, version, memory, persistence and restarts, from the server itself."""
    where = backend.location
    try:
        started = perf_counter()
        backend.retrier.idempotent(backend.client.ping)
        ms = (perf_counter() - started) * 1000
        info: dict[str, Any] = backend.server_info("server") | backend.server_info("memory")
        serving = backend.retrier.idempotent(backend.topology.run_ids)
    except (*DRIVER_ERRORS, StorageError) as error:
        failure = error if isinstance(error, StorageError) else translate(error, backend, "PING")
        return [Check("storage.E110", Level.ERROR, failure.message, failure.hint)]
    checks = [
        Check("storage.I110", Level.INFO, f"{where}: PING answered in {ms:.2f} ms",
              data={"latency_ms": round(ms, 3)}),
        Check("storage.I111", Level.INFO,
              f"{where}: Redis {info['redis_version']}, {info['used_memory_human']} used, "
              f"eviction policy {info.get('maxmemory_policy', 'unknown')}",
              data={"version": info["redis_version"], "used_memory": info["used_memory"],
                    "maxmemory": info.get("maxmemory"),
                    "maxmemory_policy": info.get("maxmemory_policy")}),
    ]
    if not serving <= backend.run_ids:
        checks.append(Check(
            "storage.W113", Level.WARNING,
            f"{where} restarted since this process connected (run_id changed)",
            "data written before the restart is gone unless the server persists it"))
    durable = sorted(kind.value for kind in DURABLE_STORES & backend.stores_served)
    persistence = _persistence(backend)
    if persistence is None:
        checks.append(Check("storage.I112", Level.INFO,
                            f"{where}: persistence settings cannot be read (CONFIG refused)"))
    elif durable and not persistence.get("save") and persistence.get("appendonly") == "no":
        checks.append(Check(
            "storage.W112", Level.WARNING,
            f"{where} keeps nothing on disk (save \"\", appendonly no) but serves "
            f"{', '.join(durable)}: revoked tokens become valid again after a restart",
            "enable persistence: CONFIG SET appendonly yes (and in redis.conf)"))
    if durable and str(info.get("maxmemory_policy", "")).startswith("allkeys-"):
        checks.append(Check(
            "storage.W116", Level.WARNING,
            f"{where}: eviction policy {info['maxmemory_policy']} may evict revoked tokens",
            "use maxmemory-policy volatile-lru or noeviction"))
    return checks


def health(backend: RedisBackend) -> list[Check]:
    """Every finding about ``backend``."""
    return transport_checks(backend) + server_checks(backend)
