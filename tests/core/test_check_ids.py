"""Every finding and error id means one thing: one number, one owner.

The owner is a module of the core, or a whole plugin (a plugin's error may also be
reported as its health finding).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parents[2]
ID = re.compile(r"\"storage\.[EWIC](\d{3})\"")


def _owner(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return "/".join(relative.parts[:2]) if relative.parts[0] == "plugins" else str(relative)


def test_each_id_number_has_one_owner() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    sources = [*ROOT.joinpath("aragora_storage_core").rglob("*.py"),
               *ROOT.joinpath("plugins").rglob("*.py")]
    for path in sources:
        for number in ID.findall(path.read_text(encoding="utf-8")):
            owners[number].add(_owner(path))
    shared = {number: sorted(found) for number, found in owners.items() if len(found) > 1}
    assert shared == {}
