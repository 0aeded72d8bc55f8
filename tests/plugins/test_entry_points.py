"""Entry points read from ``*.dist-info`` / ``*.egg-info`` agree with ``importlib.metadata``."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from aragora_storage_core import entry_points

GROUPS = ("aragora_storage.backends", "aragora_storage.plugins")


def _write(root: Path, folder: str, metadata_file: str, name: str, text: str) -> None:
    info = root / folder
    info.mkdir(parents=True)
    (info / metadata_file).write_text(f"Metadata-Version: 2.1\nName: {name}\n"
                                      f"Version: 1.{len(folder)}\n\nName: not-the-header\n")
    (info / "entry_points.txt").write_text(text)


def test_same_entry_points_as_importlib_metadata_for_this_environment() -> None:
    ours = {(e.group, e.name, e.value, e.distribution, e.version)
            for e in entry_points.find(GROUPS)}
    theirs = {(g, e.name, e.value, e.dist.metadata["Name"] if e.dist else None,
               e.dist.version if e.dist else None)
              for g in GROUPS for e in importlib.metadata.entry_points(group=g)}
    assert ours == theirs
    assert ("aragora_storage.backends", "sqlite", "aragora_storage_sqlite", "aragora-storage",
            "0.1.0") in ours


def test_first_distribution_of_a_name_wins_and_other_groups_are_ignored(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _write(first, "my_plugin-2.0.dist-info", "METADATA", "My-Plugin",
           "# comment\n[console_scripts]\nx = y:z\n[aragora_storage.plugins]\nmemo = memo_mod\n")
    _write(second, "my.plugin-1.0.dist-info", "METADATA", "my.plugin",
           "[aragora_storage.plugins]\nold = old_mod\n")
    _write(second, "legacy.egg-info", "PKG-INFO", "legacy",
           "[aragora_storage.backends]\nlegacy = legacy_mod:Backend\n")
    found = entry_points.find(GROUPS, [str(first), str(second), str(tmp_path / "missing")])
    assert found == [
        entry_points.EntryPoint("aragora_storage.plugins", "memo", "memo_mod", "My-Plugin",
                                "1.23"),
        entry_points.EntryPoint("aragora_storage.backends", "legacy", "legacy_mod:Backend",
                                "legacy", "1.15"),
    ]
