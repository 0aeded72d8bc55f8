"""The entry points of installed distributions, found without ``importlib.metadata``.

``importlib.metadata`` imports the ``email`` package (and ``zipfile``, ``shutil``, ...)
and parses every distribution's ``METADATA`` with it: 25-40 ms before the first store
call of every process. The plugins need much less: the ``entry_points.txt`` of each
``*.dist-info`` / ``*.egg-info`` directory on ``sys.path`` (what ``pip`` writes, editable
installs included), the first distribution of a name winning as in ``importlib.metadata``,
and the name and version from the head of ``METADATA`` for the few that declare ours.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

_SUFFIXES = (".dist-info", ".egg-info")
#: The group whose entries name folders of migrations
#: (:mod:`aragora_storage_core.migrations.files`); a registry reads it with the plugins.
MIGRATIONS_GROUP = "aragora_storage.migrations"
_SEPARATORS = re.compile(r"[-_.]+")


class EntryPoint(NamedTuple):
    """One entry point: its group, name, ``module:attr`` value and distribution."""

    group: str
    name: str
    value: str
    distribution: str | None
    version: str | None


def find(groups: Iterable[str], path: Iterable[str] | None = None) -> list[EntryPoint]:
    """Entry points of ``groups`` declared by the distributions on ``path`` (``sys.path``)."""
    wanted = frozenset(groups)
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for entry in sys.path if path is None else path:
        for info in _metadata_dirs(entry or "."):
            stem = os.path.basename(info).rsplit(".", 1)[0]  # name-version
            key = _SEPARATORS.sub("_", stem.partition("-")[0]).lower()
            if key in seen:
                continue
            seen.add(key)
            declared = _declared(info, wanted)
            if declared:
                name, version = _name_and_version(info)
                found.extend(EntryPoint(group, ep_name, value, name, version)
                             for group, ep_name, value in declared)
    return found


def load(value: str) -> Any:
    """The object an entry point's ``module:attr.attr`` value names (the module imported)."""
    module_name, _, attr = value.partition(":")
    target: Any = importlib.import_module(module_name.strip())
    for part in filter(None, attr.strip().split(".")):
        target = getattr(target, part)
    return target


def _metadata_dirs(entry: str) -> list[str]:
    """The ``*.dist-info`` and ``*.egg-info`` directories directly in ``entry``."""
    try:
        names = os.listdir(entry)
    except OSError:  # a zip file, a missing directory: no plugin can live there
        return []
    return [os.path.join(entry, name) for name in names if name.endswith(_SUFFIXES)]


def _declared(info: str, groups: frozenset[str]) -> list[tuple[str, str, str]]:
    """``(group, name, value)`` of the entry points in ``groups`` that ``info`` declares."""
    try:  # bytes, decoded here: no text layer for the many files that declare none of ours
        with open(os.path.join(info, "entry_points.txt"), "rb") as file:
            text = file.read().decode("utf-8")
    except OSError:
        return []
    if not any(f"[{group}]" in text for group in groups):
        return []
    declared: list[tuple[str, str, str]] = []
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
        elif group in groups and "=" in line:
            name, _, value = line.partition("=")
            declared.append((group, name.strip(), value.strip()))
    return declared


def _name_and_version(info: str) -> tuple[str | None, str | None]:
    """``Name`` and ``Version`` from the header of ``METADATA`` (or ``PKG-INFO``)."""
    fields: dict[str, str] = {}
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, filename), encoding="utf-8") as file:
                for line in file:
                    if not line.strip():
                        break  # the header ends at the first blank line
                    key, _, value = line.partition(":")
                    if key in ("Name", "Version"):
                        fields.setdefault(key, value.strip())
        except OSError:
            continue
        break
    return fields.get("Name"), fields.get("Version")
