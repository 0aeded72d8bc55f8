"""``aragora-storage backup create|list|verify|restore|prune`` for the active backend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aragora_storage_core.cli.common import open_backend, print_json, registry_for

DEFAULT_DAYS = 7
#: The largest ``--days`` (a hundred years): a longer age is no age limit at all.
MAX_DAYS = 36500


def register(sub: Any) -> None:
    """Add the ``backup`` subcommand and its actions."""
    parser = sub.add_parser("backup", help="create, list, verify, restore and prune backups")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="back up the active backend (or --url)")
    listing = actions.add_parser("list", help="list backups, newest last")
    listing.add_argument("--json", action="store_true", help="print JSON")
    verify = actions.add_parser("verify", help="re-hash files and check SQLite integrity")
    verify.add_argument("backup", nargs="?", help="backup name or path (default: all)")
    restore = actions.add_parser("restore", help="restore a verified backup (stop writers)")
    restore.add_argument("backup", help="backup name (e.g. 20260126_101500) or path")
    restore.add_argument("--yes", action="store_true",
                         help="restore without asking (needed when not on a terminal)")
    prune = actions.add_parser("prune", help="remove old backups, keeping the newest good one")
    prune.add_argument("--days", type=float, default=DEFAULT_DAYS,
                       help=f"remove backups older than this (default {DEFAULT_DAYS})")
    prune.add_argument("--keep", type=int, metavar="N", help="keep at most N complete backups")
    prune.add_argument("--dry-run", action="store_true", help="only list what would go")
    for action in (create, listing, verify, restore, prune):
        action.add_argument("--dir", type=Path, metavar="DIR",
                            help="folder of backups (default: <data dir>/backups)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run one backup action; 1 when a backup fails verification."""
    from aragora_storage_core.backup.catalog import default_root

    registry = registry_for(args)
    backend = open_backend(args, registry)
    try:
        root: Path = args.dir or default_root(backend)
        if args.action == "create":
            return _create(registry, backend, root)
        if args.action == "list":
            return _list(root, args.json)
        if args.action == "verify":
            return _verify(root, args.backup)
        if args.action == "restore":
            return _restore(registry, backend, _resolve(root, args.backup), args.yes)
        return _prune(root, args.days, args.keep, args.dry_run)
    finally:
        backend.close()
        registry.close()


def _create(registry: Any, backend: Any, root: Path) -> int:
    from aragora_storage_core.backup.create import create_backup

    directory, manifest = create_backup(registry.hook, backend, root)
    size = sum(f.size for f in manifest.files)
    print(f"backup {directory.name}: {len(manifest.files)} files, {human_size(size)} "
          f"-> {directory}")
    return 0


def _list(root: Path, as_json: bool) -> int:
    from aragora_storage_core.backup.catalog import list_backups

    entries = list_backups(root)
    if as_json:
        print_json([{"name": e.name, "path": str(e.path), "created": e.created.isoformat(),
                     "complete": e.complete} for e in entries])
        return 0
    if not entries:
        print(f"no backups in {root}")
    for entry in entries:
        state = "complete" if entry.complete else "INCOMPLETE (no manifest)"
        print(f"{entry.name}  {entry.created:%Y-%m-%d %H:%M:%S} UTC  {state}")
    return 0


def _verify(root: Path, name: str | None) -> int:
    from aragora_storage_core.backup.catalog import list_backups
    from aragora_storage_core.backup.verify import verify_backup
    from aragora_storage_core.errors import BackupError

    paths = [_resolve(root, name)] if name else [e.path for e in list_backups(root)]
    if not paths:
        print(f"no backups in {root}")
        return 0
    failed = 0
    for path in paths:
        try:
            manifest = verify_backup(path)
        except BackupError as error:
            failed += 1
            print(f"{path.name}: BAD: {error.message}")
            continue
        print(f"{path.name}: ok ({len(manifest.files)} files, {manifest.backend})")
    return 1 if failed else 0


def _restore(registry: Any, backend: Any, directory: Path, yes: bool) -> int:
    from aragora_storage_core.backup.restore import check_restorable, restore_backup
    from aragora_storage_core.errors import StorageError

    if not yes:  # with --yes, restore_backup's own verification is the only one
        manifest = check_restorable(backend, directory)
        names = ", ".join(f.name for f in manifest.files)
        print(f"would restore {len(manifest.files)} files from {directory.name}: {names}\n"
              f"the data they replace would be kept as a new backup in {directory.parent}")
        if not _confirmed("restore now?"):
            raise StorageError("restore not confirmed; nothing was changed",
                               "pass --yes to restore (on a terminal you are asked)")
    result = restore_backup(registry.hook, backend, directory)
    names = ", ".join(f.name for f in result.manifest.files)
    print(f"restored {len(result.manifest.files)} files from {directory.name}: {names}")
    if result.kept is not None:
        print(f"the data it replaced is kept in backup {result.kept.name} ({result.kept})\n"
              f"undo: aragora-storage backup restore {result.kept.name} --yes")
    return 0


def _confirmed(question: str) -> bool:
    """Ask ``question`` on a terminal; ``False`` when stdin is not one or the answer is no."""
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _prune(root: Path, days: float, keep: int | None, dry_run: bool) -> int:
    from aragora_storage_core.backup.retention import plan_prune, prune
    from aragora_storage_core.errors import ConfigurationError

    if keep is not None and keep < 1:
        raise ConfigurationError("--keep must be at least 1", "e.g. --keep 7")
    if not 0 <= days <= MAX_DAYS:  # also false for nan
        raise ConfigurationError(f"--days must be a number of days from 0 to {MAX_DAYS}",
                                 f"e.g. --days {DEFAULT_DAYS}")
    plan = plan_prune(root, days, keep)
    if not dry_run:
        prune(plan)
    verb = "would remove" if dry_run else "removed"
    for entry in plan.remove:
        print(f"{verb} {entry.name}")
    protected = plan.protected.name if plan.protected else "none"
    print(f"{verb} {len(plan.remove)}, kept {len(plan.keep)} (newest verified: {protected})")
    return 0


def _resolve(root: Path, name: str) -> Path:
    """A backup given by path, or by name under ``root``."""
    path = Path(name)
    return path if path.is_dir() or len(path.parts) > 1 else root / name


def human_size(size: int) -> str:
    """``size`` bytes as ``512 B``, ``54.3 MB``: one decimal, rounded, never truncated."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if round(value, 1) < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"
