"""The bridge keeps its greenlets for later calls: a reused one starts each call clean
(its own context variables, write tracker and result) and concurrent calls never share
one."""

from __future__ import annotations

import asyncio
import contextvars
import weakref

import greenlet
import pytest

from aragora_storage_core.aio import bridge
from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome

seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def _where() -> greenlet.greenlet:
    bridge.await_(asyncio.sleep(0))
    return greenlet.getcurrent()


def test_calls_one_after_another_reuse_one_greenlet_and_concurrent_ones_do_not() -> None:
    async def scenario() -> tuple[list[greenlet.greenlet], list[greenlet.greenlet]]:
        one_by_one = [await bridge.run(_where) for _ in range(3)]
        at_once = await asyncio.gather(*(bridge.run(_where) for _ in range(8)))
        return one_by_one, list(at_once)

    one_by_one, at_once = asyncio.run(scenario())
    assert len({id(g) for g in one_by_one}) == 1
    assert len({id(g) for g in at_once}) == 8


def test_a_reused_greenlet_sees_this_calls_context_not_the_last_ones() -> None:
    def set_and_read() -> str:
        before = seen.get()
        seen.set("set by the first call")
        bridge.await_(asyncio.sleep(0))
        return before

    async def scenario() -> list[str]:
        token = seen.set("caller")
        first = await bridge.run(set_and_read)
        seen.reset(token)
        return [first, await bridge.run(seen.get), seen.get()]

    assert asyncio.run(scenario()) == ["caller", "unset", "unset"]


def test_a_reused_greenlet_starts_with_nothing_written() -> None:
    """A write applied by one call does not make the next call's cancellation APPLIED."""
    def write() -> None:
        tracker = bridge.writes()
        tracker.committing()
        bridge.await_(asyncio.sleep(0))
        tracker.committed()

    def read_slowly() -> None:
        bridge.await_(asyncio.sleep(5))

    async def cut() -> BaseException:
        await bridge.run(write)
        try:
            async with asyncio.timeout(0.01):
                await bridge.run(read_slowly)
        except TimeoutError as timed_out:
            return timed_out
        raise AssertionError("the slow read finished")

    assert write_outcome(asyncio.run(cut())) is WriteOutcome.NOT_APPLIED


def test_errors_reach_the_caller_and_the_greenlet_serves_the_next_call() -> None:
    def fail() -> None:
        bridge.await_(asyncio.sleep(0))
        raise KeyError("from the store code")

    async def scenario() -> tuple[BaseException, str]:
        with pytest.raises(KeyError) as caught:
            await bridge.run(fail)
        return caught.value, await bridge.run(lambda: "next")

    error, after = asyncio.run(scenario())
    assert error.args == ("from the store code",) and after == "next"


def test_an_idle_greenlet_holds_no_result_of_its_last_call() -> None:
    class Result:
        pass

    def produce() -> Result:
        bridge.await_(asyncio.sleep(0))
        return Result()

    async def scenario() -> weakref.ref[Result]:
        return weakref.ref(await bridge.run(produce))

    assert asyncio.run(scenario())() is None
