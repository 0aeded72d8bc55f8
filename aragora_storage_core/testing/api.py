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


#: What the backends found without an async path said, by test module and backend
#: parameters: their later async tests skip before building a backend (on a server, a
#: fresh database each).
_NO_ASYNC_PATH: dict[tuple[str, str], str] = {}


class StoreApi:
    """How the tests of one run reach their stores: ``sync`` (``backend.store``) or
    ``async`` (a :class:`SyncView` of ``backend.astore`` on a private loop)."""

    def __init__(self, mode: ApiMode, backend: Backend,
                 unsupported: Callable[[str], None] | None = None) -> None:
        self.mode = mode
        self.backend = backend
        self._unsupported = unsupported
        self._loop: LoopThread | None = None

    @property
    def loop(self) -> LoopThread:
        """The private event loop of this test (started on first use)."""
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    def astore(self, kind: StoreKind) -> Any:
        """``backend.astore(kind)``; the test is skipped if the backend has no async path."""
        try:
            return self.backend.astore(kind)
        except AsyncNotSupportedError as error:
            reason = f"async API: {error.message}"
            if self._unsupported is not None:
                self._unsupported(reason)
            pytest.skip(reason)

    def store(self, kind: StoreKind) -> Any:
        """The store ``kind`` the way this mode reaches it."""
        if self.mode == "sync":
            return self.backend.store(kind)
        return SyncView(self.astore(kind), self.loop)

    def close(self) -> None:
        """Close the async connections of the test's loop, then the loop."""
        if self._loop is not None:
            self._loop.close(self.backend.aclose)
            self._loop = None


def open_api(request: pytest.FixtureRequest, mode: ApiMode) -> StoreApi:
    """The :class:`StoreApi` of a test on ``conformance_backend``.

    An async test of a backend already found without any async path (same module, same
    backend parameters; ``make_async_store`` not overridden) is skipped before the
    backend is built.
    """
    callspec = getattr(request.node, "callspec", None)
    params = {} if callspec is None else callspec.params
    key = (request.node.nodeid.split("::", 1)[0],
           repr(sorted((name, repr(value)) for name, value in params.items()
                       if name != "conformance_api")))
    if mode == "async" and key in _NO_ASYNC_PATH:
        pytest.skip(_NO_ASYNC_PATH[key])
    backend: Backend = request.getfixturevalue("conformance_backend")

    def unsupported(reason: str) -> None:
        if type(backend).make_async_store is Backend.make_async_store:  # none at all
            _NO_ASYNC_PATH.setdefault(
                key, f"async API: the {backend.name} backend has no async path")

    return StoreApi(mode, backend, unsupported)


class BothApis:
    """Base of the conformance classes whose tests run on both APIs: it gives them the
    ``conformance_api`` fixture, parametrised ``sync`` / ``async``.

    Fixtures and tests list ``conformance_api`` before ``conformance_backend``, so that
    an async test of a backend without an async path skips before the backend is built.
    """

    @pytest.fixture(params=API_MODES)
    def conformance_api(self, request: pytest.FixtureRequest) -> Iterator[StoreApi]:
        """How this run of the test reaches its stores (closed after the test)."""
        api = open_api(request, request.param)
        yield api
        api.close()
