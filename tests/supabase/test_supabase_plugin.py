"""The plugin as the registry sees it: lazy driver import, declared stores, clear refusals."""

from __future__ import annotations

import subprocess
import sys

import aragora_storage_supabase

from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind

DRIVERS = ("supabase", "postgrest", "httpx", "psycopg2")


def test_importing_the_plugin_imports_no_driver() -> None:
    code = ("import sys, aragora_storage_supabase; "
            f"print([m for m in {DRIVERS!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_plugin_declares_its_name_and_every_store_but_the_cache() -> None:
    assert aragora_storage_supabase.BACKEND_NAME == "supabase"
    assert set(StoreKind) - {StoreKind.CACHE} == aragora_storage_supabase.STORES
    info = {b.name: b for b in Registry(env={}).backends(load=True)}["supabase"]
    assert info.schemes == ("supabase",) and "nomic_cycles" in info.stores
