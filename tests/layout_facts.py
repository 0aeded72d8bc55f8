"""The real application's layout facts (``shared/aragora-layout.json`` beside the clone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FACTS_FILE = Path(__file__).resolve().parents[1].parent / "shared" / "aragora-layout.json"


def facts() -> dict[str, Any]:
    """The parsed facts file (a test fails, never skips, when it is missing)."""
    data: dict[str, Any] = json.loads(FACTS_FILE.read_text(encoding="utf-8"))
    return data
