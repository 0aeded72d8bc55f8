"""Shared fixtures: a clean environment per test and access to the real services."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aragora_storage_core.registry import reset_registry
from aragora_storage_core.settings import ENV_VARS

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_unavailable(what: str) -> None:
    """Fail in CI (a backend test never skips there); skip on a developer's machine."""
    message = f"{what} is not reachable"
    if IN_CI:
        pytest.fail(f"{message}; CI must run it (.ci/run starts the services)")
    pytest.skip(f"{message} (would fail under CI=true)")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Unset every variable the package reads and run in an empty working directory."""
    for var in ENV_VARS:
        for name in (var.name, *var.aliases):
            monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("ARAGORA_DB_"):
            monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    reset_registry()
    yield work
    reset_registry()
