"""Importing the PostgreSQL plugin costs no driver and no SQLAlchemy until a backend opens.

Each check runs in a fresh interpreter (this test process has imported everything long
ago). psycopg2 and SQLAlchemy are both installed in the dev environment, so a stray
top-level import in the core or the plugin would show up; the last step opens a backend
and asks the server, so psycopg2 must appear there (the check can fail both ways).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

WATCHED = ("psycopg2", "sqlalchemy")

#: The plugin as the registry imports it (its entry point), then every module it loads.
IMPORT_PLUGIN = (
    "import aragora_storage_core\n"
    "import aragora_storage_postgres\n"
    "from aragora_storage_postgres import backend, database, dialect, hooks, pool\n"
)


def _watched_after(code: str, cwd: Path) -> list[str]:
    """Run ``code`` in a fresh interpreter; the watched packages left in ``sys.modules``."""
    report = (f"import json, sys\n"
              f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}}"
              f" & set({WATCHED!r}))))\n")
    result = subprocess.run([sys.executable, "-c", code + report], cwd=cwd,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    found: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_postgres_plugin_imports_neither_psycopg2_nor_sqlalchemy(
    clean_environment: Path,
) -> None:
    assert _watched_after(IMPORT_PLUGIN, clean_environment) == []


def test_psycopg2_loads_when_a_backend_opens_and_sqlalchemy_never(
    clean_environment: Path, pg_url: str,
) -> None:
    code = (IMPORT_PLUGIN
            + "from aragora_storage_core.registry import Registry\n"
            + f"backend = Registry(env={{}}).connect({pg_url!r})\n"
            + "assert backend.database.fetch_one('SELECT 1') == (1,)\n"
            + "backend.close()\n")
    assert _watched_after(code, clean_environment) == ["psycopg2"]


def test_both_watched_packages_are_installed(clean_environment: Path) -> None:
    assert _watched_after("import psycopg2, sqlalchemy\n", clean_environment) == sorted(WATCHED)


def test_the_migration_lock_key_is_the_documented_hash() -> None:
    # Written out as a number so that importing the plugin loads no hashlib.
    import hashlib

    from aragora_storage_postgres.dialect import MIGRATION_LOCK_KEY

    digest = hashlib.sha256(b"aragora_storage.migrations").digest()[:8]
    assert int.from_bytes(digest, "big", signed=True) == MIGRATION_LOCK_KEY


#: Modules a first PostgreSQL store call does not need: migration adoption and failure
#: reports, read replicas, the COPY guard, primary-only reads (with ``contextvars``),
#: findings, the plugin API's table of exports. Each loads with the feature that uses it.
OFF_THE_FIRST_CALL = (
    "aragora_storage_core.migrations.adoption", "aragora_storage_core.migrations.failure",
    "aragora_storage_postgres.replicas", "aragora_storage_postgres.copy_guard",
    "aragora_storage_core.consistency", "contextvars", "aragora_storage_core.checks",
    "aragora_storage_core.plugin_api",
)
#: The first store call on a migrated database; then how many times the installed
#: distributions were scanned for entry points (``entry_points.find``).
FIRST_CALL = (
    "from aragora_storage_core import entry_points\n"
    "scans = []\n"
    "_find = entry_points.find\n"
    "entry_points.find = lambda *a, **k: scans.append(a) or _find(*a, **k)\n"
    "from aragora_storage_core import get_registry\n"
    "registry = get_registry()\n"
    "assert registry.store('users').get_by_id('nobody') is None\n"
)


def _loaded_after(code: str, cwd: Path, env: dict[str, str]) -> tuple[list[str], int]:
    """Run ``code`` in a fresh interpreter with ``env``: the watched modules it loaded, and
    how many times it scanned the installed distributions for entry points."""
    report = (f"import json, sys\n"
              f"print(json.dumps([sorted(set(sys.modules) & set({OFF_THE_FIRST_CALL!r})),"
              f" len(scans)]))\n")
    result = subprocess.run([sys.executable, "-c", code + report], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded, scans = json.loads(result.stdout.strip().splitlines()[-1])
    return list(loaded), int(scans)


def _migrated(url: str) -> None:
    from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
    from aragora_storage_core.registry import Registry

    registry = Registry(env={"DATABASE_URL": url})
    registry.hook.storage_migrate(backend=registry.active(),
                                  request=MigrationRequest(MigrationAction.MIGRATE))
    registry.close()


def test_the_first_store_call_loads_no_module_of_a_feature_it_does_not_use(
    clean_environment: Path, pg_url: str,
) -> None:
    _migrated(pg_url)
    env = {**os.environ, "DATABASE_URL": pg_url}
    # One scan: the registry reads the migration folders' entry points with the plugins.
    assert _loaded_after(FIRST_CALL, clean_environment, env) == ([], 1)


def test_each_of_those_modules_loads_with_its_feature(
    clean_environment: Path, pg_url: str, make_pg_url: Any,
) -> None:
    _migrated(pg_url)
    env = {**os.environ, "DATABASE_URL": pg_url, "DATABASE_REPLICA_URLS": pg_url}
    use = (FIRST_CALL
           + "from aragora_storage_core.models import User\n"
           + "from aragora_storage_core.registry import Registry\n"
           + "registry.store('users').create_many([User(id='u1', email='u1@x',"
           + " password_hash='h', password_salt='s')])\n"  # COPY: the guard
           + "with registry.primary():\n    pass\n"  # primary-only reads
           + "registry.active().health()\n"  # findings
           + "registry.backends(load=True)\n"  # a plugin written on the plugin API
           + f"empty = Registry(env={{'DATABASE_URL': {make_pg_url()!r},"
           + " 'ARAGORA_AUTO_MIGRATE': '1'})\n"
           + "empty.store('users')\n"  # adopting (none), then applying migrations
           + "empty.close()\n")
    loaded, scans = _loaded_after(use, clean_environment, env)
    assert loaded == sorted(OFF_THE_FIRST_CALL)
    assert scans == 2  # one per registry
