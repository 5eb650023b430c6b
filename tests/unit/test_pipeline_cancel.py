"""The batch pipeline stops when cancelled, even when a wake-up comes in the same turn of the event loop.

``Gateway.shutdown`` cancels the pipeline right after the link's last events
woke it. On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that
arrives together with the completion of what it waits for: a pipeline idling in
``wait_for(wake.wait())`` went on looping, and the shutdown's ``gather`` waited
for it forever (found by ``tests/reliability/test_fuzz_gateway.py``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from smsgw.gateway.pipeline import Pipeline


class _Idle:
    """Link, inbound, sender and confirmations of a gateway with nothing to do for a minute."""

    busy = False
    wake: Any = None

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def due(self, now: float) -> bool:
        return False

    def next_due(self, now: float) -> float:
        return 60.0

    def pump(self, now: float, wall: datetime) -> None:
        pass


async def test_a_cancel_that_comes_with_a_wake_up_stops_the_pipeline() -> None:
    idle = _Idle()
    pipeline = Pipeline(None, idle, idle, idle, idle)  # type: ignore[arg-type]  # no batch is ever run
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.01)  # idling, waiting to be woken
    pipeline.wake()
    task.cancel()  # in the same turn, as the shutdown does
    done, _ = await asyncio.wait({task}, timeout=2.0)
    try:
        assert task in done and task.cancelled(), "the pipeline went on after its cancellation"
    finally:
        task.cancel()


async def test_a_wake_up_alone_ends_the_wait() -> None:
    idle = _Idle()
    pipeline = Pipeline(None, idle, idle, idle, idle)  # type: ignore[arg-type]
    pumped: list[float] = []
    idle.pump = lambda now, wall: pumped.append(now)  # type: ignore[method-assign]
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.01)
    pipeline.wake()
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(pumped) == 1  # woken once, long before next_due's minute
