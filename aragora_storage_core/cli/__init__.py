"""``aragora-storage``: one subcommand per module of this package.

Each command module defines ``register(subparsers) -> None`` and ``run(args) -> int``.
Modules import their heavy dependencies inside ``run`` so ``--help`` stays fast.
:class:`~aragora_storage_core.errors.StorageError` becomes one line on stderr and exit
code 1 (2 for configuration and usage errors); nothing else is printed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from aragora_storage_core.errors import ConfigurationError, StorageError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "doctor",
    "plugins",
    "migrate",
    "cleanup",
    "backup",
    "consolidate",
    "maintenance",
    "copy",
    "encrypt",
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
code_for_broken_pipe = 141


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="aragora-storage",
        description="One storage layer for SQLite, PostgreSQL, Supabase and Redis.",
    )
    parser.add_argument("--url", help="database URL (overrides DATABASE_URL and friends)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"aragora_storage_core.cli.{name}")
        module.register(sub)
    return parser


def fail(error: StorageError) -> int:
    """Print ``error`` as one line (plus its hint) on stderr; return its exit code."""
    print(f"error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hint: {error.hint}", file=sys.stderr)
    return EXIT_USAGE if isinstance(error, ConfigurationError) else EXIT_FINDINGS


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aragora-storage`` command."""
    return run_parsed(build_parser().parse_args(argv))


def run_parsed(args: argparse.Namespace) -> int:
    """Run ``args.run(args)``: errors as one line, Ctrl-C as 130, a closed pipe quietly."""
    try:
        code: int = args.run(args)
    except StorageError as error:
        return fail(error)
    except KeyboardInterrupt:
        print("interrupted; nothing partial was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stdout
        return code_for_broken_pipe
    except Exception as error:
        # A bug, or a driver error nobody translated: its text may quote a password or a
        # key, so by default only its type is shown.
        if os.environ.get("ARAGORA_STORAGE_DEBUG"):
            raise
        print(f"error: unexpected {type(error).__name__} (its text is not shown: it may quote"
              " a secret)", file=sys.stderr)
        print("hint: run again with ARAGORA_STORAGE_DEBUG=1 to see the traceback, and report it",
              file=sys.stderr)
        return EXIT_FINDINGS
    return code


if __name__ == "__main__":
    sys.exit(main())
