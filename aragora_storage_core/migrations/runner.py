"""``python -m aragora_storage_core.migrations.runner``: the seed's migration runner."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aragora_storage_core.cli import run_parsed
from aragora_storage_core.cli.migrate import add_arguments, run
from aragora_storage_core.cli.parser import StrictParser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the seed's flags and run them as ``aragora-storage migrate`` would."""
    parser = StrictParser(prog="python -m aragora_storage_core.migrations.runner")
    parser.add_argument("--url", help="database URL (overrides DATABASE_URL and friends)")
    add_arguments(parser)
    parser.set_defaults(run=run)
    return run_parsed(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
