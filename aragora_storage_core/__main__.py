"""``python -m aragora_storage_core`` runs the ``aragora-storage`` command."""

import sys

from aragora_storage_core.cli import main

sys.exit(main())
