"""A process forked after a store was used never reuses its parent's SQLite connection."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.models import AuditEntry
from aragora_storage_core.registry import Registry


def _child(registry: Registry, queue: Any) -> None:
    database: Any = registry.active().database_for(DatabaseType.USERS)  # type: ignore[attr-defined]
    queue.put(id(database.connection()))
    registry.store("audit").log(AuditEntry("from-child"))


def test_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_DATA_DIR": str(tmp_path)})
    audit = registry.store("audit")
    audit.log(AuditEntry("from-parent"))
    database: Any = registry.active().database_for(DatabaseType.USERS)  # type: ignore[attr-defined]
    parent_connection = database.connection()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(registry, queue))
    child.start()
    child_connection_id = queue.get(timeout=30)
    child.join(30)
    assert child.exitcode == 0
    assert child_connection_id != id(parent_connection)
    assert sorted(e.action for e in audit.query()) == ["from-child", "from-parent"]
    registry.close()
