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
"""
