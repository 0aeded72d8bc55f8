"""``aragora-storage cleanup``: move stray ``*.db`` files into the data directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aragora_storage_core.settings import Settings


def register(sub: Any) -> None:
    """Add the ``cleanup`` subcommand."""
    parser = sub.add_parser("cleanup", help="move stray *.db files into ARAGORA_DATA_DIR")
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="directory to clean (default: the current one)")
    parser.add_argument("--dry-run", action="store_true", help="only list what would move")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Move the files; exit 1 when a file was left because its target exists."""
    from aragora_storage_core.cleanup import cleanup

    settings = Settings.from_env()
    result = cleanup(args.source, settings.data_dir, args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    for name in result.moved:
        print(f"{verb} {name} -> {settings.data_dir / name}")
    for name in result.conflicts:
        print(f"left {name}: {settings.data_dir / name} already exists (merge by hand)")
    if not result.moved and not result.conflicts:
        print("nothing to clean")
    return 1 if result.conflicts else 0
