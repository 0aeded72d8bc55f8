"""The conformance kit against the embedded SQLite backend, in each of its layouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.suite import *  # noqa: F403


def _url(layout: str, folder: Path) -> str:
    if layout == "single-file":
        return f"sqlite:///{folder}/all.db"
    return f"sqlite:///{folder}/data?mode={layout}"


@pytest.fixture(params=["legacy", "consolidated", "single-file"])
def conformance_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An empty SQLite backend in each layout."""
    backend = Registry(env={}).connect(_url(request.param, tmp_path))
    yield backend
    backend.close()


@pytest.fixture
def conformance_empty_backend(conformance_backend: Backend,
                              tmp_path: Path) -> Iterator[Backend]:
    """The same layout (same file names) in another, empty directory."""
    layout = "single-file" if conformance_backend.url.database.endswith(".db") \
        else conformance_backend.url.params["mode"]
    backend = Registry(env={}).connect(_url(layout, tmp_path / "empty"))
    yield backend
    backend.close()
