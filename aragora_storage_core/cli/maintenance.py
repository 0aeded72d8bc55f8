"""``aragora-storage maintenance``: audit retention, usage aggregation, expiry cleanup."""

from __future__ import annotations

import argparse
from typing import Any

from aragora_storage_core.cli.common import print_json, registry_for


def register(sub: Any) -> None:
    """Add the ``maintenance`` subcommand."""
    parser = sub.add_parser("maintenance",
                            help="apply audit retention, aggregate usage, drop expired rows")
    parser.add_argument("--audit-days", type=int, metavar="N",
                        help="keep N days of audit log (default ARAGORA_AUDIT_RETENTION_DAYS)")
    parser.add_argument("--usage-days", type=int, metavar="N",
                        help="keep N days of raw usage events (default "
                             "ARAGORA_USAGE_RETENTION_DAYS)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.add_argument("--dry-run", action="store_true",
                        help="count what would be pruned and aggregated, per table; change nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run every maintenance task on the active backend (or ``--url``) and print counts."""
    from aragora_storage_core.errors import ConfigurationError
    from aragora_storage_core.maintenance import run_maintenance
    from aragora_storage_core.settings import MAX_RETENTION_DAYS

    for flag, value in (("--audit-days", args.audit_days), ("--usage-days", args.usage_days)):
        if value is not None and not 1 <= value <= MAX_RETENTION_DAYS:
            raise ConfigurationError(f"{flag} must be from 1 to {MAX_RETENTION_DAYS}",
                                     f"e.g. {flag} 90")
    registry = registry_for(args)
    backend = registry.connect(args.url) if args.url else None
    try:
        results = run_maintenance(backend.store if backend else registry.store,
                                  args.audit_days, args.usage_days, dry_run=args.dry_run)
    finally:
        if backend is not None:
            backend.close()
        registry.close()
    if args.json:
        print_json({r.task.kind.value: r.count for r in results})
        return 0
    for result in results:
        count = "skipped (store not served)" if result.count is None else str(result.count)
        what = result.task.preview if args.dry_run else result.task.description
        print(f"{result.task.kind.value:<16} {count:>8}  {what}")
    if args.dry_run:
        print("dry run: nothing was changed")
    return 0
