"""Findings reported by ``doctor`` and by the ``storage_health`` hook."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from aragora_storage_core.records import dataclass


class Level(IntEnum):
    """Severity of a finding; ``doctor`` fails at ``ERROR`` and above by default."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


@dataclass(frozen=True)
class Check:
    """One finding: an id such as ``storage.E001``, a level, one line, one hint."""

    id: str
    level: Level
    message: str
    hint: str = ""
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the level as its name."""
        from dataclasses import asdict  # deep copies of ``data``; only JSON output pays

        result = asdict(self)
        result["level"] = self.level.name
        if self.data is None:
            del result["data"]
        return result

    def line(self) -> str:
        """``id LEVEL: message (hint: ...)`` on one line."""
        text = f"{self.id} {self.level.name}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text
