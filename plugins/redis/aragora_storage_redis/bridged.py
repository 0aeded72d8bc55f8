"""The Redis stores' async path for methods without a coroutine twin (the pipelined
``revoke_many`` and ``append_many``): a client-like object whose commands run on a
``redis.asyncio`` client, awaited through the bridge (docs/async.md). The twins await
the same client through ``async_commands.AsyncCommands`` and share its :class:`Slots`.

:class:`BridgedClient` stands where ``Commands`` expects redis-py's client: a command that
returns an awaitable is awaited with ``bridge.await_``; a pipeline buffers its commands
and awaits ``execute()``; a registered Lua script awaits its call. Each write (or
pipeline holding one) is wrapped in ``writes().committing()`` ... ``committed()``, so a
cancelled write says whether it may have been applied; reads leave the tracker alone.

The ``redis.asyncio`` clients belong to one event loop each (:class:`LoopClients`).
Imported only by the async path (``RedisBackend.make_async_store``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import weakref
from collections.abc import Callable
from types import CoroutineType
from typing import Any

from aragora_storage_core.aio.bridge import await_, writes
from aragora_storage_core.aio.per_loop import PerLoop

#: Commands that change nothing on the server: a cancelled one is "not applied". Every
#: other command counts as a write (an unknown one may have been applied).
READS = frozenset({
    "get", "mget", "exists", "strlen", "ttl", "pttl", "type", "xrange", "xrevrange",
    "xlen", "hget", "hgetall", "hkeys", "hlen", "smembers", "lrange", "zrange", "scan",
    "info", "ping", "dbsize", "time", "config_get", "cluster_info", "cluster_nodes",
})


def sleep(seconds: float) -> None:
    """Wait ``seconds`` without blocking the loop (the async path's retry back-off)."""
    await_(asyncio.sleep(seconds))


class Slots:
    """At most ``size`` commands of one loop in flight at once: redis-py's pools refuse a
    connection past ``max_connections`` ("Too many connections") instead of waiting, so
    a burst of tasks waits here for a free one, in order, before anything is sent."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    def run(self, send: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
            write: bool) -> Any:
        """``send(*args, **kwargs)``'s result, awaited through the bridge (a write tracked
        as one), once a slot is free.

        Reads are not keyed for the bridge's direct passes: the Redis stores' code around a
        command (error translation, retries) is long enough that running it twice costs
        more than the greenlet's switches (counted with callgrind, benchmarks/README.md).
        """
        if not self.take():
            await_(self.turn())
        try:
            result = send(*args, **kwargs)
            if type(result) is not CoroutineType and not inspect.isawaitable(result):
                return result
            if not write:
                return await_(result)
            tracker = writes()
            tracker.committing()
            result = await_(result)
            tracker.committed()
            return result
        finally:
            self.give()

    def take(self) -> bool:
        """Take a slot if one is free and nobody is waiting for it."""
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return True
        return False

    async def turn(self) -> None:
        """Wait for a slot, in order (after :meth:`take` found none)."""
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.give()  # handed a slot, but cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(turn)
            raise

    def give(self) -> None:
        """Hand the slot back: to the first still waiting, or to the free ones."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot goes straight to the next in line
                return
        self.free += 1


class LoopClient:
    """One event loop's ``redis.asyncio`` client and its :class:`Slots`."""

    __slots__ = ("client", "slots")

    def __init__(self, client: Any, size: int) -> None:
        self.client = client
        self.slots = Slots(size)


class LoopClients(PerLoop[LoopClient]):
    """One ``redis.asyncio`` client per event loop, made by ``make`` on first use, with
    at most ``size`` (the pool's ``max_connections``) commands in flight
    (:meth:`~aragora_storage_core.aio.per_loop.PerLoop.here`: the running loop's)."""

    def __init__(self, make: Callable[[], Any], size: int) -> None:
        super().__init__(lambda loop: LoopClient(make(), size))

    def current(self) -> Any:
        """The running loop's ``redis.asyncio`` client."""
        return self.here().client

    async def aclose(self) -> None:
        """Close the running loop's client, if it has one."""
        made = self.pop()
        if made is not None:
            await made.client.aclose()

    def forget(self) -> None:
        """Drop every client without awaiting anything (their loops may be closed)."""
        self.clear()


class BridgedClient:
    """Client-like: ``client.set(...)`` runs ``SET`` on the running loop's async client.

    For store code running under ``bridge.run`` only (``await_`` refuses anywhere else).
    """

    def __init__(self, clients: LoopClients) -> None:
        self._clients = clients

    def __getattr__(self, name: str) -> Callable[..., Any]:
        clients, write = self._clients, name not in READS

        def command(*args: Any, **kwargs: Any) -> Any:
            here = clients.here()
            return here.slots.run(getattr(here.client, name), args, kwargs, write)

        command.__name__ = name
        self.__dict__[name] = command  # built once per command name
        return command

    def pipeline(self, transaction: bool = True) -> BridgedPipeline:
        """A pipeline (``MULTI``/``EXEC`` with ``transaction``) of the running loop's client."""
        here = self._clients.here()
        return BridgedPipeline(here.client.pipeline(transaction=transaction), here.slots)

    def register_script(self, script: str | bytes) -> BridgedScript:
        """A Lua script (``EVALSHA``, loading it when the server lacks it)."""
        return BridgedScript(self._clients, script)


class BridgedPipeline:
    """Buffers commands like redis-py's pipeline; :meth:`execute` awaits them all."""

    def __init__(self, pipe: Any, slots: Slots) -> None:
        self._pipe = pipe
        self._slots = slots
        self._writes = False

    def __getattr__(self, name: str) -> Callable[..., BridgedPipeline]:
        method = getattr(self._pipe, name)

        def buffer(*args: Any, **kwargs: Any) -> BridgedPipeline:
            self._writes = self._writes or name not in READS
            method(*args, **kwargs)
            return self

        return buffer

    def execute(self, *args: Any, **kwargs: Any) -> list[Any]:
        """Send the buffered commands; their replies in order."""
        replies: list[Any] = self._slots.run(self._pipe.execute, args, kwargs, self._writes)
        return replies


class BridgedScript:
    """A registered Lua script; a call counts as a write (a script may write anything)."""

    def __init__(self, clients: LoopClients, script: str | bytes) -> None:
        self._clients = clients
        self._script = script
        self._registered: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def __call__(self, keys: list[Any] | None = None, args: list[Any] | None = None) -> Any:
        """Run the script with ``keys`` and ``args`` on the running loop's client."""
        here = self._clients.here()
        script = self._registered.get(here.client)
        if script is None:
            script = self._registered[here.client] = here.client.register_script(self._script)
        return here.slots.run(script, (), {"keys": keys, "args": args}, True)
