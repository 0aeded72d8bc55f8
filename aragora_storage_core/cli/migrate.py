"""``aragora-storage migrate``: status, dry run, apply, create and downgrade migrations."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from aragora_storage_core.cli.common import confirm, open_backend, print_json, registry_for
from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.types import (
    MigrationAction,
    MigrationReport,
    MigrationRequest,
)

#: Actions also run on the Redis backend that REDIS_URL puts beside the primary one.
BESIDE_ACTIONS = (MigrationAction.STATUS, MigrationAction.DRY_RUN, MigrationAction.MIGRATE)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The seed's flags, shared with ``python -m aragora_storage_core.migrations.runner``."""
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="show applied and pending (default)")
    action.add_argument("--dry-run", action="store_true", help="show what --migrate would run")
    action.add_argument("--migrate", action="store_true", help="apply pending migrations")
    action.add_argument("--create", metavar="DESC", help="write a new migration file for --db")
    action.add_argument("--to", type=int, metavar="VERSION",
                        help="migrate or downgrade --db to VERSION")
    action.add_argument("--repair", action="store_true",
                        help="record the current checksum of applied files of --db that were "
                             "edited on purpose (asks first)")
    action.add_argument("--baseline", action="store_true",
                        help="adopt tables made without version records: record the versions "
                             "they match, change no table")
    action.add_argument("--rollback", action="store_true",
                        help="reverse the newest applied migration of --db")
    action.add_argument("--rollback-to", type=int, metavar="N",
                        help="reverse the migrations of --db above version N")
    parser.add_argument("--db", metavar="NAME", help="only this logical database (e.g. users)")
    parser.add_argument("--dir", type=Path,
                        help="folder for --create (one of ARAGORA_MIGRATIONS_PATH)")
    parser.add_argument("--nomic-dir", type=Path, metavar="DIR",
                        help="data directory (as ARAGORA_DATA_DIR)")
    parser.add_argument("--no-backup", action="store_true",
                        help="skip the backup taken before migrating or rolling back")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list every applied migration of each database")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--yes", action="store_true",
                        help="confirm --repair without asking (needed when not on a terminal)")


def register(sub: Any) -> None:
    """Add the ``migrate`` subcommand."""
    parser = sub.add_parser("migrate", help="schema migrations of the active backend")
    add_arguments(parser)
    parser.set_defaults(run=run)


def request_from(args: argparse.Namespace, current: int | None = None) -> MigrationRequest:
    """The migration request the flags ask for."""
    if args.create is not None:
        return MigrationRequest(MigrationAction.CREATE, db=args.db, description=args.create,
                                directory=args.dir)
    target = _target(args, current)
    if target is not None:
        action = MigrationAction.MIGRATE if current is None or target >= current \
            else MigrationAction.DOWNGRADE
        return MigrationRequest(action, db=args.db, target=target)
    if args.baseline:
        return MigrationRequest(MigrationAction.BASELINE, db=args.db)
    if args.repair:
        return MigrationRequest(MigrationAction.REPAIR, db=args.db)
    if args.migrate:
        return MigrationRequest(MigrationAction.MIGRATE, db=args.db)
    if args.dry_run:
        return MigrationRequest(MigrationAction.DRY_RUN, db=args.db)
    return MigrationRequest(MigrationAction.STATUS, db=args.db)


def _target(args: argparse.Namespace, current: int | None) -> int | None:
    """The version ``--to``, ``--rollback-to`` or ``--rollback`` asks for (needs ``--db``)."""
    flag = "--to" if args.to is not None else "--rollback-to" \
        if args.rollback_to is not None else "--rollback" if args.rollback else None
    if flag is None:
        return None
    if not args.db:
        raise MigrationError(f"{flag} needs --db NAME", f"e.g. {flag} --db users")
    if args.rollback:
        return max((current or 0) - 1, 0)
    wanted: int = args.to if args.to is not None else args.rollback_to
    if flag == "--rollback-to" and current is not None and wanted > current:
        raise MigrationError(f"--rollback-to {wanted} is above the current version {current}",
                             "use --to VERSION (or --migrate) to upgrade")
    return wanted


def run(args: argparse.Namespace) -> int:
    """Run the request through the ``storage_migrate`` hook and print the report."""
    registry = registry_for(args)
    if args.nomic_dir is not None:  # the seed runner's flag: this data directory
        from aragora_storage_core.registry import Registry
        from aragora_storage_core.settings import Settings

        registry = Registry(Settings.from_env(
            {**os.environ, "ARAGORA_DATA_DIR": str(args.nomic_dir)}))
    try:
        backend = open_backend(args, registry)
        current = None
        if args.db and (args.to is not None or args.rollback or args.rollback_to is not None):
            status = _call(registry, backend, MigrationRequest(MigrationAction.STATUS, args.db))
            current = status.databases[0].version if status.databases else 0
        request = request_from(args, current)
        if request.action is MigrationAction.REPAIR:
            _confirm_repair(args, registry, backend)
        if request.action in (MigrationAction.MIGRATE, MigrationAction.DOWNGRADE) \
                and not args.no_backup:
            _backup_first(registry, backend, request)
        report = _call(registry, backend, request)
        report.databases.extend(_beside(args, registry, backend, request))
    finally:
        registry.close()
    if args.json:
        print_json(report.to_dict())
    else:
        print_report(report, args.verbose)
    changed = any(d.changed for d in report.databases)
    return 1 if changed else 0


def _confirm_repair(args: argparse.Namespace, registry: Any, backend: Any) -> None:
    """Show what ``--repair`` would record and ask the user to confirm the edits."""
    if not args.db:
        raise MigrationError("--repair needs --db NAME", "e.g. --repair --db users")
    status = _call(registry, backend, MigrationRequest(MigrationAction.STATUS, args.db))
    changed = [(s, m) for s in status.databases for m in s.changed]
    if not changed:
        return
    for database, migration in changed:
        print(database.describe_change(migration))
    confirm(f"were these edits intended, and should {len(changed)} checksum(s) be recorded "
            "as they are now?", args.yes)


def _beside(args: argparse.Namespace, registry: Any, primary: Any,
            request: MigrationRequest) -> list[Any]:
    """Status, dry run or migration of the backends beside the primary: the Redis keyspace
    (REDIS_URL) and the Supabase project (SUPABASE_URL beside a chosen primary)."""
    if getattr(args, "url", None) or request.action not in BESIDE_ACTIONS:
        return []
    databases: list[Any] = []
    redis, supabase = registry.redis(), registry.supabase()
    for beside in (redis, supabase):
        if beside is not None and beside.url != primary.url:
            databases += _call(registry, beside, request).databases
    if redis is not None and redis.url != primary.url \
            and request.action is MigrationAction.MIGRATE:
        from aragora_storage_core.beside import record_marker

        note = record_marker(primary, redis)
        if note:
            print(f"warning: {note}", file=sys.stderr)
    return databases


def _call(registry: Any, backend: Any, request: MigrationRequest) -> MigrationReport:
    report: MigrationReport | None = registry.hook.storage_migrate(backend=backend,
                                                                   request=request)
    if report is None:
        raise MigrationError(f"backend {backend.name} has no migrations support",
                             "upgrade its plugin")
    return report


def _backup_first(registry: Any, backend: Any, request: MigrationRequest) -> None:
    """Back the backend up before migrations change it (only when something would run)."""
    from aragora_storage_core.backup.create import create_backup

    status = _call(registry, backend, MigrationRequest(MigrationAction.STATUS, request.db))
    if request.action is MigrationAction.MIGRATE and not status.pending_count:
        return
    if not any(d.applied or d.unversioned for d in status.databases):
        return  # nothing exists yet: nothing to lose
    directory, _ = create_backup(registry.hook, backend)
    print(f"backup before migrating: {directory} (skip with --no-backup)")


def print_report(report: MigrationReport, verbose: bool = False) -> None:
    """Human-readable report, one line per database (``verbose``: and its applied files)."""
    if report.created is not None:
        print(f"created {report.created}")
        return
    verb = {"dry_run": "would apply", "migrate": "applied", "downgrade": "reversed",
            "repair": "recorded the current checksum of", "baseline": "adopted"}
    for status in report.databases:
        line = f"{status.db:<18} version {status.version:>3}  ({status.location})"
        if status.pending and report.action is not MigrationAction.MIGRATE:
            names = ", ".join(f"{m.version:03d}_{m.name}" for m in status.pending)
            line += f"  pending: {names}"
        if status.ran:
            line += f"  {verb.get(report.action.value, 'ran')}: {', '.join(status.ran)}"
        if status.changed:
            names = ", ".join(m.path.name for m in status.changed)
            line += f"  CHANGED AFTER APPLY: {names}"
        if status.unversioned:
            line += (f"  UNVERSIONED TABLES: {', '.join(status.unversioned)}"
                     f" (adopt: --baseline --db {status.db})")
        print(line)
        if verbose:
            for applied in status.applied:
                print(f"    {applied.version:03d}_{applied.name}  {applied.applied_at}")
