"""``redis+cluster://``: the stores, backup, migrations and doctor on a real Redis Cluster
of six throwaway servers (3 primaries, 3 replicas), and failovers of one primary."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aragora_storage_redis.backend import RedisBackend
from aragora_storage_redis.health import health
from aragora_storage_redis.migrate import KeyspaceMigrator
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis_cluster import ThrowawayCluster, wait_until
from redis_support import async_round_trip, connect_redis

from aragora_storage_core.backup.types import BackupRequest, RestoreRequest
from aragora_storage_core.errors import BackendUnavailableError, ConfigurationError
from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry

pytestmark = pytest.mark.slow
LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.fixture
def cluster_backend(cluster_url: str) -> Iterator[RedisBackend]:
    """A backend on the cluster under a prefix of its own."""
    backend = connect_redis(cluster_url)
    yield backend
    backend.close()


def raw_cluster(redis_cluster: ThrowawayCluster) -> RedisCluster:
    return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", redis_cluster.live_ports()[0])],
                        password=redis_cluster.password)


def loops_in_different_slots(backend: RedisBackend, count: int) -> list[str]:
    loops: dict[int, str] = {}
    for number in range(1000):
        loop = f"loop-{number}"
        loops.setdefault(key_slot(backend.keys.stream(loop).encode()), loop)
        if len(loops) == count:
            return list(loops.values())
    pytest.fail("no loop ids in different slots")


def test_keys_spread_over_every_primary_and_the_stores_work(
        cluster_backend: RedisBackend, redis_cluster: ThrowawayCluster) -> None:
    tokens = cluster_backend.store("token_blacklist")
    assert tokens.revoke_many([(f"jti-{i}", LATER) for i in range(300)]) == 300
    assert all(tokens.is_revoked(f"jti-{i}") for i in (0, 150, 299))
    assert not tokens.is_revoked("never")
    cache = cluster_backend.store("cache")
    cache.set("a", b"1", ttl_seconds=60)
    assert (cache.get("a"), cache.delete("a"), cache.get("a")) == (b"1", True, None)
    per_primary = redis_cluster.keys_per_primary(f"{cluster_backend.keys.prefix}token:*")
    assert len(per_primary) == 3 and sum(per_primary.values()) == 300
    assert all(count > 0 for count in per_primary.values())


def test_append_many_across_slots_keeps_every_loop_in_order(
        cluster_backend: RedisBackend) -> None:
    loops = loops_in_different_slots(cluster_backend, 3)
    events = cluster_backend.store("stream_events")
    batch = [StreamEvent(loops[i % 3], 1, "tick", {"i": i}) for i in range(30)]
    ids = events.append_many(batch)
    assert ids == [event.id for event in batch] and all(ids)
    for n, loop in enumerate(loops):
        read = events.read(loop)
        assert [e.event_data["i"] for e in read] == list(range(n, 30, 3))
        assert [e.id for e in read] == ids[n::3]


def test_a_prefix_with_a_hash_tag_keeps_every_key_on_one_primary(
        redis_cluster: ThrowawayCluster) -> None:
    port = redis_cluster.live_ports()[0]
    backend = connect_redis(redis_cluster.url(f"prefix={{tagged-{port}}}:"))
    try:
        events = backend.store("stream_events")
        events.append_many([StreamEvent(f"loop-{i}", 1, "tick", {"i": i}) for i in range(20)])
        backend.store("token_blacklist").revoke("jti", LATER)
        per_primary = redis_cluster.keys_per_primary(f"{{tagged-{port}}}:*")
        assert sorted(per_primary.values())[:2] == [0, 0]
        assert sum(per_primary.values()) == 20 + 1 + 2  # streams, token, meta keys
    finally:
        backend.close()


def populate(backend: RedisBackend) -> None:
    backend.store("token_blacklist").revoke_many([(f"jti-{i}", LATER) for i in range(40)])
    backend.store("stream_events").append_many(
        [StreamEvent(f"loop-{i % 4}", i % 2, "tick", {"i": i}) for i in range(40)])
    backend.store("cache").set("kept", b"\x00\xff", ttl_seconds=3600)


def contents(backend: RedisBackend) -> tuple[object, ...]:
    events = backend.store("stream_events")
    return (
        [backend.store("token_blacklist").is_revoked(f"jti-{i}") for i in range(41)],
        [[(e.id, e.cycle, e.event_data) for e in events.read(f"loop-{n}")] for n in range(4)],
        backend.store("cache").get("kept"),
    )


def test_backup_covers_every_primary_and_moves_between_a_server_and_a_cluster(
        cluster_backend: RedisBackend, backend: RedisBackend, cluster_url: str,
        tmp_path: Path) -> None:
    populate(cluster_backend)
    expected = contents(cluster_backend)
    registry = Registry(env={})
    registry.host.load_backend("redis")
    hook = registry.hook
    from_cluster, from_server = tmp_path / "cluster", tmp_path / "server"
    from_cluster.mkdir(), from_server.mkdir()
    manifest = hook.storage_backup(backend=cluster_backend,
                                   request=BackupRequest(directory=from_cluster))
    assert manifest.extra["keys"] == 40 + 4 + 1 + 2  # tokens, streams, cache, meta
    hook.storage_restore(backend=backend, request=RestoreRequest(directory=from_cluster))
    assert contents(backend) == expected
    hook.storage_backup(backend=backend, request=BackupRequest(directory=from_server))
    other = connect_redis(cluster_url.replace("?prefix=", "?prefix=copy-"))
    try:
        hook.storage_restore(backend=other, request=RestoreRequest(directory=from_server))
        assert contents(other) == expected
    finally:
        other.close()


def test_migrations_move_single_server_keys_across_slots(
        cluster_url: str, redis_cluster: ThrowawayCluster) -> None:
    prefix = cluster_url.split("?prefix=")[1]
    raw = raw_cluster(redis_cluster)
    try:
        for i in range(60):
            raw.set(f"{prefix}blacklist:jti-{i}", f"user-{i}", px=3_600_000)
        backend = connect_redis(cluster_url + "&retries=3")
        settings_free = KeyspaceMigrator(backend)
        assert [m.version for m in settings_free.migrate().applied] == [1, 2]
        moved = {f"jti-{i}" for i in range(60)
                 if key_slot(f"{prefix}blacklist:jti-{i}".encode())
                 != key_slot(f"{prefix}token:jti-{i}".encode())}
        assert moved  # the precondition: some renames cross slots
        for i in range(60):
            value = raw.get(f"{prefix}token:jti-{i}")
            assert value is not None and json.loads(value) == {"user_id": f"user-{i}",
                                                               "revoked_at": None}
            assert 0 < raw.pttl(f"{prefix}token:jti-{i}") <= 3_600_000
        assert sum(redis_cluster.keys_per_primary(f"{prefix}blacklist:*").values()) == 0
        assert raw.get(f"{prefix}meta:version") == b"2"
        assert settings_free.migrate().ran == []
        backend.close()
    finally:
        raw.close()


def test_doctor_reports_cluster_state_slots_and_nodes(cluster_backend: RedisBackend) -> None:
    found = {check.id: check for check in health(cluster_backend)}
    state = found["storage.I145"]
    assert state.data is not None
    assert (state.data["cluster_state"], state.data["slots_ok"]) == ("ok", 16384)
    assert (len(state.data["primaries"]), state.data["replicas"]) == (3, 3)
    assert not {"storage.E145", "storage.W145", "storage.W113", "storage.E110"} & set(found)
    assert cluster_backend.describe()["mode"] == "cluster"
    assert len(cluster_backend.describe()["primaries"]) == 3
    assert len(cluster_backend.run_ids) == 6  # every node's: a failover is no restart


def test_bad_cluster_urls_fail_with_one_line_and_no_password(
        redis_cluster: ThrowawayCluster) -> None:
    port = redis_cluster.live_ports()[0]
    with pytest.raises(ConfigurationError, match="only database 0"):
        connect_redis(f"redis+cluster://127.0.0.1:{port}/3")
    with pytest.raises(ConfigurationError, match="unknown redis URL form"):
        connect_redis(f"redis+clustr://127.0.0.1:{port}")
    with pytest.raises(ConfigurationError, match="lists several hosts"):
        connect_redis(f"redis://127.0.0.1:{port},127.0.0.1:{port + 1}")
    with pytest.raises(BackendUnavailableError) as info:
        connect_redis("redis+cluster://:s3cret-pw@127.0.0.1:1,127.0.0.1:2?connect_timeout=1")
    shown = f"{info.value} {info.value.hint} {info.value!r}"
    assert "s3cret-pw" not in shown and "\n" not in str(info.value)
    assert "redis cluster at 127.0.0.1:1,127.0.0.1:2" in str(info.value)
    with pytest.raises(BackendUnavailableError, match="rejected the credentials") as info:
        connect_redis(redis_cluster.url("retries=0", password="wr0ng-s3cret"))
    shown = f"{info.value} {info.value.hint} {info.value!r}"
    assert "wr0ng-s3cret" not in shown and "\n" not in str(info.value)


def same_primary_loop(backend: RedisBackend, redis_cluster: ThrowawayCluster,
                      primary: int) -> str:
    for number in range(1000):
        if redis_cluster.primary_of_key(backend.keys.stream(f"loop-{number}")) == primary:
            return f"loop-{number}"
    pytest.fail(f"no loop id on the primary {primary}")


def test_a_replica_that_is_down_keeps_no_one_out(cluster_url: str,
                                                 redis_cluster: ThrowawayCluster) -> None:
    replica = redis_cluster.node(redis_cluster.replica_of(redis_cluster.primary_ports()[0]))
    replica.stop()
    try:
        backend = connect_redis(cluster_url + "&retries=0&connect_timeout=1")
        assert len(backend.run_ids) == 5
        backend.store("cache").set("k", b"v")
        assert backend.store("cache").get("k") == b"v"
        backend.close()
    finally:
        replica.start()
        wait_until(redis_cluster.healthy, "the replica catching up again")


def test_a_manual_failover_is_absorbed_by_reads_and_writes(
        cluster_backend: RedisBackend, redis_cluster: ThrowawayCluster) -> None:
    cache, events = cluster_backend.store("cache"), cluster_backend.store("stream_events")
    cache.set("k", b"before")
    primary = redis_cluster.primary_of_key(cluster_backend.keys.cache("k"))
    loop = same_primary_loop(cluster_backend, redis_cluster, primary)
    first = events.append(StreamEvent(loop, 1, "before", {}))
    redis_cluster.client(primary).execute_command("WAIT", 1, 2000)
    redis_cluster.failover(primary)
    assert cache.get("k") == b"before"
    cache.set("k", b"after")
    second = events.append(StreamEvent(loop, 1, "after", {}))
    assert [e.id for e in events.read(loop)] == [first, second]
    assert cache.get("k") == b"after"
    found = {check.id for check in health(cluster_backend)}
    assert "storage.W113" not in found and "storage.E145" not in found


def test_a_killed_primary_is_absorbed_by_idempotent_commands_and_a_write_says_unknown(
        cluster_url: str, redis_cluster: ThrowawayCluster) -> None:
    backend = connect_redis(cluster_url + "&retries=12")
    cache, events = backend.store("cache"), backend.store("stream_events")
    cache.set("k", b"kept")
    primary = redis_cluster.primary_of_key(backend.keys.cache("k"))
    loop = same_primary_loop(backend, redis_cluster, primary)
    redis_cluster.client(primary).execute_command("WAIT", 1, 2000)
    killed = redis_cluster.node(primary)
    try:
        killed.stop()
        with pytest.raises(BackendUnavailableError,
                           match="may or may not have been applied and was not retried"):
            events.append(StreamEvent(loop, 1, "cut", {}))
        assert cache.get("k") == b"kept"  # retried until a replica took over
        assert events.append(StreamEvent(loop, 1, "after", {}))
        while_down = connect_redis(cluster_url)  # a node that is down keeps no one out
        assert while_down.store("cache").get("k") == b"kept"
        while_down.close()
        warned = {check.id: check for check in health(backend)}
        assert f"127.0.0.1:{primary}" in warned["storage.W145"].message
    finally:
        backend.close()
        killed.start()
        wait_until(redis_cluster.healthy, "the killed node rejoining as a replica")


def test_a_cluster_that_lost_a_whole_shard_refuses_clearly_and_comes_back(
        cluster_url: str, redis_cluster: ThrowawayCluster) -> None:
    primary = redis_cluster.primary_ports()[0]
    shard = [redis_cluster.node(primary), redis_cluster.node(redis_cluster.replica_of(primary))]
    backend = connect_redis(cluster_url + "&retries=0")
    patient = connect_redis(cluster_url + "&retries=8")
    live = next(port for port in redis_cluster.primary_ports() if port != primary)
    loop = same_primary_loop(backend, redis_cluster, live)
    refusing, events = backend.store("stream_events"), patient.store("stream_events")
    try:
        for node in shard:
            node.stop()
        wait_until(lambda: redis_cluster.client(live).cluster("info")["cluster_state"] == "fail",
                   "the cluster noticing that a shard is gone")
        with pytest.raises(BackendUnavailableError,
                           match=r"the cluster refused stream_events\.append .*did not run"):
            refusing.append(StreamEvent(loop, 1, "refused", {}))
        found = {check.id: check for check in health(backend)}
        assert "storage.E145" in found and "cluster_state fail" in found["storage.E145"].message
        for node in shard:
            node.start()
        # CLUSTERDOWN says the write did not run, so even XADD is retried until it is served
        assert events.append(StreamEvent(loop, 1, "served", {}))
        assert [e.event_type for e in events.read(loop)] == ["served"]
    finally:
        backend.close()
        patient.close()
        for node in shard:
            if node.process is None:
                node.start()
        wait_until(redis_cluster.healthy, "the shard rejoining")


def test_async_stores_spread_keys_and_keep_append_many_per_slot_in_order(
        cluster_backend: RedisBackend, redis_cluster: ThrowawayCluster) -> None:
    result = async_round_trip(cluster_backend, tokens=120)
    assert all(result["revoked"]) and result["cache"] == b"async"
    per_primary = redis_cluster.keys_per_primary(f"{cluster_backend.keys.prefix}token:*")
    assert len(per_primary) == 3 and sum(per_primary.values()) == 120
    loops = loops_in_different_slots(cluster_backend, 3)
    events = cluster_backend.astore("stream_events")
    batch = [StreamEvent(loops[i % 3], 1, "tick", {"i": i}) for i in range(30)]

    async def scenario() -> tuple[list[str], list[list[StreamEvent]]]:
        try:
            ids = await events.append_many(batch)
            return ids, [await events.read(loop) for loop in loops]
        finally:
            await cluster_backend.aclose()

    ids, read = asyncio.run(scenario())
    assert ids == [event.id for event in batch] and all(ids)
    for n, found in enumerate(read):
        assert [e.event_data["i"] for e in found] == list(range(n, 30, 3))


def test_an_async_client_absorbs_a_manual_failover(
        cluster_backend: RedisBackend, redis_cluster: ThrowawayCluster) -> None:
    cache = cluster_backend.astore("cache")
    primary_holder: list[int] = []

    async def scenario() -> tuple[bytes | None, bytes | None]:
        try:
            await cache.set("k", b"before")
            primary = redis_cluster.primary_of_key(cluster_backend.keys.cache("k"))
            primary_holder.append(primary)
            redis_cluster.client(primary).execute_command("WAIT", 1, 2000)
            await asyncio.to_thread(redis_cluster.failover, primary)
            before = await cache.get("k")
            await cache.set("k", b"after")
            return before, await cache.get("k")
        finally:
            await cluster_backend.aclose()

    assert asyncio.run(scenario()) == (b"before", b"after")
    assert redis_cluster.primary_of_key(cluster_backend.keys.cache("k")) != primary_holder[0]


def test_an_async_client_rides_out_a_killed_primary_and_a_cut_write_says_unknown(
        cluster_url: str, redis_cluster: ThrowawayCluster) -> None:
    backend = connect_redis(cluster_url + "&retries=12")
    cache, events = backend.astore("cache"), backend.astore("stream_events")
    primary_of_k: list[int] = []

    async def scenario() -> tuple[BaseException, bytes | None, str]:
        try:
            await cache.set("k", b"kept")
            primary = redis_cluster.primary_of_key(backend.keys.cache("k"))
            primary_of_k.append(primary)
            loop = same_primary_loop(backend, redis_cluster, primary)
            redis_cluster.client(primary).execute_command("WAIT", 1, 2000)
            redis_cluster.node(primary).stop()
            try:
                await events.append(StreamEvent(loop, 1, "cut", {}))
            except BackendUnavailableError as error:
                cut = error
            else:
                raise AssertionError("XADD to a killed primary succeeded")
            kept = await cache.get("k")  # retried until a replica took over
            return cut, kept, await events.append(StreamEvent(loop, 1, "after", {}))
        finally:
            await backend.aclose()

    try:
        cut, kept, after = asyncio.run(scenario())
    finally:
        backend.close()
        if primary_of_k:
            redis_cluster.node(primary_of_k[0]).start()
            wait_until(redis_cluster.healthy, "the killed node rejoining as a replica")
    assert "may or may not have been applied and was not retried" in cut.message
    assert kept == b"kept" and after
