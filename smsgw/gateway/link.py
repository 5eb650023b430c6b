"""The live SMPP link: one sans-IO ESME session per connection, fed bytes and time, its events passed on.

:class:`SmppLink` is what the transport (aiosmpplib, ``transport.py``) drives:
it creates a fresh :class:`smpp.EsmeSession` when a bind succeeds, feeds it what
the socket read and the loop's time, hands the session's events to the gateway
(one call per batch of events), and writes what the session has to send — once
per turn of the event loop, so the responses of one batch go out in one write.

Every deliver_sm is answered on the connection it came on: a response carries
the connection's ``generation``, and one for an older connection is dropped (its
sequence number would mean another PDU on the new one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from smpp.bodies import ShortMessage
from smpp.constants import Status
from smpp.esme_events import EsmeEvent
from smpp.esme_session import EsmeConfig, EsmeSession, Sequences

from .transport import AiosmpplibTransport

__all__ = ["SmppLink"]

_TICK = 0.05  # the session's timers are checked this often at most


class SmppLink:
    def __init__(
        self,
        config: EsmeConfig,
        on_events: Callable[[list[EsmeEvent]], None],
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.sequences = Sequences()
        self.session: EsmeSession | None = None
        self.generation = 0
        self._on_events = on_events
        self._clock = clock
        self._transport: AiosmpplibTransport | None = None
        self._flush_scheduled = False
        self.room: Callable[[], Awaitable[object]] = _always  # back-pressure: the reader waits on it

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    # --- the transport's calls -----------------------------------------------------------------

    def connected(self, transport: AiosmpplibTransport) -> None:
        self._transport = transport
        self.generation += 1
        self.session = EsmeSession(self.config, self.now(), self.sequences)
        self._dispatch(self.session.adopt_bind())

    def received(self, data: bytes) -> bool:
        """Feed what the socket read; False when the session wants the connection closed (answers written)."""
        session = self.session
        if session is None:
            return False
        self._dispatch(session.receive(data, self.now()))
        if session.wants_close:
            self.flush()
            return False
        self.flush_soon()
        return True

    def tick(self) -> float:
        session = self.session
        if session is not None:
            self._dispatch(session.tick(self.now()))
            self.flush_soon()
        return _TICK

    def disconnected(self, reason: str) -> None:
        session, self.session = self.session, None
        if session is not None:
            self._dispatch(session.connection_lost(reason))
        self._transport = None

    # --- the gateway's calls ---------------------------------------------------------------------

    @property
    def bound(self) -> bool:
        return self.session is not None and self.session.bound

    @property
    def can_submit(self) -> bool:
        return self.session is not None and self.session.can_submit

    def submit(self, message: ShortMessage, ref: object) -> bool:
        """Write a submit_sm if the window has room (ValueError if it cannot be encoded)."""
        session = self.session
        if session is None or not session.can_submit:
            return False
        session.submit(message, ref, self.now())
        self.flush_soon()
        return True

    def respond(self, generation: int, sequence: int, status: int = Status.ESME_ROK, tag: object = None) -> bool:
        """Answer a deliver_sm of connection ``generation``; False if that connection is gone."""
        session = self.session
        if session is None or generation != self.generation:
            return False
        written = session.respond(sequence, self.now(), status, tag)
        if written:
            self.flush_soon()
        return written

    def unbind(self) -> bool:
        session = self.session
        if session is None or not session.unbind(self.now()):
            return False
        self.flush()
        return True

    def flush_soon(self) -> None:
        """Write what the session has to send at the end of this turn of the event loop."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        session, transport = self.session, self._transport
        if session is None or transport is None:
            return
        data = session.data_to_send()
        if data:
            transport.write(data)
        if session.wants_close:
            transport.close()

    def _dispatch(self, events: list[EsmeEvent]) -> None:
        if events:
            self._on_events(events)


async def _always() -> None:
    return None
