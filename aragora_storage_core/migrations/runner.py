"""``python -m aragora_storage_core.migrations.runner``: the seed's migration runner."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aragora_storage_core.cli import run_seed_entry


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the seed's flags and run them as ``aragora-storage migrate`` would."""
    return run_seed_entry("migrate", "python -m aragora_storage_core.migrations.runner", argv,
                          url_flag=True)


if __name__ == "__main__":
    sys.exit(main())
