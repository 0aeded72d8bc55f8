"""Beyond one machine: what replica routing costs, and the stores through PgBouncer.

1. Routing. ``UserStore.get_by_id`` on a backend with a streaming standby as its replica
   (the read is routed there) vs the same read on a backend whose primary URL *is* that
   standby (no routing): the same server answers both sides, so the difference per call
   is the routing. ``ReplicaSet.choose()`` (the decision alone) is timed too.
2. PgBouncer. ``bench_postgres.py``'s comparison (stores vs hand-written psycopg2 vs
   SQLAlchemy Core, same work, interleaved rounds) with every side connected through one
   transaction-mode pgbouncer. PgBouncer ignores the ``options`` startup parameter, so
   here commits flush (``synchronous_commit`` stays on) for every side alike.

Both start throwaway servers as the tests do (``initdb`` + ``pg_basebackup -R``, and
Debian's ``pgbouncer`` from ``.ci/setup.d/30-pgbouncer.sh``), on free ports.

    .venv/bin/python benchmarks/bench_scaling.py [--pairs 30] [--batch 200] [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from timing import compare, per_op, user

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers: servers

from aragora_storage_postgres.backend import PostgresBackend

from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from tests.postgres.bouncer import Bouncer
from tests.postgres.cluster import ScratchCluster

#: Routing may add at most this many microseconds per store call.
ROUTING_TARGET_US = 2.0


def open_backend(registry: Registry, url: str) -> PostgresBackend:
    """``registry.connect(url)`` as a :class:`PostgresBackend`."""
    backend = registry.connect(url)
    assert isinstance(backend, PostgresBackend)
    return backend


def routing(pairs: int, batch: int) -> bool:
    """Print the routing comparison; True when it meets :data:`ROUTING_TARGET_US`."""
    primary = ScratchCluster()
    standby: ScratchCluster | None = None
    try:
        primary.create()
        standby = primary.standby()
        primary_url, standby_url = primary.url(sslmode="disable"), standby.url(sslmode="disable")
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
        row = compare("UserStore.get_by_id", lambda i: via_router.get_by_id(ids[i % 1000]),
                      lambda i: on_standby.get_by_id(ids[i % 1000]), pairs, batch)
        served = routed.database.fetch_one("SELECT pg_is_in_recovery()")
        assert served == (True,), "the routed reads did not go to the standby"
        choose_us = per_op(lambda: [replicas.choose() for _ in range(100_000)], 100_000) * 1e6
        added_us = (row["store_ms"] - row["raw_ms"]) * 1000
        print(f"Replica routing, {pairs} pairs of {batch} interleaved calls, one standby:")
        print("| operation | routed to the standby us | standby as primary us | ratio |"
              " added us |")
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


def through_pgbouncer(rounds: int, batch: int) -> None:
    """Run ``bench_postgres.py`` with every side connected through one pgbouncer."""
    bouncer = Bouncer("127.0.0.1", 5432, server_pool_size=20,
                      ignore_startup_parameters="options")
    bouncer.start()
    try:
        os.environ["BENCH_POSTGRES_URL"] = bouncer.url("postgres")
        import bench_postgres

        print(f"\nThrough PgBouncer (transaction pooling, 127.0.0.1:{bouncer.port}):")
        bench_postgres.main(["--rounds", str(rounds), "--batch", str(batch)])
    finally:
        bouncer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run both comparisons; exit 1 when the routing target is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=30, help="routing: interleaved pairs")
    parser.add_argument("--batch", type=int, default=200, help="calls per pair / batch")
    parser.add_argument("--rounds", type=int, default=10, help="PgBouncer: rounds")
    args = parser.parse_args(argv)
    met = routing(args.pairs, args.batch)
    through_pgbouncer(args.rounds, min(args.batch, 100))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
