"""Routine upkeep of the active backend: retention, aggregation and expiry, with counts.

Each task calls one store method; a backend that does not serve a task's store skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aragora_storage_core.errors import StoreNotServedError
from aragora_storage_core.stores.protocols import StoreKind


@dataclass(frozen=True)
class Task:
    """One maintenance task: the store it runs on, what it does, and how to run it."""

    kind: StoreKind
    description: str
    run: Callable[[Any, int | None, int | None], int]


@dataclass(frozen=True)
class TaskResult:
    """How many rows a task removed or folded (``None`` when the store is not served)."""

    task: Task
    count: int | None


TASKS: tuple[Task, ...] = (
    Task(StoreKind.AUDIT, "audit entries past retention deleted",
         lambda store, audit_days, usage_days: store.cleanup_old_entries(audit_days)),
    Task(StoreKind.USAGE, "usage events folded into monthly totals",
         lambda store, audit_days, usage_days: store.aggregate_and_prune(usage_days)),
    Task(StoreKind.TOKEN_BLACKLIST, "expired revoked tokens dropped",
         lambda store, audit_days, usage_days: store.cleanup_expired()),
    Task(StoreKind.SHARE_LINKS, "expired share links deleted",
         lambda store, audit_days, usage_days: store.delete_expired()),
)


def run_maintenance(store_for: Callable[[StoreKind], Any], audit_days: int | None = None,
                    usage_days: int | None = None) -> list[TaskResult]:
    """Run every task on the stores ``store_for`` returns.

    ``audit_days`` and ``usage_days`` override ``ARAGORA_AUDIT_RETENTION_DAYS`` and
    ``ARAGORA_USAGE_RETENTION_DAYS`` (``None``: the settings' values).
    """
    results = []
    for task in TASKS:
        try:
            store = store_for(task.kind)
        except StoreNotServedError:
            results.append(TaskResult(task, None))
            continue
        results.append(TaskResult(task, task.run(store, audit_days, usage_days)))
    return results
