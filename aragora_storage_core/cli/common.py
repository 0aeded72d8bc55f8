"""What several commands share: the registry for ``--url``, JSON output, the backend."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.errors import ConfigurationError, StorageError
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


def confirm(question: str, assume_yes: bool, flag: str = "--yes") -> None:
    """Ask ``question`` on the terminal; raise unless the user answers yes.

    ``assume_yes`` (the ``--yes`` flag) answers for the user. Without a terminal to ask
    on, and without ``--yes``, nothing is done: a script must say so explicitly.
    """
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise ConfigurationError(f"{question.rstrip('?')}: not confirmed (no terminal to ask on)",
                                 f"run it on a terminal, or add {flag} to confirm")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise StorageError("not confirmed; nothing was changed", f"answer y, or pass {flag}")
