"""``python -m aragora_storage_core.migrations.runner``: the seed's migration runner."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aragora_storage_core.cli import fail
from aragora_storage_core.cli.migrate import add_arguments, run
from aragora_storage_core.errors import StorageError


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the seed's flags and run them as ``aragora-storage migrate`` would."""
    parser = argparse.ArgumentParser(prog="python -m aragora_storage_core.migrations.runner")
    parser.add_argument("--url", help="database URL (overrides DATABASE_URL and friends)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except StorageError as error:
        return fail(error)


if __name__ == "__main__":
    sys.exit(main())
