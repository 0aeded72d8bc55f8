"""The conformance kit (the whole of it) for every store Supabase serves: the cache class
skips; the rest runs through the unmodified supabase client against the real PostgREST."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.testing.suite import *  # noqa: F403

pytestmark = pytest.mark.postgres


@pytest.fixture
def conformance_backend(supabase_backend: Backend) -> Iterator[Backend]:
    """The Supabase backend on the test project, tables empty."""
    yield supabase_backend
