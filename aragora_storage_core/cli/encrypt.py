"""``aragora-storage encrypt status|encrypt|rekey|decrypt|rotate-columns``.

Database actions go through the ``storage_encrypt`` hook of the active backend; column
rotation works on any SQL backend. Keys come from the environment, key files or a
key-provider plugin, never from the command line (where ``ps`` would show them).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from aragora_storage_core.cli.common import open_backend, print_json, registry_for

NEW_KEY_VARIABLE = "ARAGORA_SQLITE_NEW_KEY"


def register(sub: Any) -> None:
    """Add the ``encrypt`` subcommand and its actions."""
    parser = sub.add_parser("encrypt", help="encryption at rest: SQLCipher files, column keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="which database files are encrypted")
    actions.add_parser("encrypt", help="encrypt plain SQLite files in place (stop writers)")
    rekey = actions.add_parser("rekey", help="change the SQLCipher key (stop writers)")
    rekey.add_argument("--new-key-file", type=Path, metavar="PATH",
                       help=f"file holding the new key (or set {NEW_KEY_VARIABLE})")
    decrypt = actions.add_parser("decrypt", help="write plain copies for export")
    decrypt.add_argument("--to", type=Path, required=True, metavar="DIR",
                         help="directory for the plain copies (must not hold them yet)")
    rotate = actions.add_parser(
        "rotate-columns", help="re-encrypt sensitive columns with the first key of "
        "ARAGORA_ENCRYPTION_KEY (resumable)")
    rotate.add_argument("--batch-size", type=int, default=500, metavar="N",
                        help="rows per transaction (default 500)")
    for action in (status, rotate):
        action.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _new_key(args: argparse.Namespace) -> str:
    from aragora_storage_core.encryption.keys import KeySlot, read_key_file
    from aragora_storage_core.errors import ConfigurationError

    from_env = os.environ.get(NEW_KEY_VARIABLE, "")
    if args.new_key_file is not None and from_env:
        raise ConfigurationError(f"both --new-key-file and {NEW_KEY_VARIABLE} are set",
                                 "use one of them")
    if args.new_key_file is not None:
        return read_key_file(args.new_key_file,
                             KeySlot("new sqlite", NEW_KEY_VARIABLE, "--new-key-file"))
    if not from_env:
        raise ConfigurationError("rekey needs the new key",
                                 f"pass --new-key-file PATH (mode 0600) or set {NEW_KEY_VARIABLE}")
    return from_env


def run(args: argparse.Namespace) -> int:
    """Run one encryption action; 1 when rotation leaves values unreadable by the new key."""
    registry = registry_for(args)
    backend = open_backend(args, registry)
    try:
        if args.action == "rotate-columns":
            return _rotate(backend, args.batch_size, args.json)
        return _files(registry, backend, args)
    finally:
        backend.close()
        registry.close()


def _files(registry: Any, backend: Any, args: argparse.Namespace) -> int:
    from aragora_storage_core.encryption.types import EncryptionAction, EncryptionRequest
    from aragora_storage_core.errors import EncryptionUnavailableError
    from aragora_storage_core.progress import Progress

    action = EncryptionAction(args.action)
    progress = None if action is EncryptionAction.STATUS else Progress(action.value)
    request = EncryptionRequest(
        action,
        new_key=_new_key(args) if action is EncryptionAction.REKEY else None,
        directory=getattr(args, "to", None),
        progress=progress,
    )
    status = registry.hook.storage_encrypt(backend=backend, request=request)
    if progress is not None:
        progress.close()
    if status is None:
        raise EncryptionUnavailableError(
            f"the {backend.name} backend has no encryption at rest of its own",
            "use the server's encryption (and TLS); columns: aragora-storage encrypt "
            "rotate-columns")
    if getattr(args, "json", False):
        print_json(status.to_dict())
        return 0
    if not status.encrypted:
        print("no database files yet")
    for label, encrypted in sorted(status.encrypted.items()):
        print(f"{label}: {'encrypted' if encrypted else 'plain'}")
    if action is not EncryptionAction.STATUS:
        done = ", ".join(status.changed) or "nothing to do"
        print(f"{action.value}: {len(status.changed)} file(s): {done}")
    if action is EncryptionAction.REKEY and status.changed:
        print("now set ARAGORA_SQLITE_KEY (or its file) to the new key")
    for path in status.written:
        print(f"wrote plain copy {path} (delete it after use)")
    return 0


def _rotate(backend: Any, batch_size: int, as_json: bool) -> int:
    from aragora_storage_core.backend import SQLBackend
    from aragora_storage_core.encryption.rotation import rotate_columns
    from aragora_storage_core.errors import ConfigurationError
    from aragora_storage_core.progress import Progress

    if batch_size < 1:
        raise ConfigurationError("--batch-size must be at least 1", "e.g. --batch-size 500")
    if not isinstance(backend, SQLBackend):
        raise ConfigurationError(f"the {backend.name} backend stores no sensitive columns",
                                 "run rotate-columns against the SQL backend")
    progress = Progress("rotate-columns")
    try:
        report = rotate_columns(backend, batch_size, progress)
    finally:
        progress.close()
    if as_json:
        print_json(report.to_dict())
    else:
        for name, count in sorted(report.resealed.items()):
            print(f"{name}: re-encrypted {count} value(s); "
                  f"{report.remaining[name]} not on key {report.key_id}")
        if report.complete:
            print(f"every value opens with key {report.key_id} alone; "
                  "older keys can be removed from ARAGORA_ENCRYPTION_KEY")
    return 0 if report.complete else 1
