"""Plugins and installed applications add migration folders through the entry-point group
``aragora_storage.migrations``; the same search path as ``ARAGORA_MIGRATIONS_PATH``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.migrations.files import ENTRY_POINT_GROUP, search_path
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings
from tests.fixtures.fake_site import FakeSite


def folder_with_migration(root: Path) -> Path:
    (root / "users").mkdir(parents=True)
    (root / "users" / "004_plugin_column.sql").write_text(
        "ALTER TABLE users ADD COLUMN plugin_note TEXT;\n", encoding="utf-8")
    return root


def test_an_entry_point_folder_is_on_the_search_path_and_its_migrations_apply(
        fake_site: FakeSite, tmp_path: Path) -> None:
    folder = folder_with_migration(tmp_path / "shipped")
    fake_site.install("myapp-migrations", "1.0", {ENTRY_POINT_GROUP: {
        "myapp": "myapp_migs:FOLDER"}}, {"myapp_migs": f"FOLDER = {str(folder)!r}\n"})
    assert folder in search_path({})
    data = tmp_path / "data"
    registry = Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(data)}))
    report = registry.hook.storage_migrate(backend=registry.active(), request=MigrationRequest(
        MigrationAction.MIGRATE, db="users"))
    registry.close()
    assert report.databases[0].ran[-1] == "004_plugin_column"
    with sqlite3.connect(data / "users.db") as conn:
        assert "plugin_note" in {r[1] for r in conn.execute("PRAGMA table_info(users)")}


def test_a_callable_entry_point_names_its_folder_and_comes_before_the_application(
        fake_site: FakeSite, tmp_path: Path) -> None:
    folder = tmp_path / "from-callable"
    fake_site.install("other", "1.0", {ENTRY_POINT_GROUP: {"other": "other_migs:where"}},
                      {"other_migs": f"def where():\n    return {str(folder)!r}\n"})
    path = search_path({"ARAGORA_MIGRATIONS_PATH": str(tmp_path / "app")})
    assert path.index(folder) < path.index(tmp_path / "app") and path[0].name == "migrations"


def test_a_broken_entry_point_is_one_error_naming_it_and_can_be_disabled(
        fake_site: FakeSite) -> None:
    fake_site.install("broken-migs", "1.0", {ENTRY_POINT_GROUP: {"broken": "broken_migs"}},
                      {"broken_migs": "raise RuntimeError('boom')\n"})
    with pytest.raises(ConfigurationError) as error:
        search_path({})
    assert error.value.message == ("migrations entry point 'broken' (broken_migs) failed to"
                                   " import: RuntimeError")
    assert "ARAGORA_STORAGE_DISABLE_PLUGINS" in error.value.hint
    assert len(search_path({"ARAGORA_STORAGE_DISABLE_PLUGINS": "broken"})) == 1
