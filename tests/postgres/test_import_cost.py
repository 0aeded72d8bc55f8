"""Importing the PostgreSQL plugin costs no driver and no SQLAlchemy until a backend opens.

Each check runs in a fresh interpreter (this test process has imported everything long
ago). psycopg2 and SQLAlchemy are both installed in the dev environment, so a stray
top-level import in the core or the plugin would show up; the last step opens a backend
and asks the server, so psycopg2 must appear there (the check can fail both ways).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
