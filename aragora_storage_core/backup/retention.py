"""Which backups to keep: by age and by count, never the newest one that verifies."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aragora_storage_core.backup.catalog import BackupEntry, list_backups
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.errors import CorruptBackupError
from aragora_storage_core.records import dataclass, field

DEFAULT_MAX_AGE_DAYS = 7


@dataclass
class PrunePlan:
    """Backups to remove and to keep, and the newest verified one (always kept)."""

    remove: list[BackupEntry] = field(default_factory=list)
    keep: list[BackupEntry] = field(default_factory=list)
    protected: BackupEntry | None = None


def newest_verified(entries: list[BackupEntry]) -> BackupEntry | None:
    """The newest complete backup whose files all verify."""
    for entry in reversed(entries):
        if not entry.complete:
            continue
        try:
            verify_backup(entry.path)
        except CorruptBackupError:
            continue
        return entry
    return None


def plan_prune(root: Path, max_age_days: float = DEFAULT_MAX_AGE_DAYS,
               keep_count: int | None = None, now: datetime | None = None) -> PrunePlan:
    """Decide what ``prune`` removes under ``root``.

    A backup goes when it is older than ``max_age_days``, or when ``keep_count`` is set
    and it is not among the ``keep_count`` newest complete backups. The newest backup that
    verifies is always kept; an incomplete backup younger than the age limit is kept (it
    may still be being written).
    """
    entries = list_backups(root)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=max_age_days)
    plan = PrunePlan(protected=newest_verified(entries))
    complete_rank = 0
    for entry in reversed(entries):
        too_many = False
        if entry.complete:
            too_many = keep_count is not None and complete_rank >= keep_count
            complete_rank += 1
        if entry != plan.protected and (entry.created < cutoff or too_many):
            plan.remove.append(entry)
        else:
            plan.keep.append(entry)
    return plan


def prune(plan: PrunePlan) -> None:
    """Delete the backups ``plan`` removes."""
    for entry in plan.remove:
        shutil.rmtree(entry.path)
