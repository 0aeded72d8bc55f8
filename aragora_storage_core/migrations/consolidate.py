"""``python -m aragora_storage_core.migrations.consolidate``: the seed's consolidation entry.

The same flags as ``aragora-storage consolidate``: ``--dry-run | --migrate | --verify
[--source DIR] [--target DIR] [--no-backup]``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aragora_storage_core.cli import run_parsed
from aragora_storage_core.cli.consolidate import add_arguments, run
from aragora_storage_core.cli.parser import StrictParser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the seed's flags and run them as ``aragora-storage consolidate`` would."""
    parser = StrictParser(prog="python -m aragora_storage_core.migrations.consolidate")
    add_arguments(parser)
    parser.set_defaults(run=run)
    return run_parsed(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
