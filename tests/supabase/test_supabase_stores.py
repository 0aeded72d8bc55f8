"""Store behaviour beyond the conformance kit, and the real PostgREST as the unmodified
supabase client uses it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aragora_storage_supabase.project import PAGE_SIZE

from aragora_storage_core.errors import DuplicateError
from aragora_storage_core.models import AgentMetric, NomicCycle
from aragora_storage_core.stores.protocols import StoreKind
from tests.supabase.supabase_support import KEY, TestProject

pytestmark = pytest.mark.postgres
START = datetime(2026, 1, 2, tzinfo=UTC)


def test_summary_reads_every_page_of_a_large_loop(supabase_backend: Any) -> None:
    metrics = supabase_backend.store(StoreKind.AGENT_METRICS)
    count = PAGE_SIZE * 2 + 7
    metrics.record_many([AgentMetric("big", 1, "a", "score", float(i), recorded_at=START)
                         for i in range(count)])
    assert metrics.summary("big") == {"a": {"score": (count - 1) / 2}}


def test_stream_cursor_must_be_a_row_id(supabase_backend: Any) -> None:
    with pytest.raises(ValueError):
        supabase_backend.store(StoreKind.STREAM_EVENTS).read("loop", after="1700000000000-0")


def test_unique_violation_has_postgrests_error_shape_and_maps_to_duplicate_error(
        supabase_backend: Any, postgrest: TestProject) -> None:
    cycles = supabase_backend.store(StoreKind.NOMIC_CYCLES)
    cycles.save_cycle(NomicCycle("dup", 1, "debate", "voting", START))
    row = {"loop_id": "dup", "cycle_number": 1, "phase": "p", "stage": "s",
           "started_at": "2026-01-02T00:00:00+00:00"}
    response = httpx.post(f"{postgrest.url}/rest/v1/nomic_cycles", json=row,
                          headers={"apikey": KEY, "Authorization": f"Bearer {KEY}"})
    assert response.status_code == 409
    assert set(response.json()) == {"code", "details", "hint", "message"}
    assert response.json()["code"] == "23505"
    project = supabase_backend.project
    with pytest.raises(DuplicateError):
        project.run(project.table("nomic_cycles").insert(row), "insert cycle")


def test_patch_delete_in_offset_and_ignore_duplicates_through_the_client(
        supabase_backend: Any) -> None:
    project = supabase_backend.project
    table = project.table
    rows = [{"loop_id": "p", "cycle_number": n, "phase": "debate", "stage": "s",
             "started_at": "2026-01-02T00:00:00+00:00"} for n in range(1, 6)]
    table("nomic_cycles").insert(rows).execute()
    table("nomic_cycles").upsert([{**rows[0], "phase": "x"}], ignore_duplicates=True).execute()
    changed = table("nomic_cycles").update({"phase": "verify"}).eq("loop_id", "p") \
        .in_("cycle_number", [2, 3]).execute().data
    assert sorted(r["cycle_number"] for r in changed) == [2, 3]
    removed = table("nomic_cycles").delete().eq("loop_id", "p").gte("cycle_number", 5) \
        .execute().data
    assert [r["cycle_number"] for r in removed] == [5]
    page = (table("nomic_cycles").select("cycle_number,phase").eq("loop_id", "p")
            .order("cycle_number").limit(2).offset(1).execute().data)
    assert page == [{"cycle_number": 2, "phase": "verify"}, {"cycle_number": 3, "phase": "verify"}]
    first = table("nomic_cycles").select("phase").eq("cycle_number", 1).execute().data
    assert first == [{"phase": "debate"}], "ignore-duplicates kept the existing row"
