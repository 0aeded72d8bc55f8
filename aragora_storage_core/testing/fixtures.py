"""Fixtures the conformance tests share; the backend's own fixture feeds them."""

from __future__ import annotations

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry


@pytest.fixture
def conformance_registry(conformance_backend: Backend) -> Registry:
    """A registry whose plugin host has the backend's plugin loaded (for hook tests)."""
    registry = Registry(conformance_backend.settings)
    registry.host.load_backend(conformance_backend.url.scheme)
    return registry


@pytest.fixture
def conformance_empty_backend() -> Backend:
    """A second backend of the same kind on empty storage, for restore tests.

    Override it beside ``conformance_backend`` (for SQLite, the same file name in another
    directory); without it the restore test is skipped.
    """
    pytest.skip("provide a conformance_empty_backend fixture to test restoring")
