"""What several commands share: the registry for ``--url``, JSON output, the backend."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry


def registry_for(args: argparse.Namespace) -> Registry:
    """A registry built from the environment."""
    return Registry()


def open_backend(args: argparse.Namespace, registry: Registry) -> Backend:
    """The backend named by ``--url`` or selected by the environment."""
    url = getattr(args, "url", None)
    if url:
        return registry.connect(url)
    return registry.active()


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
