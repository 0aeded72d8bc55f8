"""Helpers the Redis tests share: service availability and cleaning up a prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

ROOT_CONFTEST = Path(__file__).resolve().parent.parent / "conftest.py"


def unavailable(config: pytest.Config, what: str) -> None:
    """``service_unavailable`` of the root conftest: fail under CI, skip locally."""
    root: Any = config.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    root.service_unavailable(what)


def unlink_prefix(client: redis.Redis, prefix: str) -> None:
    """Delete the keys under ``prefix`` with SCAN + UNLINK (never FLUSHDB: others share it)."""
    pattern = prefix.replace("*", r"\*").replace("?", r"\?").replace("[", r"\[") + "*"
    for key in client.scan_iter(match=pattern, count=1000):
        client.unlink(key)
