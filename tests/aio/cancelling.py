"""Cancel a call midway and keep the cancellation it ended with (for ``write_outcome``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


def cancellation_of(call: Callable[[], Awaitable[Any]], after: float) -> BaseException:
    """Run ``call()`` in a task on a new event loop, cancel the task after ``after``
    seconds, and return the ``CancelledError`` the task ended with."""

    async def scenario() -> BaseException:
        task = asyncio.ensure_future(call())
        await asyncio.sleep(after)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as exc:
            return exc
        raise AssertionError("not cancelled")

    return asyncio.run(scenario())
