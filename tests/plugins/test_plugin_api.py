"""The declared plugin API: plugins import only what ``aragora_storage_core.plugin_api``
lists, no plugin imports another, and no module imports itself back round a circle."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from aragora_storage_core import plugin_api

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
