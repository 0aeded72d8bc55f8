"""``python -m aragora_storage_core.migrations.consolidate``: the seed's consolidation entry.

The same flags as ``aragora-storage consolidate``: ``--dry-run | --migrate | --verify
[--source DIR] [--target DIR] [--no-backup]``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aragora_storage_core.cli import run_seed_entry


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the seed's flags and run them as ``aragora-storage consolidate`` would."""
    return run_seed_entry("consolidate", "python -m aragora_storage_core.migrations.consolidate",
                          argv, url_flag=False)


if __name__ == "__main__":
    sys.exit(main())
