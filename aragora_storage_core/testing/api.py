"""The ``api`` dimension of the conformance kit: every store test runs on the sync API
and again on the async API (``backend.astore(kind)``), unchanged.

In async mode a test gets a synchronous *view* of the async store: each method call runs
the coroutine on a private event loop (one per test, on a background thread) and hands
the test exactly what the coroutine returned or raised (the same objects: a
``DuplicateError`` stays that ``DuplicateError``). At teardown ``await backend.aclose()``
runs on that loop, then the loop stops and closes.

A backend declares that it has no async path by not overriding
``Backend.make_async_store`` (the default raises ``AsyncNotSupportedError``), or by
raising ``AsyncNotSupportedError`` from it for the stores it cannot serve
asynchronously: the async variants of its tests are then *skipped* with that reason.
Raise it only for "there is no async path"; a missing driver extra or an unreachable
server is a different error, and fails the test.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Literal, TypeVar

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.errors import AsyncNotSupportedError
from aragora_storage_core.stores.protocols import StoreKind

T = TypeVar("T")

#: The two ways a test reaches a store.
API_MODES = ("sync", "async")
ApiMode = Literal["sync", "async"]


class LoopThread:
    """An event loop of its own, running on a background thread until :meth:`close`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever,
                                        name="aragora conformance loop", daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait: its result, or its exception raised here
        (the same object, not a copy or a wrapper)."""
        outcome = asyncio.run_coroutine_threadsafe(_settled(coroutine), self.loop).result()
        if isinstance(outcome, _Raised):
            raise outcome.error
        result: T = outcome
        return result

    def close(self, last: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        """Await ``last()`` on the loop (if given), then stop the loop and close it."""
        try:
            if last is not None:
                self.call(last())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


class _Raised:
    """What a coroutine raised, carried back to the calling thread unchanged."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _settled(coroutine: Coroutine[Any, Any, T]) -> T | _Raised:
    try:
        return await coroutine
    except BaseException as error:  # handed to the calling thread, raised there as is
        return _Raised(error)


class SyncView:
    """A synchronous face of an async store: ``view.m(...)`` is
    ``await astore.m(...)`` run on ``loop``."""

    def __init__(self, astore: Any, loop: LoopThread) -> None:
        self._astore = astore
        self._loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._astore, name)  # AttributeError for a non-protocol name
        call = self._loop.call

        def run(*args: Any, **kwargs: Any) -> Any:
            return call(method(*args, **kwargs))

        run.__name__ = name
        self.__dict__[name] = run
        return run

    def __repr__(self) -> str:
        return f"<sync view of {self._astore!r}>"


def async_store(backend: Backend, kind: StoreKind) -> Any:
    """``backend.astore(kind)``; the test is skipped if the backend has no async path."""
    try:
        return backend.astore(kind)
    except AsyncNotSupportedError as error:
        pytest.skip(f"async API: {error.message}")


class StoreApi:
    """How the tests of one run reach their stores: ``sync`` (``backend.store``) or
    ``async`` (a :class:`SyncView` of ``backend.astore`` on a private loop)."""

    def __init__(self, mode: ApiMode, backend: Backend) -> None:
        self.mode = mode
        self.backend = backend
        self._loop: LoopThread | None = None

    @property
    def loop(self) -> LoopThread:
        """The private event loop of this test (started on first use)."""
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    def store(self, kind: StoreKind) -> Any:
        """The store ``kind`` the way this mode reaches it."""
        if self.mode == "sync":
            return self.backend.store(kind)
        return SyncView(async_store(self.backend, kind), self.loop)

    def close(self) -> None:
        """Close the async connections of the test's loop, then the loop."""
        if self._loop is not None:
            self._loop.close(self.backend.aclose)
            self._loop = None


class BothApis:
    """Base of the conformance classes whose tests run on both APIs: it gives them the
    ``conformance_api`` fixture, parametrised ``sync`` / ``async``."""

    @pytest.fixture(params=API_MODES)
    def conformance_api(self, request: pytest.FixtureRequest,
                        conformance_backend: Backend) -> Iterator[StoreApi]:
        """How this run of the test reaches its stores (closed after the test)."""
        api = StoreApi(request.param, conformance_backend)
        yield api
        api.close()
