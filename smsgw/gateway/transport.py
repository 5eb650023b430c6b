"""aiosmpplib as the gateway's transport: TCP connection, bind and reconnect. The only module touching its internals.

The product's design keeps aiosmpplib (0.7.4, pinned in pyproject.toml) as the
ESME transport. What it does well stays: ``connect`` (TCP, then the bind
exchange) and ``start`` (connect, run until the link ends, back off, connect
again — with our jittered ``retry_timer``). What NOTES.md measured as broken is
replaced, per connection, by overriding three of its private coroutines:

- ``_receive_data`` reads raw bytes and hands them to the session core
  (``smpp.EsmeSession`` through :class:`~smsgw.gateway.link.SmppLink`);
- ``_connection_keeper`` pumps the session's timers instead of its own
  keep-alive (the session sends enquire_link and watches for the answer);
- ``_dequeue_messages`` waits for the connection to end: replies are written by
  our sender through the session, never through the library's broker.

Sequence numbers come from the session's counter (``sequence_generator``), so
the library's bind and ours never collide. ``REQUIRED_INTERNALS`` lists what
this relies on; ``check_internals`` (run at import and by a test) fails with a
clear message if an upgrade of aiosmpplib changed it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from aiosmpplib import ESME, AbstractSequenceGenerator, BindMode
from aiosmpplib.state import SmppError, SmppSessionState

from smpp.esme_session import Sequences

from ..config import SmppConfig
from .library import JitteredBackoff, NullCorrelator

__all__ = ["REQUIRED_INTERNALS", "AiosmpplibTransport", "LinkOwner", "check_internals"]

log = structlog.get_logger("smsgw.smpp")

_READ_SIZE = 65536

#: The private members of aiosmpplib.ESME this adapter overrides or reads, with their parameters.
REQUIRED_INTERNALS: dict[str, tuple[str, ...] | None] = {
    "_receive_data": ("self",),
    "_dequeue_messages": ("self",),
    "_connection_keeper": ("self",),
    "_send_data": ("self", "smpp_message"),
    "connect": ("self",),
    "start": ("self",),
    "_reader": None,
    "_writer": None,
    "_session_state": None,
    "_is_shutting_down": None,
    "_bound": None,
    "_shut_down": None,
}


def check_internals() -> None:
    """Raise RuntimeError naming what changed if aiosmpplib no longer has what this adapter relies on."""
    probe = ESME("127.0.0.1", 1, "x", "x")
    for name, parameters in REQUIRED_INTERNALS.items():
        if parameters is None:
            if not hasattr(probe, name):
                raise RuntimeError(
                    f"aiosmpplib.ESME has no attribute {name!r}: smsgw's transport needs aiosmpplib 0.7.4"
                )
            continue
        member = getattr(ESME, name, None)
        if member is None or not inspect.iscoroutinefunction(member):
            raise RuntimeError(f"aiosmpplib.ESME.{name} is not a coroutine any more: smsgw needs aiosmpplib 0.7.4")
        found = tuple(inspect.signature(member).parameters)
        if found != parameters:
            raise RuntimeError(f"aiosmpplib.ESME.{name}{found} changed (expected {parameters}): pin aiosmpplib 0.7.4")


class LinkOwner(Protocol):
    """What the transport tells about each connection (``SmppLink``)."""

    def connected(self, transport: AiosmpplibTransport) -> None: ...
    def received(self, data: bytes) -> bool: ...  # False: the session wants the connection closed
    @property
    def room(self) -> Callable[[], Awaitable[object]]: ...  # returns when the gateway takes more MOs
    def tick(self) -> float: ...  # seconds until the next tick is due
    def disconnected(self, reason: str) -> None: ...


class _SharedSequences(AbstractSequenceGenerator):  # type: ignore[misc]
    def __init__(self, sequences: Sequences) -> None:
        self._sequences = sequences

    def next_sequence(self) -> int:
        return self._sequences.next()


class AiosmpplibTransport(ESME):  # type: ignore[misc]
    def __init__(
        self,
        config: SmppConfig,
        owner: LinkOwner,
        sequences: Sequences,
        *,
        log_handler: logging.Handler | None = None,
        on_bind_refused: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(
            smsc_host=config.host,
            smsc_port=config.port,
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
            bind_mode=BindMode.TRANSCEIVER,
            enquire_link_interval=float(config.enquire_link_interval),
            socket_timeout=float(config.socket_timeout),
            log_handler=log_handler,
            log_level="WARNING",
            correlator=NullCorrelator(),
            sequence_generator=_SharedSequences(sequences),
            retry_timer=JitteredBackoff(config.reconnect_min, config.reconnect_max),
        )
        self._owner = owner
        self._on_bind_refused = on_bind_refused
        self._ended: asyncio.Event | None = None

    # --- the transport's side, for SmppLink ----------------------------------------------------

    @property
    def connected_now(self) -> bool:
        writer = self._writer
        return writer is not None and not writer.is_closing()

    def write(self, data: bytes) -> bool:
        writer = self._writer
        if writer is None or writer.is_closing():
            return False
        writer.write(data)
        return True

    def close(self) -> None:
        """Close the connection now (after what was written); ``start`` reconnects unless stopping.

        The writer is forgotten too: the library's ``_disconnect`` (when its ``start`` is
        cancelled) would otherwise try to unbind on a closed transport and log a traceback.
        """
        writer: asyncio.StreamWriter | None = self._writer  # type: ignore[has-type]
        self._writer = None
        if writer is not None and not writer.is_closing():
            writer.close()

    def stop_reconnecting(self) -> None:
        self._is_shutting_down = True

    # --- aiosmpplib's life cycle, overridden ------------------------------------------------------

    async def connect(self) -> None:
        try:
            await super().connect()
        except SmppError as error:
            log.error(
                "smpp_bind_refused",
                status=error.command_status.name,
                host=self.smsc_host,
                port=self.smsc_port,
                system_id=self.system_id,
                hint="check [smpp] system_id and password (SMSGW_SMPP_PASSWORD)",
            )
            if self._on_bind_refused is not None:
                self._on_bind_refused(error.command_status.name)
            raise
        except (OSError, TimeoutError) as error:
            log.warning(
                "smpp_connect_failed",
                host=self.smsc_host,
                port=self.smsc_port,
                error=str(error) or type(error).__name__,
            )
            raise
        self._ended = asyncio.Event()
        self._owner.connected(self)

    async def _receive_data(self) -> None:
        reader, reason = self._reader, "closed by the SMSC"
        assert reader is not None
        try:
            while True:
                data = await reader.read(_READ_SIZE)
                if not data:
                    break
                if not self._owner.received(data):
                    reason = "closed by the session"
                    break
                await self._owner.room()
        except (ConnectionError, OSError) as error:
            reason = str(error) or type(error).__name__
        finally:
            self.close()
            self._owner.disconnected(reason)
            if self._ended is not None:
                self._ended.set()

    async def _connection_keeper(self) -> None:
        while self._ended is not None and not self._ended.is_set():
            delay = self._owner.tick()
            if self._ended.is_set():
                return
            try:  # not wait_for: on 3.11 it swallows a cancel that comes with a wake (shutdown could hang)
                async with asyncio.timeout(delay):
                    await self._ended.wait()
            except TimeoutError:
                pass

    async def _dequeue_messages(self) -> None:
        if self._ended is not None:
            await self._ended.wait()

    def mark_closed(self) -> None:
        """After ``start`` died: the next ``start`` must connect again."""
        self._session_state = SmppSessionState.CLOSED


check_internals()
