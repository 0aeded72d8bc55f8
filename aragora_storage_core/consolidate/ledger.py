"""Which consolidated files consolidation itself made: ``<target>/.consolidation.json``.

A re-run may replace a target file only if it is still byte-for-byte one consolidation
wrote (its SHA-256 is recorded here, before the file is moved into place). Any other file
with that name holds data consolidation must not overwrite.
"""

from __future__ import annotations

import json
from pathlib import Path

from aragora_storage_core.backup.manifest import sha256_of
from aragora_storage_core.errors import ConsolidationError
from aragora_storage_core.files import write_atomically

LEDGER = ".consolidation.json"


def _read(target: Path) -> dict[str, list[str]]:
    path = target / LEDGER
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): [str(d) for d in v] for k, v in data["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConsolidationError(f"{path} is damaged",
                                 f"move {path} and the consolidated files aside, then re-run"
                                 ) from None


def check_replaceable(target: Path, name: str) -> None:
    """Refuse when ``target/name`` exists and is not a file consolidation made."""
    path = target / name
    if path.exists() and sha256_of(path) not in _read(target).get(name, []):
        raise ConsolidationError(
            f"{path} already exists and was not made by consolidation (or changed since)",
            "move it aside or choose another --target; it is never overwritten",
        )


def record(target: Path, name: str, digest: str) -> None:
    """Remember ``digest`` as a version of ``target/name`` made by consolidation."""
    files = _read(target)
    files.setdefault(name, [])
    if digest not in files[name]:
        files[name].append(digest)
    write_atomically(target / LEDGER, json.dumps({"files": files}, indent=2).encode("utf-8"))
