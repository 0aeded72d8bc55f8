"""The plugin as the registry sees it: lazy driver import, declared stores, clear refusals."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import aragora_storage_supabase
import pytest

from aragora_storage_core.errors import StoreNotServedError
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.supabase.supabase_support import KEY

DRIVERS = ("supabase", "postgrest", "httpx", "psycopg2")


def test_importing_the_plugin_imports_no_driver() -> None:
    code = ("import sys, aragora_storage_supabase; "
            f"print([m for m in {DRIVERS!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_plugin_declares_its_name_and_the_seeds_supabase_stores() -> None:
    assert aragora_storage_supabase.BACKEND_NAME == "supabase"
    assert {
        StoreKind.NOMIC_CYCLES, StoreKind.DEBATE_ARTIFACTS, StoreKind.STREAM_EVENTS,
        StoreKind.AGENT_METRICS} == aragora_storage_supabase.STORES
    info = {b.name: b for b in Registry(env={}).backends(load=True)}["supabase"]
    assert info.schemes == ("supabase",) and "nomic_cycles" in info.stores


@pytest.mark.postgres
def test_account_stores_are_refused_naming_the_backends_that_serve_them(
        postgrest: Any) -> None:
    registry = Registry(env={"SUPABASE_URL": postgrest.url, "SUPABASE_KEY": KEY})
    with pytest.raises(StoreNotServedError) as error:
        registry.store("users")
    assert "postgresql" in error.value.message and "sqlite" in error.value.message
    registry.close()
