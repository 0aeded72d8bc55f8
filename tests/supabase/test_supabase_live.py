"""Live tests against a real Supabase project.

They run only when SUPABASE_URL and SUPABASE_KEY are set in the environment that starts
pytest (read here, before the autouse fixture clears the environment of each test) and
point at a real project. They write rows under a random loop id and delete them after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aragora_storage_core.checks import Level
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import NomicCycle, StreamEvent
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind

LIVE_ENV = {name: os.environ.get(name, "") for name in
            ("SUPABASE_URL", "SUPABASE_KEY", "SUPABASE_DB_URL")}
pytestmark = pytest.mark.skipif(
    not (LIVE_ENV["SUPABASE_URL"] and LIVE_ENV["SUPABASE_KEY"]),
    reason="live Supabase tests need SUPABASE_URL and SUPABASE_KEY of a real project")


@pytest.fixture
def live() -> Iterator[tuple[Registry, Any]]:
    registry = Registry(env={k: v for k, v in LIVE_ENV.items() if v})
    yield registry, registry.active()
    registry.close()


def test_live_project_is_healthy_and_reports_its_migrations(live: Any) -> None:
    registry, backend = live
    checks = registry.host.collect_health(backend)
    assert [c.line() for c in checks if c.level >= Level.ERROR] == []
    report = registry.hook.storage_migrate(backend=backend,
                                           request=MigrationRequest(MigrationAction.STATUS))
    assert report.databases[0].db == "nomic"


def test_live_project_round_trips_cycles_and_events(live: Any) -> None:
    _, backend = live
    if not backend.table_exists("nomic_cycles"):
        pytest.fail("the live project has no tables yet: aragora-storage migrate --migrate")
    loop = f"live-test-{uuid.uuid4().hex[:12]}"
    try:
        cycles = backend.store(StoreKind.NOMIC_CYCLES)
        cycle = NomicCycle(loop, 1, "debate", "voting", datetime.now(UTC), total_tasks=2)
        cycles.save_cycle(cycle)
        assert cycles.get_cycle(loop, 1) == cycle
        events = backend.store(StoreKind.STREAM_EVENTS)
        ids = events.append_many([StreamEvent(loop, 1, "e", {"n": n}) for n in range(3)])
        assert [e.id for e in events.read(loop)] == ids
    finally:
        for table in ("nomic_cycles", "stream_events"):
            backend.project.run(backend.project.table(table).delete().eq("loop_id", loop),
                                "live cleanup", idempotent=False)
