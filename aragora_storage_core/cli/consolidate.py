"""``aragora-storage consolidate``: legacy SQLite files into the four consolidated ones."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aragora_storage_core.consolidate import DEFAULT_ATTACH_LIMIT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The seed's flags, shared with ``python -m aragora_storage_core.migrations.consolidate``."""
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--dry-run", action="store_true",
                        help="list every table, its rows and destination; write nothing")
    action.add_argument("--migrate", action="store_true",
                        help="back up, then build the consolidated databases")
    action.add_argument("--verify", action="store_true",
                        help="compare row counts and checksums of source and target")
    parser.add_argument("--source", type=Path, metavar="DIR",
                        help="directory of the legacy files (default: ARAGORA_DATA_DIR or .nomic)")
    parser.add_argument("--target", type=Path, metavar="DIR",
                        help="directory of the consolidated files (default: same as source)")
    parser.add_argument("--no-backup", action="store_true",
                        help="skip the backup of the legacy files (not recommended)")
    parser.add_argument("--attach-limit", type=int, default=DEFAULT_ATTACH_LIMIT, metavar="N",
                        help=f"legacy files attached at once (default {DEFAULT_ATTACH_LIMIT})")


def register(sub: Any) -> None:
    """Add the ``consolidate`` subcommand."""
    parser = sub.add_parser("consolidate", help="merge legacy SQLite files into 4 databases")
    add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Dry run, migrate or verify; exit 1 when verification finds a difference."""
    from aragora_storage_core.consolidate.plan import make_plan
    from aragora_storage_core.settings import Settings

    source: Path = args.source or Settings.from_env().data_dir
    target: Path = args.target or source
    if args.migrate:
        return _migrate(source, target, args)
    plan = make_plan(source)
    if args.dry_run:
        _print_plan(plan, target)
        return 0
    return _verify(plan, target)


def _print_plan(plan: Any, target: Path) -> None:
    from aragora_storage_core.consolidate.ledger import check_replaceable
    from aragora_storage_core.errors import ConsolidationError
    from aragora_storage_core.layout import ConsolidatedDatabase

    print(f"source {plan.source} -> target {target}")
    for source in plan.sources:
        for table in source.tables:
            renamed = f" {table.target}" if table.target != table.table else ""
            print(f"  {source.path.name:<24} {table.table:<24} {table.rows:>10} rows"
                  f" -> {source.home.filename}{renamed}")
    for line in plan.warnings():
        print(f"warning: {line}")
    for home in ConsolidatedDatabase:
        try:
            check_replaceable(target, home.filename)
        except ConsolidationError as error:
            print(f"warning: --migrate would stop: {error.message}")
    files = sum(1 for s in plan.sources if s.exists)
    print(f"would copy {plan.total_rows} rows from {files} legacy files; nothing was written")


def _migrate(source: Path, target: Path, args: argparse.Namespace) -> int:
    from aragora_storage_core.consolidate.run import consolidate

    outcome = consolidate(source, target, backup=not args.no_backup,
                          attach_limit=args.attach_limit)
    if outcome.backup is not None:
        print(f"backup of the legacy files (verified): {outcome.backup}")
    else:
        print("no backup made (--no-backup)")
    for line in outcome.plan.warnings():
        print(f"warning: {line}")
    names = ", ".join(p.name for p in outcome.built)
    print(f"copied {outcome.plan.total_rows} rows into {names} in {target};"
          " legacy files untouched")
    print("next: check it with --verify, then export ARAGORA_DB_MODE=consolidated")
    return 0


def _verify(plan: Any, target: Path) -> int:
    from aragora_storage_core.consolidate.checksum import compare
    from aragora_storage_core.consolidate.plan import unknown_lines

    for line in unknown_lines(plan.unknown_files, plan.source):
        print(f"warning: {line}")
    checks = compare(plan, target)
    bad = [c for c in checks if not c.ok]
    for check in checks:
        state = "ok" if check.ok else "MISMATCH"
        print(f"  {check.source:<24} {check.table:<24} {check.source_rows:>10} ->"
              f" {check.target_rows:>10} {check.target:<13} {state}")
    if bad:
        print(f"{len(bad)} of {len(checks)} tables differ between source and target")
        return 1
    print(f"all {len(checks)} tables match (row counts and checksums)")
    return 0
