"""``aragora-storage plugins``: every plugin with its version, status and hooks."""

from __future__ import annotations

import argparse
from typing import Any

from aragora_storage_core.cli.common import print_json, registry_for


def register(sub: Any) -> None:
    """Add the ``plugins`` subcommand."""
    parser = sub.add_parser("plugins", help="list installed plugins and backends")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load every plugin in isolation and list what happened to each."""
    registry = registry_for(args)
    records = registry.plugins()
    backends = registry.backends()
    if args.json:
        print_json({
            "plugins": [r.to_dict() for r in records],
            "backends": [b.to_dict() for b in backends],
        })
        return 0
    for record in records:
        kind = "backend" if record.group.endswith("backends") else "extension"
        print(f"{record.name:<12} {kind:<9} {record.distribution or '?'} "
              f"{record.version or ''}  {record.status}"
              + (f"  ({record.error})" if record.error else ""))
        if record.hooks:
            print(f"{'':<12} hooks: {', '.join(record.hooks)}")
    for backend in backends:
        if backend.stores:
            print(f"{backend.name}: serves {', '.join(backend.stores)}")
    return 0
