"""One value per event loop: made once per loop, forgotten on request or with the loop."""

from __future__ import annotations

import asyncio
import gc
import weakref

from aragora_storage_core.aio.per_loop import PerLoop


def test_each_loop_gets_its_own_value_made_once() -> None:
    made: list[asyncio.AbstractEventLoop] = []
    values = PerLoop(lambda loop: made.append(loop) or len(made))

    async def twice() -> tuple[int, int]:
        return values.here(), values.here()

    assert asyncio.run(twice()) == (1, 1)
    assert asyncio.run(twice()) == (2, 2)
    assert len(made) == 2 and made[0] is not made[1]


def test_pop_and_clear_forget_values() -> None:
    values = PerLoop(lambda loop: object())

    async def scenario() -> tuple[object, ...]:
        first = values.here()
        gone, again = values.pop(), values.pop()
        fresh = values.here()
        kept = values.clear()
        return first, gone, again, fresh, kept, asyncio.get_running_loop(), len(values)

    first, gone, again, fresh, kept, loop, left = asyncio.run(scenario())
    assert gone is first and again is None and fresh is not first
    assert kept == [(loop, fresh)] and left == 0


def test_a_finished_loop_is_not_kept_alive() -> None:
    values = PerLoop(lambda loop: object())
    loop = asyncio.new_event_loop()
    loop.run_until_complete(asyncio.sleep(0, result=None))

    async def use() -> object:
        return values.here()

    loop.run_until_complete(use())
    loop.close()
    ref = weakref.ref(loop)
    del loop
    gc.collect()
    assert ref() is None
    assert len(values) == 0
