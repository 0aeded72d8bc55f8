"""``--migrate``: verified backup of the legacy files, then every consolidated file built."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.consolidate import DEFAULT_ATTACH_LIMIT, ledger
from aragora_storage_core.consolidate.build import build_homes
from aragora_storage_core.consolidate.plan import Plan, make_plan
from aragora_storage_core.errors import ConfigurationError, ConsolidationError
from aragora_storage_core.files import FILE_MODE, ensure_private_dir
from aragora_storage_core.layout import ConsolidatedDatabase, DatabaseMode
from aragora_storage_core.progress import Progress
from aragora_storage_core.records import dataclass, field
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL

#: Where ``--migrate`` backs up the legacy files, under the source directory (the seed's).
BACKUP_FOLDER = "backup"
#: Held while a run builds into a target directory.
LOCK = ".consolidation.lock"


@dataclass
class Outcome:
    """What ``--migrate`` did: the plan it followed, its backup and the files it built."""

    plan: Plan
    backup: Path | None
    built: list[Path] = field(default_factory=list)


def backup_legacy(source: Path, env: Mapping[str, str] | None = None) -> Path:
    """Back the legacy files of ``source`` up through the backup API, verify it, return it."""
    registry = Registry(Settings.from_env(env))
    url = StorageURL(scheme="sqlite", database=str(source.absolute()),
                     query=(("mode", DatabaseMode.LEGACY.value),))
    backend = registry.connect(url, "--source")  # built, not parsed: any path is fine
    try:
        directory, _ = create_backup(registry.hook, backend, source / BACKUP_FOLDER)
        verify_backup(directory)
    finally:
        backend.close()
    return directory


def prepare_target(target: Path) -> None:
    """Create ``target`` (0700) or fail clearly when it cannot be written."""
    try:
        ensure_private_dir(target)
    except ConfigurationError:
        raise ConsolidationError(f"target directory {target} is not writable",
                                 "choose a writable --target DIR") from None


@contextmanager
def exclusive_run(target: Path) -> Iterator[None]:
    """Hold ``<target>/.consolidation.lock`` for one run; refuse when another run holds it.

    Two runs into one target would build the same temporary files over each other. The
    lock is an ``flock`` (released by the kernel when the process dies, so a killed run
    never blocks the next one); the lock file itself stays.
    """
    fd = os.open(target / LOCK, os.O_CREAT | os.O_RDWR, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConsolidationError(f"another consolidation is running into {target}",
                                     "wait for it to finish, then check with --verify"
                                     ) from None
        yield
    finally:
        os.close(fd)


def consolidate(source: Path, target: Path | None = None, *, backup: bool = True,
                attach_limit: int = DEFAULT_ATTACH_LIMIT,
                env: Mapping[str, str] | None = None,
                stream: TextIO | None = None) -> Outcome:
    """Consolidate the legacy files of ``source`` into ``target`` (default: ``source``).

    Refuses before writing anything when the source is missing or empty, the target is
    not writable, or a target file exists that consolidation did not make.
    """
    plan = make_plan(source, env)
    target = target or source
    prepare_target(target)
    with exclusive_run(target):
        for home in ConsolidatedDatabase:
            ledger.check_replaceable(target, home.filename)
        outcome = Outcome(plan, backup_legacy(source, env) if backup else None)
        progress = Progress("consolidate", total=plan.total_rows, stream=stream)
        try:
            outcome.built = build_homes(plan, target, progress, attach_limit)
        finally:
            progress.close()
    return outcome
