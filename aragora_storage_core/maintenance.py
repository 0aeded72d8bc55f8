"""Routine upkeep of the active backend: retention, aggregation and expiry, with counts.

Each task calls one store method; a backend that does not serve a task's store skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aragora_storage_core.errors import StoreNotServedError
from aragora_storage_core.records import dataclass
from aragora_storage_core.stores.protocols import StoreKind


@dataclass(frozen=True)
class Task:
    """One maintenance task: the store it runs on, what it does, and how to run it.

    ``run(store, audit_days, usage_days, dry_run)`` returns the rows it changed (with
    ``dry_run``: would change); ``preview`` says what a dry run counts, per table.
    """

    kind: StoreKind
    description: str
    preview: str
    run: Callable[[Any, int | None, int | None, bool], int]


@dataclass(frozen=True)
class TaskResult:
    """How many rows a task removed or folded (``None`` when the store is not served)."""

    task: Task
    count: int | None


TASKS: tuple[Task, ...] = (
    Task(StoreKind.AUDIT, "audit entries past retention deleted",
         "audit_log: entries past retention would be deleted",
         lambda store, audit, usage, dry: store.cleanup_old_entries(audit, dry_run=dry)),
    Task(StoreKind.USAGE, "usage events folded into monthly totals",
         "usage_events: events would be folded into usage_monthly",
         lambda store, audit, usage, dry: store.aggregate_and_prune(usage, dry_run=dry)),
    Task(StoreKind.TOKEN_BLACKLIST, "expired revoked tokens dropped",
         "token_blacklist: expired revoked tokens would be dropped",
         lambda store, audit, usage, dry: store.cleanup_expired(dry_run=dry)),
    Task(StoreKind.SHARE_LINKS, "expired share links deleted",
         "share_links: expired share links would be deleted",
         lambda store, audit, usage, dry: store.delete_expired(dry_run=dry)),
)


def run_maintenance(store_for: Callable[[StoreKind], Any], audit_days: int | None = None,
                    usage_days: int | None = None, *, dry_run: bool = False
                    ) -> list[TaskResult]:
    """Run every task on the stores ``store_for`` returns.

    ``audit_days`` and ``usage_days`` override ``ARAGORA_AUDIT_RETENTION_DAYS`` and
    ``ARAGORA_USAGE_RETENTION_DAYS`` (``None``: the settings' values). With ``dry_run``
    every task only counts what it would change, and nothing is written.
    """
    results = []
    for task in TASKS:
        try:
            store = store_for(task.kind)
        except StoreNotServedError:
            results.append(TaskResult(task, None))
            continue
        results.append(TaskResult(task, task.run(store, audit_days, usage_days, dry_run)))
    return results
