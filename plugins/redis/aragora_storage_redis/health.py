"""Health findings about a Redis backend: reachability, version, memory, durability, TLS,
and the state of a cluster or of the sentinels."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import StorageError
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_redis.faults import DRIVER_ERRORS, translate
from aragora_storage_redis.sentinel import SentinelPrimary
from aragora_storage_redis.topology import ClusterServers

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

#: Stores whose loss on a restart is a security problem, not just a cold cache.
DURABLE_STORES = frozenset({StoreKind.TOKEN_BLACKLIST})


def transport_checks(backend: RedisBackend) -> list[Check]:
    """Warnings about how the connection is protected; needs no server."""
    checks: list[Check] = []
    where = backend.location
    options = backend.options
    if options.tls and options.ssl_cert_reqs != "required":
        checks.append(Check(
            "storage.W114", Level.WARNING,
            f"{where}: TLS certificate verification is off (ssl_cert_reqs="
            f"{options.ssl_cert_reqs})",
            "remove ssl_cert_reqs from the URL and pass the CA: ?ssl_ca_certs=/path/ca.pem"))
    elif options.tls and not options.ssl_check_hostname:
        checks.append(Check(
            "storage.W114", Level.WARNING,
            f"{where}: TLS host name check is off (ssl_check_hostname=false): any "
            "certificate the CA signed, for any host, is accepted",
            "remove ssl_check_hostname from the URL; connect by the name in the certificate"))
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


def cluster_checks(backend: RedisBackend) -> list[Check]:
    """A Redis Cluster's state: ``cluster_state``, slots served, nodes failing, primaries
    without a replica (whose failure takes their slots away until they return)."""
    client, where = backend.client, backend.location
    try:
        info = backend.retrier.idempotent(client.cluster_info)
        nodes: dict[str, Any] = backend.retrier.idempotent(client.cluster_nodes)
    except DRIVER_ERRORS as error:
        failure = translate(error, backend, "CLUSTER INFO")
        return [Check("storage.E145", Level.ERROR, failure.message, failure.hint)]
    primaries = {n["node_id"]: address for address, n in nodes.items() if "master" in n["flags"]}
    replicas = [n for n in nodes.values() if "slave" in n["flags"]]
    failing = sorted(address for address, n in nodes.items() if "fail" in n["flags"])
    served = int(info.get("cluster_slots_ok", 0))
    data = {"cluster_state": info.get("cluster_state"), "slots_ok": served,
            "slots_assigned": int(info.get("cluster_slots_assigned", 0)),
            "primaries": sorted(primaries.values()), "replicas": len(replicas),
            "failing": failing}
    checks = [Check("storage.I145", Level.INFO,
                    f"{where}: cluster_state {data['cluster_state']}, {served} of 16384 slots "
                    f"served, {len(primaries)} primaries, {len(replicas)} replicas",
                    data=data)]
    if data["cluster_state"] != "ok" or served < 16384:
        checks.append(Check("storage.E145", Level.ERROR,
                            f"{where}: cluster_state {data['cluster_state']}, only {served} "
                            "of 16384 slots served: keys of the other slots fail",
                            "see CLUSTER NODES; restart the failed nodes or run "
                            "redis-cli --cluster fix"))
    followed = {n["master_id"] for n in replicas if "fail" not in n["flags"]}
    lonely = sorted(address for node_id, address in primaries.items() if node_id not in followed)
    if failing or lonely:
        checks.append(Check("storage.W145", Level.WARNING,
                            f"{where}: " + "; ".join(
                                ([f"nodes failing: {', '.join(failing)}"] if failing else [])
                                + ([f"primaries without a replica: {', '.join(lonely)}"]
                                   if lonely else [])),
                            "a primary without a replica takes its slots down when it "
                            "fails: add a replica (redis-cli --cluster add-node --cluster-slave)"))
    return checks


def sentinel_checks(backend: RedisBackend, topology: SentinelPrimary) -> list[Check]:
    """What the sentinels say of the service: its primary, replicas, sentinels answering."""
    where = backend.location
    states: list[dict[str, Any]] = []
    for sentinel in topology.sentinel.sentinels:
        try:
            state: Any = sentinel.sentinel_master(topology.service)
            states.append(state)
        except DRIVER_ERRORS:
            continue
    total = len(topology.sentinel.sentinels)
    if not states:
        return [Check("storage.E146", Level.ERROR,
                      f"{where}: no sentinel answered for the service",
                      "check the sentinel hosts, the service name and ?sentinel_password=")]
    state = states[0]
    data: dict[str, Any] = {
        "primary": f"{state['ip']}:{state['port']}", "replicas": state["num-slaves"],
        "sentinels_answering": len(states), "sentinels": total, "quorum": state["quorum"]}
    checks = [Check("storage.I146", Level.INFO,
                    f"{where}: primary at {data['primary']}, {data['replicas']} replicas, "
                    f"{len(states)} of {total} sentinels answer (quorum {state['quorum']})",
                    data=data)]
    if len(states) < total or not state["num-slaves"]:
        checks.append(Check("storage.W146", Level.WARNING,
                            f"{where}: {len(states)} of {total} sentinels answer, "
                            f"{state['num-slaves']} replicas: a failover may not happen",
                            "run at least three sentinels and one replica"))
    return checks


def health(backend: RedisBackend) -> list[Check]:
    """Every finding about ``backend``."""
    if isinstance(backend.topology, ClusterServers):
        backend.topology.answer_from_a_live_node()
    checks = transport_checks(backend) + server_checks(backend)
    if isinstance(backend.topology, ClusterServers):
        checks += cluster_checks(backend)
    elif isinstance(backend.topology, SentinelPrimary):
        checks += sentinel_checks(backend, backend.topology)
    return checks
