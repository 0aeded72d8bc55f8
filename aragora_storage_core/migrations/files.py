"""Find migration files on the search path, split SQL scripts, write new migrations.

The search path holds folders with one sub-folder per logical database
(``<folder>/users/004_add_x.py``): the core's own folder first, then the folders of the
entry-point group ``aragora_storage.migrations`` (plugins, installed applications), then
those of ``ARAGORA_MIGRATIONS_PATH`` (the application's own, ``os.pathsep``-separated).
The versions of one logical database form one sequence over every folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from aragora_storage_core import entry_points
from aragora_storage_core.errors import ConfigurationError, MigrationError
from aragora_storage_core.migrations.types import MigrationFile

ROOT = Path(__file__).parent
_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.(sql|py)$")
DOWN_MARKER = "-- migrate:down"
#: Entry-point group whose entries name a folder of migration folders.
ENTRY_POINT_GROUP = entry_points.MIGRATIONS_GROUP
#: The application's migration folders, ``os.pathsep``-separated; the first gets ``--create``.
PATH_VARIABLE = "ARAGORA_MIGRATIONS_PATH"


def application_folders(env: Mapping[str, str] | None = None) -> list[Path]:
    """The folders of ``ARAGORA_MIGRATIONS_PATH``, in order."""
    raw = (os.environ if env is None else env).get(PATH_VARIABLE, "")
    return [Path(part) for part in raw.split(os.pathsep) if part.strip()]


def plugin_folders(disabled: frozenset[str] = frozenset(),
                   found: Iterable[entry_points.EntryPoint] | None = None) -> list[Path]:
    """The folders the entry points of ``aragora_storage.migrations`` name.

    An entry's value is a package (its directory is the folder), or an object that is a
    path or returns one when called. Entries named in ``disabled`` (or whose distribution
    is) are skipped, as for every plugin. ``found`` are the group's entry points when the
    caller has read them already (a registry reads every group once); default: read now.
    """
    if found is None:
        found = entry_points.find([ENTRY_POINT_GROUP])
    folders = []
    for ep in sorted(found, key=lambda e: e.name):
        dist = ep.distribution or ""
        if ep.name in disabled or dist in disabled:
            continue
        try:
            target = entry_points.load(ep.value)
        except Exception as exc:  # a broken plugin is named, never a traceback
            raise ConfigurationError(
                f"migrations entry point {ep.name!r} ({ep.value}) failed to import:"
                f" {type(exc).__name__}",
                f"fix or uninstall {dist or ep.value}, or add {ep.name} to"
                " ARAGORA_STORAGE_DISABLE_PLUGINS") from None
        folders.append(_folder_of(ep.name, target))
    return folders


def _folder_of(name: str, target: object) -> Path:
    if callable(target):
        target = target()
    if isinstance(target, str | os.PathLike):
        return Path(target)
    locations = getattr(target, "__path__", None)
    if locations:
        return Path(next(iter(locations)))
    raise ConfigurationError(f"migrations entry point {name!r} names neither a package nor"
                             " a folder", "point it at a package of migration folders")


def search_path(env: Mapping[str, str] | None = None,
                found: Iterable[entry_points.EntryPoint] | None = None) -> list[Path]:
    """The core's folder, the entry points' folders, then ``ARAGORA_MIGRATIONS_PATH``.

    ``found``: the entry points of ``aragora_storage.migrations`` if already read (see
    :func:`plugin_folders`).
    """
    env = os.environ if env is None else env
    raw = env.get("ARAGORA_STORAGE_DISABLE_PLUGINS", "")
    disabled = frozenset(p.strip() for p in raw.split(",") if p.strip())
    return [ROOT, *plugin_folders(disabled, found), *application_folders(env)]


def discover(db: str, roots: Path | Sequence[Path] = ROOT) -> list[MigrationFile]:
    """The migration files of logical database ``db`` over ``roots``, in version order."""
    found: dict[int, MigrationFile] = {}
    for root in [roots] if isinstance(roots, Path) else roots:
        folder = root / db
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = _NAME.match(path.name)
            if not match:
                continue
            version = int(match.group(1))
            if version in found:
                raise MigrationError(
                    f"two migrations of {db} have version {version:03d}:"
                    f" {found[version].path} and {path}",
                    "renumber the application's file to the next free version",
                )
            checksum, equivalent = checksums(path.read_bytes())
            found[version] = MigrationFile(version, match.group(2), path, checksum,
                                           equivalent)
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
    import sqlite3  # its statement splitter; not at import time (a PostgreSQL process)

    statements: list[str] = []
    buffer = ""
    for piece in re.split(r"(?<=;)", script):  # after every ';' (several on one line too)
        buffer += piece
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


def rename_tables(statement: str, names: Mapping[str, str]) -> str:
    """``statement`` with each table name of ``names`` (as a whole word) renamed.

    Migration files name tables as in their consolidated home; a legacy file or a shared
    database names a few differently (:class:`~aragora_storage_core.layout.Naming`).
    """
    if not names:
        return statement
    pattern = r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) \
        + r")\b"
    return re.sub(pattern, lambda m: names[m.group(1)], statement)


def up_and_down(script: str) -> tuple[str, str | None]:
    """Split a ``.sql`` migration at ``-- migrate:down`` into its up and down parts."""
    up, marker, down = script.partition(DOWN_MARKER)
    return up, (down if marker else None)


def create(db: str, description: str, root: Path, roots: Sequence[Path] = ()) -> Path:
    """Write ``root/db/NNN_description.py`` with the next version over ``root`` and ``roots``.

    ``root`` is the application's folder; the version follows every file of ``db`` on the
    search path ``roots``, so the new file runs after the core's and plugins' ones.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", description.lower()).strip("_")
    if not slug:
        raise MigrationError("a migration needs a description", 'use --create "Add field X"')
    existing = discover(db, [*roots, root] if root not in roots else roots)
    version = (existing[-1].version if existing else 0) + 1
    folder = root / db
    path = folder / f"{version:03d}_{slug}.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_new(path, version, description)
    except OSError as exc:
        raise MigrationError(f"cannot write the migration into {folder}: {exc.strerror}",
                             f"point {PATH_VARIABLE} at a folder you can write to") from None
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
