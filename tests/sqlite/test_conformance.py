"""The conformance kit against the embedded SQLite backend, in each of its layouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.suite import *  # noqa: F403


@pytest.fixture(params=["legacy", "consolidated", "single-file"])
def conformance_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An empty SQLite backend in each layout."""
    if request.param == "single-file":
        url = f"sqlite:///{tmp_path}/all.db"
    else:
        url = f"sqlite:///{tmp_path}/data?mode={request.param}"
    backend = Registry(env={}).connect(url)
    yield backend
    backend.close()
