"""Importing the core, using the SQLite default and ``--help`` import no database driver.

Every driver is installed in the dev environment, so a stray top-level import anywhere in
the core or in an always-loaded plugin would show up here. Each check runs in a fresh
interpreter: this test process has long since imported everything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DRIVERS = ("psycopg2", "asyncpg", "redis", "supabase", "sqlcipher3", "greenlet")

#: Prints the drivers present in ``sys.modules`` as a JSON list after the code above it.
_REPORT = (
    "import json, sys\n"
    f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({DRIVERS!r}))))\n"
)


def _drivers_after(code: str, cwd: Path) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the drivers it left in ``sys.modules``."""
    result = subprocess.run(
        [sys.executable, "-c", code + "\n" + _REPORT],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    drivers: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return drivers


def test_import_aragora_storage_core_imports_no_driver(clean_environment: Path) -> None:
    assert _drivers_after("import aragora_storage_core", clean_environment) == []


def test_registry_on_the_sqlite_default_imports_no_driver(clean_environment: Path) -> None:
    code = (
        "from aragora_storage_core import get_registry\n"
        "registry = get_registry()\n"
        "assert registry.explain().scheme == 'sqlite'\n"
        "assert registry.store('users').count() == 0\n"
        "registry.backends()\n"
    )
    assert _drivers_after(code, clean_environment) == []


def test_the_first_store_call_builds_its_records_without_importing_dataclasses(
    clean_environment: Path,
) -> None:
    # The core's records come from aragora_storage_core.records: importing ``dataclasses``
    # (and building ~40 classes with it) was a third of a fresh process's first call.
    code = (
        "import sys\n"
        "from aragora_storage_core import get_registry\n"
        "assert get_registry().store('users').get_by_id('nobody') is None\n"
        "assert 'aragora_storage_core.models' in sys.modules\n"
        "assert 'dataclasses' not in sys.modules, 'dataclasses was imported'\n"
    )
    assert _drivers_after(code, clean_environment) == []


def test_the_first_sqlite_store_call_loads_no_operation_modules(clean_environment: Path) -> None:
    # backup, restore, encryption and health modules (with logging, shutil and thread
    # pools) load when their operation runs, not on a store's first call.
    code = (
        "import sys\n"
        "from aragora_storage_core import get_registry\n"
        "assert get_registry().store('users').count() == 0\n"
        "loaded = {m for m in sys.modules if m.split('.')[0] in "
        "('logging', 'shutil', 'concurrent', 'uuid', 'platform')}\n"
        "assert not loaded, sorted(loaded)\n"
    )
    assert _drivers_after(code, clean_environment) == []


def test_the_postgres_backend_module_loads_no_copy_code_and_no_hashlib(
    clean_environment: Path,
) -> None:
    # bulk_load and the CSV encoder (with uuid and platform) are for ``copy`` only.
    code = (
        "import sys\n"
        "import aragora_storage_postgres.backend\n"
        "loaded = {m for m in sys.modules if m in ('uuid', 'platform', 'hashlib', "
        "'aragora_storage_postgres.bulk_load', 'aragora_storage_postgres.copy_rows')}\n"
        "assert not loaded, sorted(loaded)\n"
    )
    assert _drivers_after(code, clean_environment) == []


def test_importing_the_postgres_plugin_imports_no_driver(clean_environment: Path) -> None:
    # psycopg2 loads when a backend opens; asyncpg and greenlet only when the
    # async API is used (tests/postgres/test_async.py checks the sync path leaves them out).
    assert _drivers_after("import aragora_storage_postgres", clean_environment) == []


def test_the_drivers_are_installed_so_the_checks_above_mean_something(
    clean_environment: Path,
) -> None:
    code = "\n".join(f"import {name}" for name in DRIVERS)
    assert _drivers_after(code, clean_environment) == sorted(DRIVERS)


_IMPORT_LINE = re.compile(r"^import time:\s+\d+\s+\|\s+\d+\s+\|\s*(\S+)\s*$")


def _imported_by_command(args: list[str], cwd: Path) -> set[str]:
    """Top-level packages the real ``aragora-storage`` command imports for ``args``."""
    command = shutil.which("aragora-storage", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.fail("the aragora-storage console script is not installed in this environment")
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run(
        [command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: aragora-storage" in result.stdout
    names = {m.group(1).split(".")[0] for m in map(_IMPORT_LINE.match, result.stderr.splitlines())
             if m}
    assert "aragora_storage_core" in names, "import profiling produced no output"
    return names


def test_help_of_the_command_imports_no_driver(clean_environment: Path) -> None:
    assert _imported_by_command(["--help"], clean_environment) & set(DRIVERS) == set()
