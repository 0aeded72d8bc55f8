"""The bridge runs read-only store calls without a greenlet: each keyed read is awaited by
``run`` and handed to the next pass of the method, and every read is sent once, however
the call ends (a write after it, a read that differs between passes, an error, a
cancellation)."""

from __future__ import annotations

import asyncio
import contextvars
from collections import Counter
from collections.abc import Callable
from typing import Any

import greenlet
import pytest

from aragora_storage_core.aio import bridge
from aragora_storage_core.aio.outcome import WriteOutcome, write_outcome
from tests.aio.cancelling import cancellation_of

flag: contextvars.ContextVar[str] = contextvars.ContextVar("flag", default="caller's")


class Server:
    """Counts what store code sends: each read and write coroutine that was awaited."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.entered = 0
        self.in_greenlet: list[bool] = []

    async def read(self, name: str, delay: float = 0.0) -> str:
        self.sent[name] += 1
        await asyncio.sleep(delay)
        return f"value of {name}"

    async def write(self, name: str) -> str:
        self.sent[name] += 1
        await asyncio.sleep(0)
        return f"wrote {name}"

    def enter(self, loop_greenlet: greenlet.greenlet) -> None:
        """Note one pass through the store method and whether it ran in a greenlet."""
        self.entered += 1
        self.in_greenlet.append(greenlet.getcurrent() is not loop_greenlet)


def run(store_code: Callable[[Server, greenlet.greenlet], Any], calls: int = 1,
        server: Server | None = None) -> tuple[Server, list[Any]]:
    """Await ``store_code`` through the bridge ``calls`` times, one after another."""
    server = server or Server()

    async def scenario() -> list[Any]:
        here = greenlet.getcurrent()
        return [await bridge.run(store_code, server, here) for _ in range(calls)]

    return server, asyncio.run(scenario())


def test_a_call_of_reads_only_runs_without_a_greenlet_and_sends_each_read_once() -> None:
    def two_reads(server: Server, here: greenlet.greenlet) -> list[str]:
        server.enter(here)
        first = bridge.await_(server.read("a"), key=("a",))
        return [first, bridge.await_(server.read("b"), key=("b",))]

    server, results = run(two_reads, calls=2)
    assert results == [["value of a", "value of b"]] * 2
    assert server.sent == {"a": 2, "b": 2}
    assert server.in_greenlet == [False] * 6  # three passes a call, none in a greenlet


def test_a_write_after_a_read_runs_in_a_greenlet_without_sending_the_read_again() -> None:
    def read_then_write(server: Server, here: greenlet.greenlet) -> tuple[str, str]:
        server.enter(here)
        found = bridge.await_(server.read("row"), key=("row",))
        return found, bridge.await_(server.write("row"))

    server, results = run(read_then_write, calls=3)
    assert results == [("value of row", "wrote row")] * 3
    assert server.sent == {"row": 6}  # 3 reads, 3 writes: none sent twice
    # the first call tried directly, then its greenlet; the next calls went straight there
    assert server.in_greenlet == [False, False, True, True, True]


def test_a_call_writing_first_learns_to_go_straight_to_a_greenlet() -> None:
    def write_first(server: Server, here: greenlet.greenlet) -> str:
        server.enter(here)
        return bridge.await_(server.write("w"))

    server, results = run(write_first, calls=3)
    assert results == ["wrote w"] * 3
    assert server.sent == {"w": 3}
    assert server.in_greenlet == [False, True, True, True]


def test_a_read_that_differs_between_passes_is_asked_afresh_in_a_greenlet() -> None:
    def moving_read(server: Server, here: greenlet.greenlet) -> str:
        server.enter(here)
        name = f"read-{server.entered}"  # like a parameter taken from the clock
        return bridge.await_(server.read(name), key=(name,))

    server, results = run(moving_read, calls=2)
    # call 1: pass 1 reads read-1; pass 2 asks read-2 (differs): its greenlet reads
    # read-3; call 2 goes straight to a greenlet and reads read-4
    assert results == ["value of read-3", "value of read-4"]
    assert server.sent == {"read-1": 1, "read-3": 1, "read-4": 1}
    assert server.in_greenlet == [False, False, True, True]


def test_more_reads_than_the_direct_passes_take_finish_in_a_greenlet() -> None:
    count = bridge._MAX_ANSWERS + 2

    def many_reads(server: Server, here: greenlet.greenlet) -> list[str]:
        server.enter(here)
        return [bridge.await_(server.read(f"r{n}"), key=(n,)) for n in range(count)]

    server, results = run(many_reads)
    assert results == [[f"value of r{n}" for n in range(count)]]
    assert server.sent == {f"r{n}": 1 for n in range(count)}
    assert server.in_greenlet[-1] is True


def test_a_read_error_is_raised_where_the_store_code_reads_and_sent_once() -> None:
    calls = Counter[str]()

    async def refused() -> str:
        calls["refused"] += 1
        raise ValueError("the server says no")

    def handles(server: Server, here: greenlet.greenlet) -> str:
        server.enter(here)
        try:
            return bridge.await_(refused(), key=("refused",))
        except ValueError as exc:
            return f"handled: {exc}"

    server, results = run(handles)
    assert results == ["handled: the server says no"]
    assert calls == {"refused": 1}
    assert server.in_greenlet == [False, False]


def test_an_error_of_the_store_code_itself_reaches_the_caller() -> None:
    def not_found(server: Server, here: greenlet.greenlet) -> str:
        bridge.await_(server.read("k"), key=("k",))
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        run(not_found)


def test_a_direct_read_cancelled_while_awaited_says_nothing_was_applied() -> None:
    server = Server()

    def slow_read(server: Server, here: greenlet.greenlet) -> str:
        return bridge.await_(server.read("slow", delay=5), key=("slow",))

    cancelled = cancellation_of(
        lambda: bridge.run(slow_read, server, greenlet.getcurrent()), after=0.05)
    assert write_outcome(cancelled) is WriteOutcome.NOT_APPLIED
    assert server.sent == {"slow": 1}


def test_what_a_direct_call_sets_in_context_variables_stays_in_the_call() -> None:
    def sets_and_reads(server: Server, here: greenlet.greenlet) -> str:
        before = flag.get()
        flag.set("set by the call")
        bridge.await_(server.read("x"), key=("x",))
        return before

    async def scenario() -> tuple[str, str]:
        flag.set("caller's, set in the task")
        seen = await bridge.run(sets_and_reads, Server(), greenlet.getcurrent())
        return seen, flag.get()

    assert asyncio.run(scenario()) == ("caller's, set in the task",
                                       "caller's, set in the task")
