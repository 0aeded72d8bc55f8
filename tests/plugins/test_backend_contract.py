"""The backend contract: behaviour on the Backend, hooks to extend it.

The core's built-in plugin answers every operation hook last by calling the backend's
method, so an extension plugin wraps or takes over any operation, automatic migrations
included; no hook implementation asks ``isinstance`` whether a backend is its own.
"""

from __future__ import annotations

import ast
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core import hookimpl
from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.doctor import diagnose
from aragora_storage_core.errors import SchemaNotReadyError
from aragora_storage_core.migrations.types import (
    MigrationAction,
    MigrationReport,
    MigrationRequest,
)
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind

ROOT = Path(__file__).resolve().parents[2]


class MigrationRecorder:
    """An extension plugin that wraps ``storage_migrate`` and records every request."""

    def __init__(self) -> None:
        self.requests: list[MigrationRequest] = []

    @hookimpl(wrapper=True)
    def storage_migrate(self, backend: Any, request: MigrationRequest
                        ) -> Generator[None, MigrationReport | None, MigrationReport | None]:
        self.requests.append(request)
        report = yield
        return report


def test_a_wrapper_sees_the_automatic_migration_of_a_store(tmp_path: Path) -> None:
    registry = Registry(env={})
    recorder = MigrationRecorder()
    registry.host.pm.register(recorder)
    backend = registry.connect(f"sqlite:///{tmp_path}/app.db")
    backend.store(StoreKind.USERS)
    automatic = [r for r in recorder.requests if r.automatic]
    assert [(r.action, r.db) for r in automatic] == [(MigrationAction.MIGRATE, "users")]
    status = registry.hook.storage_migrate(backend=backend,
                                           request=MigrationRequest(MigrationAction.STATUS))
    users = next(s for s in status.databases if s.db == "users")
    assert users.applied and not users.pending
    registry.close()


def test_no_automatic_migration_when_switched_off(tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_AUTO_MIGRATE": "0"})
    recorder = MigrationRecorder()
    registry.host.pm.register(recorder)
    backend = registry.connect(f"sqlite:///{tmp_path}/app.db")
    with pytest.raises(SchemaNotReadyError, match="run: aragora-storage migrate --migrate"):
        backend.store(StoreKind.USERS)
    assert [r.action for r in recorder.requests] == [MigrationAction.STATUS]
    registry.close()


class BackupTakeover:
    """An extension plugin that answers ``storage_backup`` itself for every backend."""

    @hookimpl(tryfirst=True)
    def storage_backup(self, backend: Any, request: Any) -> Any:
        from aragora_storage_core.backup.manifest import describe_file
        from aragora_storage_core.backup.types import BackupManifest

        (request.directory / "elsewhere.txt").write_text("uploaded")
        manifest = BackupManifest(backend=backend.name, created_at="2026-01-01T00:00:00Z")
        manifest.files.append(describe_file(request.directory, "elsewhere.txt"))
        return manifest


def test_a_plugin_answering_first_takes_the_operation_over(tmp_path: Path) -> None:
    registry = Registry(env={})
    registry.host.pm.register(BackupTakeover())
    backend = registry.connect(f"sqlite:///{tmp_path}/app.db")
    backend.store(StoreKind.USERS)
    directory, manifest = create_backup(registry.hook, backend, tmp_path / "backups")
    assert [f.name for f in manifest.files] == ["elsewhere.txt"]
    assert sorted(p.name for p in directory.iterdir()) == ["elsewhere.txt", "manifest.json"]
    registry.close()


def test_doctor_checks_are_storage_health_implementations_of_the_core(tmp_path: Path) -> None:
    registry = Registry(env={})
    names = {impl.function.__name__ for impl in
             registry.host.pm.hook.storage_health.get_hookimpls()
             if impl.plugin_name == "aragora_storage_core.builtin"}
    assert {"schema_health", "backup_health", "key_health", "stray_file_health"} <= names
    found = {f.id for f in diagnose(env={"ARAGORA_DATA_DIR": str(tmp_path)}).findings}
    assert {"storage.I065", "storage.W050"} <= found  # no backups yet; migrations pending


def _hook_functions(tree: ast.AST) -> list[ast.FunctionDef]:
    """Functions decorated with ``hookimpl`` (called or not)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Name) and target.id == "hookimpl":
                    found.append(node)
    return found


def test_no_hook_implementation_filters_backends_with_isinstance() -> None:
    offenders = []
    for path in [*ROOT.glob("aragora_storage_core/**/*.py"), *ROOT.glob("plugins/*/**/*.py"),
                 *ROOT.glob("examples/*/**/*.py")]:
        for function in _hook_functions(ast.parse(path.read_text(encoding="utf-8"))):
            calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)
                     and isinstance(n.func, ast.Name) and n.func.id == "isinstance"]
            if calls:
                offenders.append(f"{path.relative_to(ROOT)}:{function.name}")
    assert offenders == []


def test_every_bundled_plugin_has_only_storage_connect_as_a_hook() -> None:
    registry = Registry(env={})
    hooks = {record.value: record.hooks for record in registry.plugins()
             if record.group == "aragora_storage.backends" and record.status == "loaded"}
    assert hooks, "the bundled backends are installed"
    assert {value: names for value, names in hooks.items()
            if names != ["storage_connect"]} == {}
    registry.close()
