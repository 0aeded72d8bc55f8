"""The async face of a synchronous store: each protocol method, awaited through a runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.stores.table import STORES

if TYPE_CHECKING:
    from aragora_storage_core.aio.twin_rules import Vocabulary

#: How a backend runs one synchronous store call for a coroutine
#: (:func:`~aragora_storage_core.aio.bridge.run` or ``FileWorker.run``).
Runner = Callable[..., Awaitable[Any]]


class AsyncStore:
    """The async twin of ``store``: the methods of the protocol of ``kind``, each a
    coroutine function running the store's own method through ``runner``.

    The store logic (SQL, parameters, row mapping, errors) is the synchronous store's;
    this object only changes how it waits. With ``twins``, the vocabulary of a store whose
    database has the coroutine methods it names (``twin_rules.SQL``: ``afetch_one``,
    ``afetch_all`` and ``atransaction``), a method of simple reads or one transaction runs
    as its coroutine twin (:mod:`~aragora_storage_core.aio.twins`) instead of through
    ``runner``.
    """

    def __init__(self, store: Any, kind: StoreKind | str, runner: Runner,
                 twins: Vocabulary | None = None) -> None:
        protocol = STORES[StoreKind(kind)].protocol
        self._store = store
        self._runner = runner
        self._twins = twins
        self._methods = frozenset(name for name in vars(protocol) if not name.startswith("_"))
        self.protocol = protocol

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("_") or name not in self._methods:
            raise AttributeError(f"{self.protocol.__name__} has no method {name!r}")
        method = getattr(self._store, name)
        call = self._twin(method)
        if call is None:
            # the runner's own coroutine, with no coroutine of ours around it (one frame
            # less per call); inspect.iscoroutinefunction still sees a coroutine function
            call = partial(self._runner, method)
            named: Any = call  # a partial takes attributes; typeshed does not say so
            named.__name__ = named.__qualname__ = name
            named.__doc__ = method.__doc__
        self.__dict__[name] = call  # built once per method
        return call

    def _twin(self, method: Callable[..., Any]) -> Callable[..., Awaitable[Any]] | None:
        if self._twins is None:
            return None
        from aragora_storage_core.aio.twins import coroutine_twin

        return coroutine_twin(method, self._twins)

    def __repr__(self) -> str:
        return f"<async {self.protocol.__name__} of {self._store!r}>"
