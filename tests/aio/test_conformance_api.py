"""The conformance kit's async mode: what its synchronous view hands a test, the skip of
a backend without an async path, and the private loop's teardown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aragora_storage_sqlite.backend import SQLiteBackend

from aragora_storage_core.backend import Backend
from aragora_storage_core.errors import DuplicateError, NotFoundError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.testing.api import LoopThread, StoreApi, SyncView

pytest_plugins = ["pytester"]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    backend = Registry(env={}).connect(f"sqlite:///{tmp_path}/kit.db")
    yield backend
    backend.close()


def test_the_view_hands_back_the_very_object_returned_or_raised() -> None:
    loop = LoopThread()
    returned, raised = object(), NotFoundError("gone", "look elsewhere")

    async def give() -> object:
        return returned

    async def fail() -> None:
        raise raised

    try:
        assert loop.call(give()) is returned
        with pytest.raises(NotFoundError) as caught:
            loop.call(fail())
        assert caught.value is raised
    finally:
        loop.close()


def test_async_mode_reaches_the_async_store_with_its_errors(backend: Backend) -> None:
    api = StoreApi("async", backend)
    try:
        users = api.store(StoreKind.USERS)
        assert isinstance(users, SyncView)
        created = users.create(User("v1", "v1@x.example", "h", "s"))
        with pytest.raises(DuplicateError):
            users.create(User("v2", "v1@x.example", "h", "s"))
        with pytest.raises(AttributeError, match="no method 'prepare'"):
            users.prepare  # noqa: B018  (not a protocol method)
        assert backend.store(StoreKind.USERS).get_by_id("v1") == created
    finally:
        api.close()


class _SyncOnly(SQLiteBackend):
    """A backend that declares no async path: the base ``make_async_store``."""

    make_async_store = Backend.make_async_store


def test_a_backend_without_an_async_path_is_skipped_with_the_reason(
        backend: Backend) -> None:
    sync_only = _SyncOnly(backend.url, backend.settings)
    sync_only.hook, sync_only.registry = backend.hook, backend.registry
    try:
        with pytest.raises(pytest.skip.Exception, match="async API: the sqlite backend has "
                                                        "no async API for the users store"):
            StoreApi("async", sync_only).astore(StoreKind.USERS)
    finally:
        sync_only.close()


class _Recording(SQLiteBackend):
    """Records the loop its ``aclose`` ran on."""

    closed_on: Any = None

    async def aclose(self) -> None:
        self.closed_on = asyncio.get_running_loop()
        await super().aclose()


def test_teardown_closes_the_async_connections_on_the_test_loop_then_the_loop(
        backend: Backend) -> None:
    recording = _Recording(backend.url, backend.settings)
    recording.hook, recording.registry = backend.hook, backend.registry
    api = StoreApi("async", recording)
    try:
        api.store(StoreKind.USERS).count()
        loop = api.loop.loop
        api.close()
        assert recording.closed_on is loop
        assert loop.is_closed()
    finally:
        recording.close()


def test_sync_mode_is_the_sync_store(backend: Backend) -> None:
    api = StoreApi("sync", backend)
    assert api.store(StoreKind.USERS) is backend.store(StoreKind.USERS)
    api.close()


KIT_MODULE = '''
import pytest
from aragora_storage_sqlite.backend import SQLiteBackend
from aragora_storage_core.backend import Backend
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.stores import TestUserStoreConformance

BUILT = []


class SyncOnly(SQLiteBackend):
    make_async_store = Backend.make_async_store


@pytest.fixture
def conformance_backend(tmp_path):
    real = Registry(env={}).connect(f"sqlite:///{tmp_path}/kit.db")
    backend = SyncOnly(real.url, real.settings)
    backend.hook, backend.registry = real.hook, real.registry
    BUILT.append(backend)
    yield backend
    backend.close()
    real.close()


def test_zz_count():
    assert len(BUILT) == len(TESTS) + 1, len(BUILT)


TESTS = [name for name in dir(TestUserStoreConformance) if name.startswith("test_")]
'''


def test_a_backend_without_an_async_path_is_built_once_for_its_async_tests(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_kit=KIT_MODULE)
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-q")
    tests = sum(1 for name in dir(_user_tests()) if name.startswith("test_"))
    result.assert_outcomes(passed=tests + 1, skipped=tests)


def _user_tests() -> type:
    from aragora_storage_core.testing.stores import TestUserStoreConformance

    return TestUserStoreConformance
