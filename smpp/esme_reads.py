"""Which of our deliver_sm_resp the SMSC has read, learnt from the order of its stream.

The SMSC reads what we write in order, so once it answers a request we wrote
after a deliver_sm_resp, it has read that response. Each response worth knowing
about is noted with the sequence number of the next request we will write
(`written`); a response to any request at or after that number confirms it
(`confirm`). When no request has been written since a response, nothing can
confirm it: `waiting_since` says since when, and the session then sends an
enquire_link to learn it.
"""

from __future__ import annotations

from collections import deque

from .sequences import at_or_after

__all__ = ["ReadTracker"]


class ReadTracker:
    def __init__(self) -> None:
        self._unread: deque[tuple[int, object, float]] = deque()  # (first request that proves it, tag, at)

    def __len__(self) -> int:
        return len(self._unread)

    def written(self, next_request: int, tag: object, now: float) -> None:
        """A response was written; ``next_request`` is the sequence number the next request will get."""
        self._unread.append((next_request, tag, now))

    def confirm(self, sequence: int) -> tuple[object, ...]:
        """The SMSC answered our request ``sequence``: the tags of the responses it has read by then."""
        unread = self._unread
        tags = []
        while unread and at_or_after(sequence, unread[0][0]):
            tags.append(unread.popleft()[1])
        return tuple(tags)

    def waiting_since(self, next_request: int) -> float | None:
        """When the oldest response that no request written since can confirm was written."""
        since = None
        for first, _, at in reversed(self._unread):
            if first != next_request:
                break
            since = at
        return since

    def forget(self) -> tuple[object, ...]:
        """The link is gone: the tags never known read."""
        tags = tuple(tag for _, tag, _ in self._unread)
        self._unread.clear()
        return tags
