"""The whole conformance kit on Redis (classes of stores Redis does not serve skip): on the
shared server, on a throwaway Redis Cluster and behind throwaway sentinels (slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.suite import *  # noqa: F403


@pytest.fixture(params=["server", pytest.param("cluster", marks=pytest.mark.slow),
                        pytest.param("sentinel", marks=pytest.mark.slow)])
def conformance_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """An open Redis backend under a prefix of its own: on the shared server (SCAN +
    UNLINK cleans it after), a Redis Cluster or the primary Sentinel names."""
    url: str = request.getfixturevalue({"server": "redis_url", "cluster": "cluster_url",
                                        "sentinel": "sentinel_url"}[request.param])
    backend = Registry(env={}).connect(url)
    yield backend
    backend.close()
