"""The way a Redis store reaches its server: one command, or one pipeline, at a time.

A store names the operation (for error messages), the command and its arguments, and
says what kind of command it is: ``read``, ``write`` (the same result when repeated) or
``write_once`` (``XADD``). :class:`Commands` sends it as :mod:`~aragora_storage_redis.faults`
allows, retrying where that is safe, and turns redis-py's failures into typed errors.

Store methods that only make such calls have coroutine twins on the async API
(``async_commands.TWINS``): ``self._redis.read(...)`` becomes
``await self._redis.aread(...)``; the rest run through the greenlet bridge.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

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


class Command:
    """One command of a pipeline: its name and arguments, as for the client's method."""

    __slots__ = ("args", "kwargs", "name")

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.name, self.args, self.kwargs = name, args, kwargs


class Commands:
    """Sends a store's commands on ``client`` (redis-py's, or one of the same shape),
    retried by ``retrier``; failures leave as typed errors naming ``where``."""

    def __init__(self, client: Any, retrier: Retrier, where: Located) -> None:
        self._client = client
        self._retrier = retrier
        self._where = where

    def read(self, operation: str, command: str, *args: Any, **kwargs: Any) -> Any:
        """The reply of the read ``command`` (``"get"``, ``"exists"``...), for ``operation``."""
        return self._send(READ, operation, command, args, kwargs)

    def write(self, operation: str, command: str, *args: Any, **kwargs: Any) -> Any:
        """The reply of the write ``command``, which may be sent again (``SET``, ``UNLINK``)."""
        return self._send(WRITE, operation, command, args, kwargs)

    def write_once(self, operation: str, command: str, *args: Any, **kwargs: Any) -> Any:
        """The reply of the write ``command``, sent again only if it was provably not run."""
        return self._send(WRITE_ONCE, operation, command, args, kwargs)

    def pipeline(self, operation: str, commands: Sequence[Command], *, transaction: bool,
                 once: bool = False) -> list[Any]:
        """The replies of ``commands``, sent together (in ``MULTI``/``EXEC`` with
        ``transaction``); with ``once`` they are sent again only if provably not run."""

        def send() -> list[Any]:
            pipe = self._client.pipeline(transaction=transaction)
            for command in commands:
                getattr(pipe, command.name)(*command.args, **command.kwargs)
            replies: list[Any] = pipe.execute()
            return replies

        kind = WRITE_ONCE if once else WRITE
        try:
            return self._retrier.call(send, kind)
        except DRIVER_ERRORS as error:
            raise translate(error, self._where, operation, kind.idempotent) from error

    def _send(self, kind: Kind, operation: str, command: str, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
        try:
            return self._retrier.call(partial(getattr(self._client, command), *args, **kwargs),
                                      kind)
        except DRIVER_ERRORS as error:
            raise translate(error, self._where, operation, kind.idempotent) from error
