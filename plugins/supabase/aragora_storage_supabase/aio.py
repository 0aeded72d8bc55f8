"""The async path: the Supabase stores on supabase-py's async client (docs/async.md).

The stores and :class:`~aragora_storage_supabase.project.SupabaseProject` are the
synchronous ones; only the transport differs. Request builders chain synchronously as
always; the coroutine a request's ``execute()`` returns is awaited through the greenlet
bridge (:func:`~aragora_storage_core.aio.bridge.await_`), so a store method runs under
:func:`~aragora_storage_core.aio.bridge.run` without blocking the event loop. The
client's own retries of reads sleep with ``asyncio.sleep`` on the loop.

Each write request is wrapped in the call's ``committing()`` ... ``committed()``: a
cancellation while it is on its way may have been applied (PostgREST commits it whether
or not anyone still waits for the answer); an error answer applied nothing.

The clients belong to an event loop: each loop gets its own, created on first use in it;
:meth:`BridgedTransport.aclose` closes the running loop's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aragora_storage_core.aio.bridge import await_, writes
from aragora_storage_core.aio.per_loop import PerLoop
from aragora_storage_supabase.project import (
    GATEWAY_STATUSES,
    GatewayAnswer,
    client_over,
    gateway_answer,
    http_settings,
)


async def raise_gateway_answer(response: Any) -> None:
    """``httpx`` async response hook: raise ``GatewayAnswer`` for a gateway status."""
    if response.status_code in GATEWAY_STATUSES:
        await response.aread()
        raise gateway_answer(response)


def open_async_client(base_url: str, key: str, timeout: float) -> tuple[Any, Any]:
    """The unmodified async ``supabase`` client over an ``httpx.AsyncClient`` with the
    settings of the synchronous one; ``(supabase client, httpx client)``.

    It is made as ``acreate_client`` makes it, less that function's session lookup:
    with no signed-in user (sessions are not kept) the key is the bearer token either way.
    """
    import httpx
    from supabase import AsyncClient, AsyncClientOptions

    http = httpx.AsyncClient(**http_settings(timeout, raise_gateway_answer))
    return client_over(http, AsyncClient, AsyncClientOptions, base_url, key), http


def refused(error: Exception) -> bool:
    """True when ``error`` is an answer saying the request applied nothing: PostgREST's
    error (its transaction rolled back) or the gateway's 401/404 (never passed on). A
    timeout or the gateway's 502/504 leaves it open whether the write was applied."""
    from postgrest import APIError

    if isinstance(error, GatewayAnswer):
        return error.status in (401, 404)
    return isinstance(error, APIError)


class BridgedTransport:
    """The running event loop's async ``supabase`` client, awaited through the bridge."""

    def __init__(self, base_url: str, key: str, timeout: float) -> None:
        self._clients: PerLoop[tuple[Any, Any]] = PerLoop(
            lambda loop: open_async_client(base_url, key, timeout))

    @property
    def client(self) -> Any:
        """The async ``supabase`` client of the running loop."""
        return self._clients.here()[0]

    @property
    def http(self) -> Any:
        """The ``httpx.AsyncClient`` of the running loop."""
        return self._clients.here()[1]

    def send(self, request: Callable[[], Any], write: bool) -> Any:
        """Await the coroutine ``request()`` returns; a write is tracked (module docs)."""
        if not write:
            return await_(request())
        tracker = writes()
        tracker.committing()
        try:
            response = await_(request())
        except Exception as error:
            if refused(error):
                tracker.ended()
            raise
        tracker.committed()
        return response

    def close(self) -> None:
        """Forget every loop's clients (those of a closed loop cannot be awaited any more;
        their connections close with them). Use :meth:`aclose` inside a loop."""
        self._clients.clear()

    async def aclose(self) -> None:
        """Close the running loop's HTTP connections."""
        clients = self._clients.pop()
        if clients is not None:
            await clients[1].aclose()
