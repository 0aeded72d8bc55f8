"""The declared plugin API: plugins import only what ``aragora_storage_core.plugin_api``
lists, no plugin imports another, and no module imports itself back round a circle."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.fake_site import FakeSite

from aragora_storage_core import plugin_api
from aragora_storage_core.cli import main
from aragora_storage_core.doctor import diagnose
from aragora_storage_core.errors import PluginLoadError
from aragora_storage_core.plugin_versions import incompatibility
from aragora_storage_core.plugins import BACKEND_GROUP
from aragora_storage_core.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIRS = sorted([*ROOT.glob("plugins/*"), *ROOT.glob("examples/*")])
#: ``from aragora_storage_core import hookimpl`` is the documented spelling of the marker.
TOP_LEVEL = {"hookimpl"}


def _imports(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """``(module, name or None, line)`` of every import in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno


def _python_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.py") if ".venv" not in p.parts]


def test_plugins_and_examples_import_only_the_declared_plugin_api() -> None:
    offenders = []
    for folder in PLUGIN_DIRS:
        for path in _python_files(folder):
            for module, name, line in _imports(path):
                if not module.startswith("aragora_storage_core"):
                    continue
                if module == "aragora_storage_core.plugin_api":
                    allowed = name in plugin_api.__all__
                elif module == "aragora_storage_core":
                    allowed = name in TOP_LEVEL
                else:
                    allowed = name in plugin_api.EXPORTS.get(module, ())
                if not allowed:
                    offenders.append(f"{path.relative_to(ROOT)}:{line} {module}.{name}")
    assert offenders == []


def test_no_plugin_imports_another_plugin() -> None:
    packages = {p.name: folder for folder in PLUGIN_DIRS for p in folder.iterdir()
                if p.is_dir() and p.name.startswith("aragora_storage_")}
    offenders = []
    for package, folder in packages.items():
        for path in _python_files(folder):
            for module, _, line in _imports(path):
                other = module.split(".")[0]
                if other in packages and other != package:
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == []


def test_the_example_uses_the_plugin_api_module_alone() -> None:
    example = ROOT / "examples" / "aragora-storage-mariadb"
    core = {module for path in _python_files(example) for module, _, _ in _imports(path)
            if module.startswith("aragora_storage_core")}
    assert core == {"aragora_storage_core.plugin_api"}


def test_every_declared_name_exists_and_is_typed() -> None:
    for module, names in plugin_api.EXPORTS.items():
        loaded = importlib.import_module(module)
        for name in names:
            assert getattr(plugin_api, name) is getattr(loaded, name), f"{module}.{name}"
    source = ast.parse(Path(plugin_api.__file__).read_text(encoding="utf-8"))
    typed = {(node.module, alias.name) for node in ast.walk(source)
             if isinstance(node, ast.ImportFrom) and node.module
             and node.module.startswith("aragora_storage_core") for alias in node.names}
    declared = {(m, n) for m, names in plugin_api.EXPORTS.items() for n in names}
    assert typed == declared  # the TYPE_CHECKING imports mirror EXPORTS for type checkers


INCOMPATIBLE = (
    "from aragora_storage_core import hookimpl\n"
    "PLUGIN_API = '>=2.0,<3'\n"
    "@hookimpl\n"
    "def storage_connect(url, settings):\n"
    "    raise AssertionError('an incompatible plugin is never asked')\n"
)


def test_an_incompatible_plugin_is_reported_and_not_loaded_as_a_backend(
        fake_site: FakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    fake_site.install("aragora-storage-future", "3.1.0",
                      {BACKEND_GROUP: {"future": "future_backend"}},
                      {"future_backend": INCOMPATIBLE})
    registry = Registry(env={})
    with pytest.raises(PluginLoadError, match=r"built for plugin API >=2\.0,<3"):
        registry.connect("future://somewhere")
    (record,) = [r for r in registry.plugins() if r.name == "future"]
    assert record.status == "incompatible" and record.plugin is None
    assert "future_backend" not in {registry.host.pm.get_name(p)
                                    for p in registry.host.pm.get_plugins()}
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(tmp_path / "data"))
    assert main(["plugins"]) == 0
    assert "incompatible  (it was built for plugin API >=2.0,<3, and this aragora-storage" \
           " provides 1.0)" in capsys.readouterr().out
    found = [f for f in diagnose(env={"ARAGORA_DATA_DIR": str(tmp_path / "data")}).findings
             if f.id == "storage.W018"]
    assert len(found) == 1 and "aragora-storage-future 3.1.0" in found[0].message


def test_version_ranges() -> None:
    assert incompatibility(">=1.0,<2", "1.0") is None
    assert incompatibility(None, "1.0") is None
    assert "built for plugin API <1" in str(incompatibility("<1", "1.0"))
    assert "not a version range" in str(incompatibility("~1", "1.0"))
    assert "not a version range" in str(incompatibility(1, "1.0"))


def _module_files() -> dict[str, Path]:
    """Every module of the core, the bundled plugins and the example, by dotted name."""
    found = {}
    for base in [ROOT, *PLUGIN_DIRS]:
        for package in base.glob("aragora_storage_*"):
            if not (package / "__init__.py").is_file():
                continue
            for path in package.rglob("*.py"):
                parts = list(path.relative_to(base).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


def _runtime_imports(path: Path, modules: dict[str, Path], name: str) -> set[str]:
    """Modules of ours that ``path`` imports when it runs (functions' imports included;
    ``if TYPE_CHECKING:`` blocks and the module's own parent packages left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
            targets = subs | ({node.module} if len(subs) < len(node.names) else set())
        elif isinstance(node, ast.Import):
            targets = {alias.name for alias in node.names}
        else:
            continue
        found |= {t for t in targets
                  if t in modules and t != name and not name.startswith(t + ".")}
    return found


def test_no_import_cycles() -> None:
    modules = _module_files()
    graph = {name: _runtime_imports(path, modules, name) for name, path in modules.items()}
    cycles = []
    for start in graph:  # a path from a module's imports back to itself is a cycle
        seen, todo = set(), list(graph[start])
        while todo:
            current = todo.pop()
            if current == start:
                cycles.append(start)
                break
            if current not in seen:
                seen.add(current)
                todo.extend(graph[current])
    assert cycles == []
