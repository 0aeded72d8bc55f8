"""Backup findings for ``doctor``: how old the newest complete backup is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.catalog import default_root, list_backups
from aragora_storage_core.checks import Check, Level

#: A newest backup older than this is a warning.
MAX_AGE = timedelta(days=2)


def backup_findings(backend: Backend, now: datetime | None = None) -> list[Check]:
    """One finding on the newest complete backup in ``backend``'s backup folder.

    Reads directory names and manifest presence only (no hashing), so it stays fast.
    """
    root = default_root(backend)
    complete = [e for e in list_backups(root) if e.complete]
    if not complete:
        # A fresh install has none: say so without failing `doctor --fail-level warning`.
        return [Check("storage.I065", Level.INFO, f"no backups yet in {root}",
                      "aragora-storage backup create (and schedule it)")]
    newest = complete[-1]
    age = (now or datetime.now(UTC)) - newest.created
    hours = age.total_seconds() / 3600
    data = {"backup": str(newest.path), "age_hours": round(hours, 1)}
    if age > MAX_AGE:
        return [Check("storage.W066", Level.WARNING,
                      f"newest backup {newest.name} is {hours / 24:.1f} days old",
                      "aragora-storage backup create (and schedule it)", data)]
    return [Check("storage.I066", Level.INFO,
                  f"newest backup {newest.name} is {hours:.1f} hours old", data=data)]
