"""docs/checks.md is generated from the code; silenced checks; hook tracing."""

from __future__ import annotations

from pathlib import Path

import pytest

from aragora_storage_core.catalogue import ROOT, entries, render
from aragora_storage_core.doctor import diagnose
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores import UserStore


def test_the_catalogue_in_docs_is_current() -> None:
    shipped = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert shipped == render(), "run: python -m aragora_storage_core.catalogue"


def test_the_catalogue_lists_findings_with_level_message_and_hint() -> None:
    by_id = {e.id: e for e in entries()}
    assert by_id["storage.W016"].level == "WARNING"
    assert by_id["storage.W016"].message.startswith("{...} stray database file(s) in")
    assert by_id["storage.W016"].hint.startswith("aragora-storage cleanup")
    assert by_id["storage.E006"].hint == "raised as BackendUnavailableError"
    assert by_id["storage.W018"].where == "aragora_storage_core/doctor.py"


def test_silenced_checks_are_left_out_of_doctor(tmp_path: Path) -> None:
    env = {"ARAGORA_DATA_DIR": str(tmp_path)}
    found = {f.id for f in diagnose(env=env).findings}
    assert {"storage.I065", "storage.W050"} <= found
    quiet = diagnose(env={**env, "ARAGORA_STORAGE_SILENCED_CHECKS": "storage.I065, storage.W050"})
    assert {"storage.I065", "storage.W050"}.isdisjoint(f.id for f in quiet.findings)
    assert quiet.silenced == ["storage.I065", "storage.W050"]
    assert quiet.to_dict()["silenced"] == ["storage.I065", "storage.W050"]


def test_tracing_prints_each_hook_call_and_what_it_returned(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = Registry(env={"ARAGORA_STORAGE_TRACE_HOOKS": "1",
                             "DATABASE_URL": f"sqlite:///{tmp_path}/app.db"})
    registry.store(UserStore).create(User("u1", "a@x", "h", "s"))
    registry.close()
    err = capsys.readouterr().err.splitlines()
    connect = [line for line in err if line.startswith("hook storage_connect(")]
    assert connect[0].startswith("hook storage_connect(url=StorageURL, settings=Settings) -> [")
    assert "hook storage_connect returned SQLiteBackend" in err
    migrate = [line for line in err if line.startswith("hook storage_migrate(")]
    assert migrate and migrate[0].endswith("aragora_storage_core.builtin:storage_migrate]")
    assert "hook storage_migrate returned MigrationReport" in err


def test_no_tracing_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = Registry(env={"DATABASE_URL": f"sqlite:///{tmp_path}/app.db"})
    registry.store(UserStore).count()
    registry.close()
    assert "hook " not in capsys.readouterr().err
