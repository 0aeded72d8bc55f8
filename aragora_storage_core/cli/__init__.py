"""``aragora-storage``: one subcommand per module of this package.

Each command module defines ``register(subparsers) -> None`` and ``run(args) -> int``.
Modules import their heavy dependencies inside ``run`` so ``--help`` stays fast.
:class:`~aragora_storage_core.errors.StorageError` becomes one line on stderr and exit
code 1 (2 for configuration and usage errors); nothing else is printed. Ctrl-C at any
moment (even while the modules are still being imported) prints one line and exits 130.
This module imports almost nothing at the top, so it is listening for Ctrl-C early.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

TYPE_CHECKING = False  # ``typing.TYPE_CHECKING`` without importing typing (mypy agrees)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from sys import UnraisableHookArgs
    from types import FrameType

    from aragora_storage_core.errors import StorageError

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
EXIT_INTERRUPTED = 130
code_for_broken_pipe = 141


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from aragora_storage_core import __version__
    from aragora_storage_core.cli.parser import StrictParser

    parser = StrictParser(
        prog="aragora-storage",
        description="One storage layer for SQLite, PostgreSQL, Supabase and Redis.",
    )
    parser.add_argument("--version", action="version", version=f"aragora-storage {__version__}")
    parser.add_argument("--url", help="database URL (overrides DATABASE_URL and friends)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"aragora_storage_core.cli.{name}")
        module.register(sub)
    return parser


def fail(error: StorageError) -> int:
    """Print ``error`` as one line (plus its hint) on stderr; return its exit code."""
    from aragora_storage_core.errors import ConfigurationError

    print(f"error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hint: {error.hint}", file=sys.stderr)
    return EXIT_USAGE if isinstance(error, ConfigurationError) else EXIT_FINDINGS


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aragora-storage`` command."""
    return guarded(lambda: run_parsed(build_parser().parse_args(argv)))


def run_seed_entry(command: str, prog: str, argv: Sequence[str] | None, *,
                   url_flag: bool) -> int:
    """Run the flags of ``aragora-storage COMMAND`` as the seed's ``python -m PROG`` entry.

    The command's module is imported here, inside the Ctrl-C guard, not when the entry
    module is: Ctrl-C during those imports is one line too.
    """
    def start() -> int:
        from aragora_storage_core.cli.parser import StrictParser

        module = importlib.import_module(f"aragora_storage_core.cli.{command}")
        parser = StrictParser(prog=prog)
        if url_flag:
            parser.add_argument("--url", help="database URL (overrides DATABASE_URL and friends)")
        module.add_arguments(parser)
        parser.set_defaults(run=module.run)
        return run_parsed(parser.parse_args(argv))

    return guarded(start)


def guarded(start: Callable[[], int]) -> int:
    """``start()``, with Ctrl-C reported by :func:`interrupted` however it surfaced.

    Python may wrap the ``KeyboardInterrupt`` of a Ctrl-C that lands inside library code
    (e.g. ``RuntimeError('Error calling __set_name__ ...')`` while ``dataclasses`` builds a
    class during a lazy import): any exception with one in its cause or context chain is
    the interrupt. One that lands where Python cannot raise it (a weakref callback of the
    import system, a ``__del__``) would be printed as "Exception ignored"; instead it is
    remembered, and reported as the interrupt when ``start()`` returns (Python offers no
    point to raise it from in between: a signal re-sent from the hook lands in the hook).
    """
    previous = sys.unraisablehook
    swallowed: list[BaseException] = []

    def remember(unraisable: UnraisableHookArgs) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            swallowed.append(unraisable.exc_value)
        else:
            previous(unraisable)

    sys.unraisablehook = remember
    try:
        code = start()
    except BaseException as error:
        if caused_by_interrupt(error):
            return interrupted()
        raise
    finally:
        sys.unraisablehook = previous
    return interrupted() if swallowed else code


def caused_by_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is a ``KeyboardInterrupt`` or was raised while handling one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def interrupted() -> int:
    """Report Ctrl-C in one line; a second Ctrl-C while shutting down exits at once, quietly."""
    signal.signal(signal.SIGINT, _exit_now)
    print("interrupted; nothing partial was kept", file=sys.stderr)
    return EXIT_INTERRUPTED


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os._exit(EXIT_INTERRUPTED)


def run_parsed(args: argparse.Namespace) -> int:
    """Run ``args.run(args)``: errors as one line, a closed pipe quietly; Ctrl-C goes on
    to the entry point's :func:`guarded`."""
    try:
        code: int = args.run(args)
    except Exception as error:
        if caused_by_interrupt(error):
            raise  # reported once, by the entry point's guard (see guarded)
        return _failed(error)
    return code


def _failed(error: Exception) -> int:
    """Report an error of a command: one line, never its possibly secret text."""
    from aragora_storage_core.errors import StorageError

    if isinstance(error, StorageError):
        return fail(error)
    if isinstance(error, BrokenPipeError):
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stdout
        return code_for_broken_pipe
    from aragora_storage_core.causes import root_cause

    cause = root_cause(error)  # a full disk, a read-only place: named, not "unexpected"
    if cause is not None:
        return fail(cause)
    # A bug, or a driver error nobody translated: its text may quote a password or a
    # key, so by default only its type is shown.
    if os.environ.get("ARAGORA_STORAGE_DEBUG"):
        raise error
    print(f"error: unexpected {type(error).__name__} (its text is not shown: it may quote"
          " a secret)", file=sys.stderr)
    print("hint: run again with ARAGORA_STORAGE_DEBUG=1 to see the traceback, and report it",
          file=sys.stderr)
    return EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())
