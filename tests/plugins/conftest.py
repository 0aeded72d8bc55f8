"""Fixtures for plugin tests: distributions on a temporary ``sys.path`` entry, and the
session's wheelhouse (shared with the packaging tests, built once)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.fake_site import FakeSite
from fixtures.wheelhouse import wheelhouse

__all__ = ["fake_site", "wheelhouse"]


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    """A fresh directory on ``sys.path``; the modules installed there are forgotten after."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    site = FakeSite(root)
    yield site
    for module in site.modules:
        sys.modules.pop(module, None)
