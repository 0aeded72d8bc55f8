"""Beyond one machine: what replica routing costs, and the stores through PgBouncer.

1. Routing. ``UserStore.get_by_id`` on a backend with a streaming standby as its replica
   (the read is routed there) vs the same read on a backend whose primary URL *is* that
   standby (no routing): the same server answers both sides over its Unix socket, so the
   difference per call is the routing (the target: at most 2 us). Wall time shows the
   ratio; the added microseconds are the calling thread's CPU time (the routing is pure
   client work, and CPU time leaves out the server's and the machine's jitter, which is
   larger than 2 us). ``ReplicaSet.choose()`` (the decision alone) is timed too.
2. PgBouncer. Stores vs ``bench_postgres.py``'s hand-written psycopg2 (same tables, same
   rows), both connected through one transaction-mode pgbouncer, alternating call by
   call (``timing.compare``): wall-time ratio (the target: at most 1.10x) and the
   calling thread's CPU-time ratio. Commits flush (``synchronous_commit`` on) alike.

Both start throwaway servers as the tests do (``initdb`` + ``pg_basebackup -R``, and
Debian's ``pgbouncer`` from ``.ci/setup.d/30-pgbouncer.sh``), on free ports.

    .venv/bin/python benchmarks/bench_scaling.py [--pairs 30] [--batch 200]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from itertools import count
from pathlib import Path

from timing import audit, compare, per_op, user

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers: servers

from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from tests.postgres.bouncer import Bouncer
from tests.postgres.cluster import ScratchCluster

#: Routing may add at most this many microseconds per store call.
ROUTING_TARGET_US = 2.0
#: Stores through PgBouncer: at most this ratio to raw psycopg2 through the same one.
PGBOUNCER_TARGET = 1.10


def open_backend(registry: Registry, url: str) -> PostgresBackend:
    """``registry.connect(url)`` as a :class:`PostgresBackend`."""
    backend = registry.connect(url)
    assert isinstance(backend, PostgresBackend)
    return backend


def cpu_compare(ours: Callable[[int], object], raw: Callable[[int], object], pairs: int,
                batch: int) -> tuple[float, float]:
    """This thread's CPU time per call: median over ``pairs`` of ours/raw and of ours-raw (us).

    CPU time of the calling thread leaves out the wait for the server (and the other
    processes of a busy machine), so a difference of a microsecond shows through a
    round trip of hundreds; within a pair the two sides alternate call by call.
    """
    clock = time.thread_time
    ratios, differences = [], []
    for pair in range(pairs):
        spent = {ours: 0.0, raw: 0.0}
        for i in range(batch):
            for side in ((ours, raw) if (pair + i) % 2 else (raw, ours)):
                start = clock()
                side(i)
                spent[side] += clock() - start
        ratios.append(spent[ours] / spent[raw])
        differences.append((spent[ours] - spent[raw]) / batch * 1e6)
    return statistics.median(ratios), statistics.median(differences)


def socket_url(server: ScratchCluster) -> str:
    """The server's database over its Unix socket (the lowest, steadiest latency here)."""
    return f"postgresql://postgres@/aragora?host={server.root}&port={server.port}"


def routing(pairs: int, batch: int) -> bool:
    """Print the routing comparison; True when it meets :data:`ROUTING_TARGET_US`."""
    primary = ScratchCluster()
    standby: ScratchCluster | None = None
    try:
        primary.create()
        standby = primary.standby()
        primary_url, standby_url = socket_url(primary), socket_url(standby)
        seeding = Registry(env={})  # writes through another registry: no read-your-writes
        writer = open_backend(seeding, primary_url)
        seeding.hook.storage_migrate(backend=writer,
                                     request=MigrationRequest(MigrationAction.MIGRATE))
        users = [user(f"u{i}") for i in range(1000)]
        writer.store("users").create_many(users)
        routed = open_backend(Registry(env={"DATABASE_REPLICA_URLS": standby_url}), primary_url)
        direct = open_backend(Registry(env={}), standby_url)
        replicas = routed.database.replicas
        assert replicas is not None
        deadline = time.monotonic() + 30
        while replicas.choose() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert replicas.choose() is not None, "the standby never caught up"
        ids = [u.id for u in users]
        via_router, on_standby = routed.store("users"), direct.store("users")
        def routed_read(i: int) -> object:
            return via_router.get_by_id(ids[i % 1000])

        def direct_read(i: int) -> object:
            return on_standby.get_by_id(ids[i % 1000])

        row = compare("UserStore.get_by_id", routed_read, direct_read, pairs, batch)
        _, added_us = cpu_compare(routed_read, direct_read, pairs, batch)
        served = routed.database.fetch_one("SELECT pg_is_in_recovery()")
        assert served == (True,), "the routed reads did not go to the standby"
        choose_us = per_op(lambda: [replicas.choose() for _ in range(100_000)], 100_000) * 1e6
        print(f"Replica routing, {pairs} pairs of {batch} interleaved calls, one standby:")
        print("| operation | routed to the standby us | standby as primary us | ratio |"
              " added CPU us |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(f"| {row['operation']} | {row['store_ms'] * 1000:.2f} | {row['raw_ms'] * 1000:.2f}"
              f" | {row['ratio']:.3f} | {added_us:+.2f} |")
        print(f"ReplicaSet.choose() alone: {choose_us:.3f} us per call"
              f" (target: routing adds <= {ROUTING_TARGET_US:g} us)")
        for backend in (writer, routed, direct):
            backend.close()
        return added_us <= ROUTING_TARGET_US
    finally:
        if standby is not None:
            standby.remove()
        primary.remove()


def through_pgbouncer(pairs: int, batch: int) -> bool:
    """Print stores vs hand-written psycopg2, both through one pgbouncer; True when every
    wall-time ratio is within :data:`PGBOUNCER_TARGET`."""
    import bench_postgres
    import psycopg2

    bouncer = Bouncer("127.0.0.1", 5432, server_pool_size=20,
                      ignore_startup_parameters="options")
    bouncer.start()
    admin = psycopg2.connect(bench_postgres.ADMIN_URL)
    admin.autocommit = True
    name = f"aragora_bench_{secrets.token_hex(4)}"
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        bench = bench_postgres.Bench(bouncer.url(name) + f"?options={bench_postgres.NO_FLUSH}")
        store, raw, stores = bench.sides["store"], bench.sides["raw"], bench.stores
        ids, fresh = bench.ids, count()
        ops = {
            "UserStore.get_by_id": (lambda i: store.get_by_id(ids[i % 1000]),
                                    lambda i: raw.get_by_id(ids[i % 1000])),
            "TokenBlacklist.is_revoked": (lambda i: stores["token_blacklist"].is_revoked(
                f"t{i % 1000}"), lambda i: raw.is_revoked(f"t{i % 1000}")),
            "UserStore.create": (lambda i: store.create(user(f"s{next(fresh)}")),
                                 lambda i: raw.create(user(f"r{next(fresh)}"))),
            "AuditStore.log": (lambda i: stores["audit"].log(audit(i)),
                               lambda i: raw.log(audit(i))),
        }
        print(f"\nThrough PgBouncer (transaction pooling): stores vs hand-written psycopg2 on"
              f" a connection through the same pgbouncer, {pairs} pairs of {batch} calls")
        print("| operation | store us | raw us | wall ratio | CPU ratio | target |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        met = True
        for op, (ours, theirs) in ops.items():
            row = compare(op, ours, theirs, pairs, batch)
            cpu_ratio, _ = cpu_compare(ours, theirs, pairs, batch)
            ok = row["ratio"] <= PGBOUNCER_TARGET
            met = met and ok
            print(f"| {op} | {row['store_ms'] * 1000:.1f} | {row['raw_ms'] * 1000:.1f} |"
                  f" {row['ratio']:.3f} | {cpu_ratio:.3f} |"
                  f" <= {PGBOUNCER_TARGET:.2f} {'ok' if ok else 'MISSED'} |")
        bench.close()
        return met
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
        bouncer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run both comparisons; exit 1 when the routing target is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=30, help="routing: interleaved pairs")
    parser.add_argument("--batch", type=int, default=200, help="calls per pair / batch")
    args = parser.parse_args(argv)
    met = routing(args.pairs, args.batch)
    met = through_pgbouncer(args.pairs, min(args.batch, 100)) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
