"""Runs the data migrations of one keyspace and reports like the SQL engine.

The keyspace version (``<prefix>meta:version``) is the highest migration applied; the
hash ``<prefix>meta:migrations`` keeps each one's name, checksum, time and duration. One
migrator at a time holds ``<prefix>meta:migration-lock``; a second waits for it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.types import (
    AppliedMigration,
    DatabaseStatus,
    MigrationAction,
    MigrationFile,
    MigrationReport,
    MigrationRequest,
)
from aragora_storage_core.models import utcnow_iso
from aragora_storage_redis.faults import DRIVER_ERRORS, translate
from aragora_storage_redis.migrations import MIGRATIONS, DataMigration, MigrationContext

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

#: The name under which reports list the keyspace (``--db keyspace``).
KEYSPACE_DB = "keyspace"
LOCK_TTL_MS = 300_000
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def migration_file(migration: DataMigration) -> MigrationFile:
    """A data migration as the report lists it: the checksum is that of its source."""
    source = inspect.getsource(migration.upgrade)
    return MigrationFile(
        version=migration.version,
        name=migration.name,
        path=Path(inspect.getfile(migration.upgrade)),
        checksum=hashlib.sha256(source.encode()).hexdigest(),
    )


class KeyspaceMigrator:
    """Status and forward migration of one backend's keyspace."""

    def __init__(self, backend: RedisBackend, lock_wait_seconds: float = 60.0) -> None:
        self.backend = backend
        self.client = backend.client
        self.keys = backend.keys
        self.lock_wait_seconds = lock_wait_seconds

    def status(self) -> DatabaseStatus:
        """Applied, pending and changed migrations of the keyspace."""
        try:
            raw = self.client.hgetall(self.keys.migrations)
        except DRIVER_ERRORS as error:
            raise translate(error, self.backend, "migration status") from error
        applied = sorted(
            (AppliedMigration(int(version), **json.loads(entry)) for version, entry in raw.items()),
            key=lambda a: a.version)
        location = f"{self.backend.location} prefix {self.keys.prefix!r}"
        return DatabaseStatus.compare(KEYSPACE_DB, location, applied,
                                      map(migration_file, MIGRATIONS))

    def check_unchanged(self, status: DatabaseStatus) -> None:
        """Raise :class:`ChecksumMismatchError` if an applied migration was edited."""
        if status.changed:
            changed = status.changed[0]
            status.check_unchanged(
                "redis data migration", f"{changed.version:03d}_{changed.name}",
                "restore the function's original source; add a new migration instead")

    def migrate(self, target: int | None = None) -> DatabaseStatus:
        """Apply pending migrations up to ``target`` (all by default), under the lock."""
        status = self.status()
        self.check_unchanged(status)
        if not any(target is None or m.version <= target for m in status.pending):
            if status.applied:
                try:
                    self._set_version()
                except DRIVER_ERRORS as error:
                    raise translate(error, self.backend, "migrate") from error
            return status
        try:
            token = self._acquire()
            try:
                for migration in self.status().pending:
                    if target is not None and migration.version > target:
                        break
                    self._apply(migration)
                    status.ran.append(f"{migration.version:03d}_{migration.name}")
            finally:
                self.client.eval(_RELEASE, 1, self.keys.migration_lock, token)
        except DRIVER_ERRORS as error:
            raise translate(error, self.backend, "migrate", idempotent=False) from error
        done = self.status()
        done.ran = status.ran
        return done

    def _apply(self, migration: MigrationFile) -> None:
        upgrade = MIGRATIONS[migration.version - 1].upgrade
        started = time.perf_counter()
        try:
            upgrade(MigrationContext(self.client, self.keys, self.backend.topology.scan_targets(),
                                     cluster=self.backend.topology.mode == "cluster"))
        except DRIVER_ERRORS:
            raise
        except Exception as error:
            raise MigrationError(
                f"redis data migration {migration.version:03d}_{migration.name} failed "
                f"({type(error).__name__}: {error})",
                "fix the cause and run it again: data migrations are safe to re-run") from error
        record = {"name": migration.name, "checksum": migration.checksum,
                  "applied_at": utcnow_iso(),
                  "duration_ms": round((time.perf_counter() - started) * 1000, 3)}
        self.client.hset(self.keys.migrations, str(migration.version), json.dumps(record))
        self._set_version()

    def _set_version(self) -> None:
        """``meta:version`` := the highest applied migration. Written after the record (the
        two keys may sit on different cluster nodes, so no transaction holds both) and
        set again by every ``migrate``: an interruption between the two leaves it stale
        until the next one."""
        applied = [int(version) for version in self.client.hkeys(self.keys.migrations)]
        self.client.set(self.keys.version, max(applied, default=0))

    def _acquire(self) -> str:
        token = secrets.token_hex(8)
        deadline = time.monotonic() + self.lock_wait_seconds
        while not self.client.set(self.keys.migration_lock, token, nx=True, px=LOCK_TTL_MS):
            if time.monotonic() > deadline:
                raise MigrationError(
                    f"another process has been migrating {self.keys.prefix!r} on "
                    f"{self.backend.location} for over {self.lock_wait_seconds:g}s",
                    f"wait for it, or delete the key {self.keys.migration_lock} if it died")
            time.sleep(0.05)
        return token


def run(backend: RedisBackend, request: MigrationRequest) -> MigrationReport:
    """Answer a migration request for ``backend``'s keyspace."""
    report = MigrationReport(request.action)
    if request.db not in (None, KEYSPACE_DB):
        return report
    if request.action in (MigrationAction.DOWNGRADE, MigrationAction.CREATE,
                          MigrationAction.REPAIR):
        raise MigrationError(
            f"redis data migrations do not support {request.action.value}: they are "
            "forward-only Python functions",
            "add a function to aragora_storage_redis/migrations.py, then migrate")
    migrator = KeyspaceMigrator(backend)
    if request.action is MigrationAction.MIGRATE:
        report.databases.append(migrator.migrate(request.target))
        return report
    status = migrator.status()
    if request.action is MigrationAction.DRY_RUN:
        migrator.check_unchanged(status)
    report.databases.append(status)
    return report
