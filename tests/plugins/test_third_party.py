"""A third-party plugin distribution, pip-installed into a fresh venv, is discovered.

``tests/fixtures/aragora-storage-memo`` is a real distribution with a ``memo://`` backend
(``aragora_storage.backends``) and a health-check extension (``aragora_storage.plugins``).
Importing it writes the file named by ``MEMO_PLUGIN_IMPORT_MARKER``, which tells whether
``ARAGORA_STORAGE_DISABLE_PLUGINS`` kept it from being imported at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.wheelhouse import MEMO_SOURCE, Venv, core_wheel

pytestmark = pytest.mark.slow

MEMO = "aragora-storage-memo"
MEMO_VERSION = "0.2.0"

_CACHE_ROUND_TRIP = """
from aragora_storage_core import get_registry

registry = get_registry()
cache = registry.store("cache")
cache.set("greeting", b"hello")
print(registry.active().name, cache.get("greeting").decode())
"""


@pytest.fixture(scope="module")
def memo_venv(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with the core wheel and the memo plugin built from its source."""
    venv = Venv.create(tmp_path_factory.mktemp("memo-plugin") / "venv")
    venv.pip_install(wheelhouse, str(core_wheel(wheelhouse)), str(MEMO_SOURCE))
    return venv


def _marker_env(tmp_path: Path, **extra: str) -> tuple[Path, dict[str, str]]:
    marker = tmp_path / "memo-imported"
    return marker, {"MEMO_PLUGIN_IMPORT_MARKER": str(marker), **extra}


def test_plugins_lists_the_third_party_plugin_with_distribution_and_version(
    memo_venv: Venv, tmp_path: Path,
) -> None:
    marker, env = _marker_env(tmp_path)
    listing = memo_venv.json("aragora-storage", "plugins", "--json", cwd=tmp_path, env=env)
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert plugins["memo"]["group"] == "aragora_storage.backends"
    assert plugins["memo-health"]["group"] == "aragora_storage.plugins"
    for name, hook in (("memo", "storage_connect"), ("memo-health", "storage_health")):
        assert (plugins[name]["distribution"], plugins[name]["version"]) == (MEMO, MEMO_VERSION)
        assert plugins[name]["status"] == "loaded", plugins[name]["error"]
        assert hook in plugins[name]["hooks"]
    backends = {b["name"]: b for b in listing["backends"]}
    assert backends["memo"]["stores"] == ["cache"]
    assert marker.exists()


def test_third_party_backend_serves_its_store_through_the_registry(
    memo_venv: Venv, tmp_path: Path,
) -> None:
    result = memo_venv.run("python", "-c", _CACHE_ROUND_TRIP, cwd=tmp_path,
                           env={"DATABASE_URL": "memo://local/cache"})
    assert result.stdout.split() == ["memo", "hello"]


def test_third_party_health_check_appears_in_doctor(memo_venv: Venv, tmp_path: Path) -> None:
    report = memo_venv.json("aragora-storage", "doctor", "--json", cwd=tmp_path)
    memo_findings = [f for f in report["findings"] if f["id"] == "memo.I001"]
    assert [f["message"] for f in memo_findings] == ["memo extension saw the sqlite backend"]


def test_disabled_third_party_plugin_is_never_imported(memo_venv: Venv, tmp_path: Path) -> None:
    marker, env = _marker_env(tmp_path, ARAGORA_STORAGE_DISABLE_PLUGINS=MEMO)
    listing = memo_venv.json("aragora-storage", "plugins", "--json", cwd=tmp_path, env=env)
    statuses = {p["name"]: p["status"] for p in listing["plugins"]}
    assert statuses == {"memo": "disabled", "memo-health": "disabled", "sqlite": "loaded"}
    report = memo_venv.json("aragora-storage", "doctor", "--json", cwd=tmp_path, env=env)
    assert not [f for f in report["findings"] if f["id"].startswith("memo.")]
    assert not marker.exists()
