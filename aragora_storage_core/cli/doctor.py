"""``aragora-storage doctor``: what is configured, and what is wrong."""

from __future__ import annotations

import argparse
from typing import Any

from aragora_storage_core.checks import Level
from aragora_storage_core.cli.common import print_json

LEVELS = {"info": Level.INFO, "warning": Level.WARNING, "error": Level.ERROR}


def register(sub: Any) -> None:
    """Add the ``doctor`` subcommand."""
    parser = sub.add_parser("doctor", help="check settings, backends, schema and files")
    parser.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    parser.add_argument("--fail-level", choices=sorted(LEVELS), default="error",
                        help="exit 1 when a finding is at or above this level")
    parser.add_argument("-v", "--verbose", action="store_true", help="show INFO findings too")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Diagnose and print; exit 1 when a finding reaches the fail level."""
    from aragora_storage_core.doctor import diagnose

    diagnosis = diagnose(url=args.url)
    if args.json:
        print_json(diagnosis.to_dict())
    else:
        _print(diagnosis, args.verbose)
    return 1 if diagnosis.worst() >= LEVELS[args.fail_level] else 0


def _print(diagnosis: Any, verbose: bool) -> None:
    selection = diagnosis.selection
    if selection is not None:
        print(f"backend:  {selection.scheme}  (chosen by {selection.source}: {selection.reason})")
        print(f"url:      {selection.url}")
        print(f"redis:    {selection.redis_url or 'not configured'}")
        if selection.supabase_url is not None:
            print(f"supabase: {selection.supabase_url} (beside the primary)")
    if diagnosis.backend:
        facts = ", ".join(f"{k}={v}" for k, v in diagnosis.backend.items()
                          if k not in ("backend", "url"))
        if facts:
            print(f"details:  {facts}")
    if diagnosis.routing:
        by_backend: dict[str, list[str]] = {}
        for store, backend in diagnosis.routing.items():
            by_backend.setdefault(backend, []).append(store)
        for backend, stores in sorted(by_backend.items()):
            print(f"stores:   {backend}: {', '.join(stores)}")
    seen: dict[str, list[str]] = {}
    for plugin in diagnosis.plugins:
        version = f" {plugin['version']}" if plugin["version"] else ""
        key = f"({plugin['distribution']}{version}) {plugin['status']}"
        seen.setdefault(key, []).append(plugin["name"])
    for key, names in seen.items():
        print(f"plugin:   {', '.join(names)} {key}")
    shown = [f for f in diagnosis.findings if verbose or f.level >= Level.WARNING]
    for finding in shown:
        print(finding.line())
    counts = {lvl: sum(f.level == lvl for f in diagnosis.findings)
              for lvl in (Level.ERROR, Level.WARNING)}
    print(f"summary:  {counts[Level.ERROR]} error(s), {counts[Level.WARNING]} warning(s)")
