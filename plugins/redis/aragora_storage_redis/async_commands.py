"""The Redis stores' commands on the async API: each a coroutine on the running event
loop's ``redis.asyncio`` client, for the stores' coroutine twins (docs/async.md).

:class:`AsyncCommands` is the store's :class:`~aragora_storage_redis.commands.Commands`
twice over: as ``Commands`` on a :class:`~aragora_storage_redis.bridged.BridgedClient`
for methods that run through the greenlet bridge (pipelines), and with ``aread``,
``awrite`` and ``awrite_once``, which a twin awaits. Those wait for one of the loop's
slots (:class:`~aragora_storage_redis.bridged.Slots`), send the command, retry it as its
kind allows (the back-off awaited, the loop never blocked) and translate failures; a
write cancelled once sent says it may have been applied (a twin cancelled before that
says it was not).

Imported only by ``RedisBackend.make_async_store``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aragora_storage_core.aio.outcome import WriteOutcome, mark
from aragora_storage_core.aio.twin_rules import Vocabulary
from aragora_storage_redis.bridged import BridgedClient, LoopClients, sleep
from aragora_storage_redis.commands import Commands
from aragora_storage_redis.faults import (
    DRIVER_ERRORS,
    READ,
    WRITE,
    WRITE_ONCE,
    Kind,
    Located,
    Retrier,
    translate,
)

#: What a Redis store method's twin awaits: its commands, a write only alone; the
#: keyspace only names keys.
TWINS = Vocabulary(
    database="_redis",
    calls={"read": "aread", "write": "awrite", "write_once": "awrite_once"},
    writes=frozenset({"write", "write_once"}),
    pure=frozenset({"_keys"}),
)


class AsyncCommands(Commands):
    """A store's commands on the running loop's client of ``clients``: bridged as
    :class:`Commands`, or awaited (``aread``, ``awrite``, ``awrite_once``)."""

    #: ``await aread(operation, command, *args, **kwargs)``: the reply of a read.
    aread: Callable[..., Awaitable[Any]]
    #: ``await awrite(...)``: the reply of a write that may be sent again.
    awrite: Callable[..., Awaitable[Any]]
    #: ``await awrite_once(...)``: the reply of a write sent again only if provably not run.
    awrite_once: Callable[..., Awaitable[Any]]

    def __init__(self, clients: LoopClients, retries: int, where: Located) -> None:
        super().__init__(BridgedClient(clients), Retrier(retries, sleep), where)
        self._clients = clients
        # partials: the twin's await reaches the coroutine with no call of ours between
        self.aread = partial(self._asend, READ)
        self.awrite = partial(self._asend, WRITE)
        self.awrite_once = partial(self._asend, WRITE_ONCE)

    async def _asend(self, kind: Kind, operation: str, command: str, *args: Any,
                     **kwargs: Any) -> Any:
        failures = 0
        in_doubt = False  # whether a write was sent that may have been applied
        try:
            while True:
                here = self._clients.here()
                slots = here.slots
                if not slots.take():
                    await slots.turn()
                try:
                    in_doubt = in_doubt or kind.write
                    return await getattr(here.client, command)(*args, **kwargs)
                except kind.retried as error:
                    failures += 1
                    pause = self._retrier.pause(kind, error, failures)
                    if pause is None:
                        raise
                    # an idempotent write that failed (a timeout) may still have been
                    # applied; a write sent once is retried only when it provably was not
                    in_doubt = kind.write and kind.idempotent
                finally:
                    slots.give()
                await asyncio.sleep(pause)
        except DRIVER_ERRORS as error:
            raise translate(error, self._where, operation, kind.idempotent) from error
        except asyncio.CancelledError as cancelled:
            if in_doubt:
                mark(cancelled, WriteOutcome.UNKNOWN)
            raise
