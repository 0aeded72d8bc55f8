"""Conformance tests of the health, migration and backup hooks for any backend."""

from __future__ import annotations

from pathlib import Path

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.checks import Check, Level
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry


class TestHealthConformance:
    """``storage_health`` on a healthy backend."""

    def test_healthy_backend_reports_findings_and_no_errors(
        self, conformance_backend: Backend, conformance_registry: Registry
    ) -> None:
        for kind in sorted(conformance_backend.stores_served)[:1]:
            conformance_backend.store(kind)
        checks = conformance_registry.host.collect_health(conformance_backend)
        assert checks, "a backend must report at least one health finding"
        assert all(isinstance(c, Check) and c.id.startswith("storage.") for c in checks)
        assert [c.line() for c in checks if c.level >= Level.ERROR] == []


class TestMigrationConformance:
    """``storage_migrate``: migrate brings status to nothing pending; twice is harmless."""

    def test_migrate_leaves_nothing_pending_and_is_idempotent(
        self, conformance_backend: Backend, conformance_registry: Registry
    ) -> None:
        hook = conformance_registry.hook.storage_migrate
        first = hook(backend=conformance_backend,
                     request=MigrationRequest(MigrationAction.MIGRATE))
        assert first is not None
        again = hook(backend=conformance_backend,
                     request=MigrationRequest(MigrationAction.MIGRATE))
        assert all(not status.ran for status in again.databases)
        status = hook(backend=conformance_backend,
                      request=MigrationRequest(MigrationAction.STATUS))
        assert status.pending_count == 0
        assert all(not s.changed for s in status.databases)


class TestBackupConformance:
    """``storage_backup``: a backup of a backend with data verifies against its manifest.

    Restoring is backend-specific (some restore only into empty storage) and is tested by
    each plugin; this class checks what every backend promises.
    """

    def test_backup_writes_files_its_manifest_describes(
        self, conformance_backend: Backend, conformance_registry: Registry, tmp_path: Path
    ) -> None:
        for kind in sorted(conformance_backend.stores_served):
            conformance_backend.store(kind)
        directory, manifest = create_backup(conformance_registry.hook, conformance_backend,
                                            tmp_path / "backups")
        assert manifest.backend == conformance_backend.name
        assert manifest.files, "a backup must contain at least one file"
        verified = verify_backup(directory)
        assert [f.name for f in verified.files] == [f.name for f in manifest.files]
        for entry in manifest.files:
            assert (directory / entry.name).stat().st_size == entry.size
