"""Move stray ``*.db`` files from a working directory into the data directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.files import COMPANIONS, ensure_private_dir
from aragora_storage_core.records import dataclass, field


@dataclass
class CleanupResult:
    """What was (or would be) moved, and what was left because the target exists."""

    moved: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def cleanup(source: Path, data_dir: Path, dry_run: bool = False) -> CleanupResult:
    """Move every ``*.db`` of ``source`` (with its -wal/-shm files) into ``data_dir``.

    A file whose name already exists in ``data_dir`` is never overwritten; it is listed in
    ``conflicts`` and left where it is. A ``source`` that is not a directory is an error.
    """
    if not source.is_dir():
        raise ConfigurationError(f"{source} is not a directory",
                                 "pass --source DIR, the directory holding the stray files")
    result = CleanupResult()
    if source.resolve() == data_dir.resolve():
        return result
    for path in sorted(source.glob("*.db")):
        if not path.is_file():
            continue
        if (data_dir / path.name).exists():
            result.conflicts.append(path.name)
            continue
        result.moved.append(path.name)
        if dry_run:
            continue
        ensure_private_dir(data_dir)
        for suffix in ("", *COMPANIONS):
            part = path.with_name(path.name + suffix)
            if part.exists():
                shutil.move(str(part), str(data_dir / part.name))
    return result
