"""The conformance kit: the same tests for every backend, third-party ones included.

A backend's test module provides one fixture, ``conformance_backend``, yielding an open
:class:`~aragora_storage_core.backend.Backend` on empty storage, and imports the test
classes of the stores the backend serves::

    import pytest
    from aragora_storage_core.testing.suite import *  # noqa: F403  (every SQL store)

    @pytest.fixture
    def conformance_backend(tmp_path):
        backend = Registry(env={}).connect(f"sqlite:///{tmp_path}/all.db")
        yield backend
        backend.close()

Import single classes (``from aragora_storage_core.testing.stores import
TestTokenBlacklistConformance``) for a backend that serves only some stores.

Every store test runs twice, ``[sync]`` and ``[async]``: the async variant drives
``backend.astore(kind)`` from a private event loop through a synchronous view
(:mod:`~aragora_storage_core.testing.api`), and :mod:`~aragora_storage_core.testing.tasks`
adds what only the async API can do (concurrent tasks, cancelled writes). A backend
declares it has no async path by leaving ``Backend.make_async_store`` as it is (it raises
``AsyncNotSupportedError``): its async variants are skipped with that reason. See
docs/writing-a-plugin.md, "an async path".
"""
