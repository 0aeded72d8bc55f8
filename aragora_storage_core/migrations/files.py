"""Find migration files, split SQL scripts, and write new migration files."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.types import MigrationFile

ROOT = Path(__file__).parent
_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.(sql|py)$")
DOWN_MARKER = "-- migrate:down"


def discover(db: str, root: Path = ROOT) -> list[MigrationFile]:
    """The migration files of logical database ``db`` in version order."""
    folder = root / db
    if not folder.is_dir():
        return []
    found: dict[int, MigrationFile] = {}
    for path in sorted(folder.iterdir()):
        match = _NAME.match(path.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"two migrations of {db} have version {version:03d}",
                f"renumber one of the files in {folder}",
            )
        checksum, equivalent = checksums(path.read_bytes())
        found[version] = MigrationFile(version, match.group(2), path, checksum, equivalent)
    return [found[v] for v in sorted(found)]


def checksums(data: bytes) -> tuple[str, frozenset[str]]:
    """The checksum of a migration's text and those of the same text with other line endings.

    The checksum is that of the text with ``\n`` line endings, so a checkout that turns
    them into ``\r\n`` changes nothing. Files applied before this rule were recorded with
    the checksum of their raw bytes, which is among the equivalent ones.
    """
    unix = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    checksum = hashlib.sha256(unix).hexdigest()
    others = {hashlib.sha256(variant).hexdigest()
              for variant in (data, unix.replace(b"\n", b"\r\n"))}
    return checksum, frozenset(others - {checksum})


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (comments and strings respected)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if _has_code(statement):
                statements.append(statement)
    if _has_code(buffer):
        raise MigrationError(
            "a migration script ends in an unfinished statement", "end every statement with ;"
        )
    return statements


def _has_code(text: str) -> bool:
    return any(
        line.strip() and not line.strip().startswith("--") for line in text.splitlines()
    )


def up_and_down(script: str) -> tuple[str, str | None]:
    """Split a ``.sql`` migration at ``-- migrate:down`` into its up and down parts."""
    up, marker, down = script.partition(DOWN_MARKER)
    return up, (down if marker else None)


def create(db: str, description: str, root: Path = ROOT) -> Path:
    """Write ``NNN_description.py`` for ``db`` with the next version; return its path."""
    slug = re.sub(r"[^a-z0-9]+", "_", description.lower()).strip("_")
    if not slug:
        raise MigrationError("a migration needs a description", 'use --create "Add field X"')
    existing = discover(db, root)
    version = (existing[-1].version if existing else 0) + 1
    folder = root / db
    path = folder / f"{version:03d}_{slug}.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_new(path, version, description)
    except OSError as exc:
        raise MigrationError(f"cannot write the migration into {folder}: {exc.strerror}",
                             "pass --dir DIR, a folder you can write to") from None
    return path


def _write_new(path: Path, version: int, description: str) -> None:
    title = " ".join(description.replace("\\", "/").replace('"', "'").split())
    path.write_text(
        f'"""\nMigration {version:03d}: {title}\n\n'
        f"Created: {datetime.now(UTC).isoformat(timespec='seconds')}\n\"\"\"\n\n"
        "from aragora_storage_core.migrations.context import MigrationContext\n\n\n"
        "def upgrade(ctx: MigrationContext) -> None:\n"
        '    """Apply this migration."""\n'
        '    ctx.execute("SELECT 1")\n\n\n'
        "def downgrade(ctx: MigrationContext) -> None:\n"
        '    """Reverse this migration."""\n'
        '    ctx.execute("SELECT 1")\n',
        encoding="utf-8",
    )
