"""Where backups live and what is there: ``<root>/YYYYMMDD_HHMMSS[_N]/`` directories."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.manifest import MANIFEST
from aragora_storage_core.errors import BackupError
from aragora_storage_core.files import ensure_private_dir
from aragora_storage_core.records import dataclass

STAMP = "%Y%m%d_%H%M%S"
_NAME = re.compile(r"^(\d{8}_\d{6})(?:_\d+)?$")


@dataclass(frozen=True)
class BackupEntry:
    """One backup directory: its path, when it was made, and whether it is complete."""

    path: Path
    created: datetime
    complete: bool

    @property
    def name(self) -> str:
        """The directory name, e.g. ``20260126_101500``."""
        return self.path.name


def default_root(backend: Backend) -> Path:
    """``<data dir>/backups`` of ``backend``: beside its files, else ``ARAGORA_DATA_DIR``."""
    location = backend.describe().get("location")
    if location and location != ":memory:":
        path = Path(str(location))
        return (path if path.is_dir() or not path.suffix else path.parent) / "backups"
    return backend.settings.data_dir / "backups"


def _names(root: Path, now: datetime | None) -> Iterator[Path]:
    stamp = (now or datetime.now(UTC)).strftime(STAMP)
    for attempt in range(1000):
        yield root / (stamp if attempt == 0 else f"{stamp}_{attempt}")
    raise BackupError(f"too many backups named {stamp} in {root}", "prune old backups")


def new_directory(root: Path, now: datetime | None = None) -> Path:
    """Create and return an empty ``root/YYYYMMDD_HHMMSS`` (``_N`` added when taken), 0700."""
    ensure_private_dir(root)
    for path in _names(root, now):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise BackupError(f"cannot create backup directory {path}: {exc.strerror}",
                              "choose a writable directory with --dir") from None
        return path
    raise AssertionError("unreachable: _names raises when it runs out")


def unused_directory(root: Path, now: datetime | None = None) -> Path:
    """The path a new backup under ``root`` would get, not created (nothing is written)."""
    return next(path for path in _names(root, now) if not path.exists())


def list_backups(root: Path) -> list[BackupEntry]:
    """Every backup directory under ``root``, oldest first (empty if ``root`` is absent)."""
    if not root.is_dir():
        return []
    entries = []
    for path in root.iterdir():
        match = _NAME.match(path.name)
        if not match or not path.is_dir():
            continue
        created = datetime.strptime(match.group(1), STAMP).replace(tzinfo=UTC)
        entries.append(BackupEntry(path, created, (path / MANIFEST).is_file()))
    return sorted(entries, key=lambda e: (e.created, _suffix(e.name)))


def _suffix(name: str) -> int:
    parts = name.split("_")
    return int(parts[2]) if len(parts) > 2 else 0
