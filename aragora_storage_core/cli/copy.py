"""``aragora-storage copy --from URL --to URL``: every store table, streamed and verified."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from aragora_storage_core.cli.common import registry_for

DEFAULT_BATCH = 1000
#: Exit code of a copy stopped by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def register(sub: Any) -> None:
    """Add the ``copy`` subcommand."""
    parser = sub.add_parser("copy", help="copy all data from one backend to another")
    parser.add_argument("--from", dest="source", required=True, metavar="URL",
                        help="backend to read (e.g. sqlite:///.nomic)")
    parser.add_argument("--to", dest="target", required=True, metavar="URL",
                        help="backend to write, migrated first (e.g. postgresql://...)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, metavar="N",
                        help=f"rows per read and per write transaction (default {DEFAULT_BATCH})")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true",
                          help="finish an interrupted copy of the same source into --to")
    existing.add_argument("--overwrite", action="store_true",
                          help="copy into a target that holds rows: rows with the same key"
                               " are replaced by the source's, other rows kept")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Copy and print one line per table; exit 1 when a table's counts differ."""
    from aragora_storage_core.copy import copy_backend
    from aragora_storage_core.errors import ConfigurationError

    if args.batch_size < 1:
        raise ConfigurationError("--batch-size must be at least 1", "e.g. --batch-size 1000")
    registry = registry_for(args)
    source = registry.connect(args.source, "--from")
    try:
        target = registry.connect(args.target, "--to")
        try:
            report = copy_backend(registry.hook, source, target, batch_size=args.batch_size,
                                  resume=args.resume, overwrite=args.overwrite)
            print(f"copied {source.url} -> {target.url}")
        except KeyboardInterrupt:
            print("interrupted: the rows copied so far are kept in the target\n"
                  "hint: run the same copy again with --resume to finish it"
                  " (nothing is duplicated)",
                  file=sys.stderr)
            return INTERRUPTED
        finally:
            target.close()
    finally:
        source.close()
        registry.close()
    for table in report.tables:
        state = "ok" if table.ok else "COUNT MISMATCH"
        print(f"  {table.table:<24} {table.source_rows:>10} -> {table.target_rows:>10}  {state}")
    for name, reason in report.skipped:
        print(f"  {name:<24} skipped: {reason}")
    copied = sum(t.written for t in report.tables)
    if not report.ok:
        bad = sum(1 for t in report.tables if not t.ok)
        print(f"{bad} tables have different row counts in source and target")
        return 1
    print(f"copied {copied} rows in {len(report.tables)} tables; counts match")
    return 0
