"""Both README set-up commands install exactly the versions locked in ``uv.lock``.

``constraints.txt`` is generated from the lock (``scripts/update-constraints``) and
passed to pip with ``-c``; the first test keeps it in step with the lock, the second
installs one backend from the checkout, as the README shows, into a fresh venv and
compares every installed version with the lock.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_BACKEND_INSTALL = "pip install -c constraints.txt -e . -e plugins/redis"

_VERSIONS = ("import importlib.metadata as m, json\n"
             "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version"
             " for d in m.distributions()}))\n")


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "update-constraints"
    loader = importlib.machinery.SourceFileLoader("update_constraints", str(path))
    spec = importlib.util.spec_from_loader("update_constraints", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {p["name"]: p["version"] for p in lock["package"]
            if "registry" in p.get("source", {})}


def test_constraints_file_is_generated_from_the_current_lock() -> None:
    expected = _generator().constraints((ROOT / "uv.lock").read_text(encoding="utf-8"))
    committed = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert committed == expected, "uv.lock changed: run scripts/update-constraints"
    assert "redis==" in committed and len(locked_versions()) > 20


@pytest.mark.parametrize("script", ["run-doctor", "run-tests"])
def test_both_readme_set_up_scripts_install_with_the_constraints(script: str) -> None:
    text = (ROOT / "scripts" / script).read_text(encoding="utf-8").replace("\\\n", " ")
    installs = [line for line in text.splitlines() if "pip install" in line and " -e " in line]
    assert installs and all("-c constraints.txt" in line for line in installs)


def test_the_readme_shows_how_to_install_one_backend_from_a_checkout() -> None:
    assert README_BACKEND_INSTALL in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_one_backend_from_a_checkout_installs_the_locked_versions(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    command = README_BACKEND_INSTALL.split()
    result = subprocess.run([python, "-m", *command], cwd=ROOT, capture_output=True,
                            text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    installed: dict[str, str] = json.loads(subprocess.run(
        [python, "-c", _VERSIONS], capture_output=True, text=True, check=True,
        timeout=60).stdout)
    locked = locked_versions()
    assert {"redis", "pluggy"} <= installed.keys()
    assert {name: version for name, version in installed.items() if name in locked} == {
        name: locked[name] for name in installed if name in locked}
    plugins = subprocess.run([str(venv / "bin" / "aragora-storage"), "plugins", "--json"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120,
                             check=False)
    assert plugins.returncode == 0, plugins.stderr
    loaded = {p["name"]: p["status"] for p in json.loads(plugins.stdout)["plugins"]}
    assert loaded.get("redis") == "loaded", loaded
