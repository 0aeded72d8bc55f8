"""The wheels install as the extras promise, into environments that have nothing else.

One wheel build per session (``wheelhouse``); each environment is a fresh
``python -m venv`` that installs from those wheels, with PyPI for third-party packages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.wheelhouse import Venv, plugin_sources, wheel_versions

pytestmark = pytest.mark.slow

#: Distributions and import names that only the other extras may bring.
NOT_WITH_POSTGRES = (
    "aragora-storage-redis", "aragora-storage-supabase", "redis", "supabase", "sqlcipher3",
    "sqlcipher3-binary",
)
DRIVER_MODULES = ("psycopg2", "redis", "supabase", "sqlcipher3")

_FIND_MODULES = (
    "import importlib.util, json, sys\n"
    "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))\n"
)

_ROUND_TRIP = """
from aragora_storage_core import get_registry
from aragora_storage_core.models import User

registry = get_registry()
users = registry.store("users")
users.create(User(id="u1", email="a@example.com", password_hash="h", password_salt="s"))
print(registry.active().name, users.get_by_id("u1").email)
"""


@pytest.fixture(scope="module")
def postgres_venv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with ``aragora-storage[postgres]`` installed from the wheels."""
    venv = Venv.create(tmp_path_factory.mktemp("postgres-extra") / "venv")
    venv.pip_install(wheelhouse, "aragora-storage[postgres]")
    return venv


@pytest.fixture(scope="module")
def bare_venv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with a bare ``aragora-storage`` installed from the wheels."""
    venv = Venv.create(tmp_path_factory.mktemp("bare") / "venv")
    venv.pip_install(wheelhouse, "aragora-storage")
    return venv


def _modules(venv: Venv, cwd: Path) -> dict[str, bool]:
    found: dict[str, bool] = venv.json("python", "-c", _FIND_MODULES, *DRIVER_MODULES, cwd=cwd)
    return found


def test_a_wheel_is_built_for_the_core_and_every_plugin_distribution(wheelhouse: Path) -> None:
    expected = {"aragora-storage"} | {f"aragora-storage-{p.name}" for p in plugin_sources()}
    assert set(wheel_versions(wheelhouse)) == expected


def test_postgres_extra_brings_the_postgres_plugin_and_psycopg2_and_nothing_else(
    postgres_venv: Venv, tmp_path: Path,
) -> None:
    installed = postgres_venv.installed()
    assert "aragora-storage-postgres" in installed
    assert {"psycopg2", "psycopg2-binary"} & set(installed)
    assert set(NOT_WITH_POSTGRES) & set(installed) == set()
    modules = _modules(postgres_venv, tmp_path)
    assert modules == {"psycopg2": True, "redis": False, "supabase": False, "sqlcipher3": False}


def test_doctor_in_the_postgres_environment_lists_the_postgresql_backend(
    postgres_venv: Venv, tmp_path: Path,
) -> None:
    report = postgres_venv.json("aragora-storage", "doctor", "--json", cwd=tmp_path)
    backends = {p["name"]: p for p in report["plugins"] if p["group"].endswith(".backends")}
    assert backends["postgresql"]["status"] == "loaded", backends["postgresql"]["error"]
    assert backends["postgresql"]["distribution"] == "aragora-storage-postgres"
    assert {"redis", "supabase"} & set(backends) == set()
    assert report["selection"]["scheme"] == "sqlite"


def test_bare_install_brings_no_driver_and_works_on_the_embedded_sqlite_default(
    bare_venv: Venv, tmp_path: Path,
) -> None:
    installed = bare_venv.installed()
    assert not [name for name in installed if name.startswith("aragora-storage-")]
    assert not any(_modules(bare_venv, tmp_path).values())
    result = bare_venv.run("python", "-c", _ROUND_TRIP, cwd=tmp_path)
    assert result.stdout.split() == ["sqlite", "a@example.com"]
    assert (tmp_path / ".nomic" / "users.db").is_file()


def test_doctor_of_a_bare_install_is_clean_on_the_embedded_default(
    bare_venv: Venv, tmp_path: Path,
) -> None:
    report = bare_venv.json("aragora-storage", "doctor", "--json", cwd=tmp_path)
    assert report["selection"]["scheme"] == "sqlite"
    assert [p["name"] for p in report["plugins"]] == ["sqlite"]
    assert [f for f in report["findings"] if f["level"] in ("ERROR", "CRITICAL")] == []


@pytest.mark.parametrize("url,extra", [
    ("postgresql://app:s3cret-pw@db.example.com/app", "postgres"),
    ("rediss://:s3cret-pw@cache.example.com:6380/0", "redis"),
])
def test_a_known_backend_that_is_not_installed_names_its_extra(
    bare_venv: Venv, tmp_path: Path, url: str, extra: str,
) -> None:
    workdir = tmp_path / "app"
    workdir.mkdir()
    result = bare_venv.run("aragora-storage", "migrate", "--status", cwd=workdir,
                           env={"DATABASE_URL": url}, ok_codes=(2,))
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: the ") and "is not installed" in lines[0]
    assert lines[1] == f"hint: pip install 'aragora-storage[{extra}]'"
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert list(workdir.iterdir()) == []


def test_supabase_selected_but_not_installed_names_its_extra(
    bare_venv: Venv, tmp_path: Path,
) -> None:
    result = bare_venv.run("aragora-storage", "doctor", "--json", cwd=tmp_path, ok_codes=(1,),
                           env={"SUPABASE_URL": "https://demo.supabase.co",
                                "SUPABASE_KEY": "service-role-s3cret"})
    findings = [f for f in json.loads(result.stdout)["findings"]
                if f["level"] == "ERROR"]
    assert findings[0]["hint"] == "pip install 'aragora-storage[supabase]'"
    assert "service-role-s3cret" not in result.stdout + result.stderr
