"""Live news of the store for HTTP readers: long polls of `/api/mt` and the page's event stream.

`MtWaiter` wakes the long polls when an MT is recorded. `Feed` hands every record added
or changed (an MO's state, an MT, a receipt) to each subscribed event stream, filtered by
the numbers it follows, and notices (a script's progress) to all of them; a stream that
does not keep up is told to resynchronise instead of growing without bound. `close` wakes
every stream with `None`: the server is stopping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .store import MtRecord, Record

__all__ = ["Feed", "Item", "MtWaiter", "Notice", "Subscription"]

QUEUE_LIMIT = 1000  # records waiting for one slow reader before it must resynchronise


class MtWaiter:
    """Wakes long-polling readers when an MT is recorded."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._waiting = 0

    def notify(self, mt: MtRecord) -> None:
        if self._waiting:
            self._event.set()
            self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        self._waiting += 1
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._waiting -= 1


@dataclass(frozen=True, slots=True)
class Notice:
    """A named event for every stream (e.g. `script`), with its JSON data."""

    name: str
    data: dict[str, Any]


Item = Record | Notice | None  # None: the server is stopping


@dataclass(eq=False, slots=True)
class Subscription:
    """One event stream: the records for it, and whether it missed some."""

    numbers: frozenset[str] | None  # None: every number
    queue: asyncio.Queue[Item] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    overflowed: bool = False

    def wants(self, item: Item) -> bool:
        numbers = self.numbers
        if numbers is None or item is None or isinstance(item, Notice):
            return True
        return item.source in numbers or item.destination in numbers

    def offer(self, item: Item) -> None:
        if self.overflowed or not self.wants(item):
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True

    def drain(self) -> None:
        """Forget what is queued (after telling the reader to resynchronise)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False


class Feed:
    """Fans the store's changes out to the subscribed event streams."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    @property
    def readers(self) -> int:
        return len(self._subscriptions)

    def publish(self, record: Record) -> None:
        for subscription in self._subscriptions:
            subscription.offer(record)

    def notice(self, name: str, data: dict[str, Any]) -> None:
        for subscription in self._subscriptions:
            subscription.offer(Notice(name, data))

    def close(self) -> None:
        for subscription in self._subscriptions:
            subscription.drain()
            subscription.queue.put_nowait(None)

    def subscribe(self, numbers: Iterable[str] | None) -> Subscription:
        subscription = Subscription(None if numbers is None else frozenset(numbers))
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
