"""The gateway's ESME: aiosmpplib's, with the inbound and outbound paths replaced.

aiosmpplib keeps what it does well: the TCP connection, the bind (``connect``),
the reconnect loop (``start``, with our jittered backoff) and enquire_link
keep-alives. Its serial read loop is replaced (it acknowledges one deliver_sm at
a time, nacks data codings it cannot decode and dies on vendor-specific
statuses; see ../shared/NOTES.md), and so is its sender (no window, characters
counted instead of septets, an O(n) correlator): ``_receive_data`` decodes with
our codec and hands deliver_sm to :class:`Inbound`, ``_dequeue_messages`` runs
our :class:`Sender`. ``shutdown`` waits for the unbind_resp that the library's
``stop`` does not wait for.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import structlog
from aiosmpplib import ESME, BindMode, EnquireLink
from aiosmpplib.state import SmppError, SmppSessionState

from ..config import SmppConfig
from ..smpp import pdu as smpp
from .acks import AckTracker
from .inbound import Inbound
from .library import JitteredBackoff, NullCorrelator
from .outbound import Sender

__all__ = ["GatewayEsme"]

log = structlog.get_logger("smsgw.smpp")

_MAX_PDU = 70_000  # message_payload can carry 64 KiB


class _Connection:
    """The link as seen by the deliver_sm read on one connection.

    A deliver_sm_resp answers a sequence number of the connection its deliver_sm
    came on: once that connection ended, a response goes nowhere (not on the next
    connection, where the number means another PDU, and not into a dead socket
    whose response AckTracker would then count as read by the SMSC).
    """

    __slots__ = ("_esme", "_writer", "open")

    def __init__(self, esme: GatewayEsme) -> None:
        self._esme = esme
        self._writer = esme._writer
        self.open = True

    def write_pdu(self, data: bytes) -> bool:
        if not self.open or self._esme._writer is not self._writer:
            return False
        return self._esme.write_pdu(data)

    def peek_sequence(self) -> int:
        return self._esme.peek_sequence()

    def probe(self) -> None:
        if self.open:
            self._esme.probe()


class GatewayEsme(ESME):
    def __init__(
        self,
        config: SmppConfig,
        *,
        inbound: Inbound,
        outbound: Sender,
        acks: AckTracker,
        log_handler: logging.Handler | None = None,
        events: Any = None,
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
            retry_timer=JitteredBackoff(config.reconnect_min, config.reconnect_max),
        )
        self.inbound = inbound
        self.outbound = outbound
        self.acks = acks
        self.events = events
        self._unbind_resp = asyncio.Event()
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self.binds = 0

    # --- what Inbound and Sender use ---------------------------------------------------

    def write_pdu(self, data: bytes) -> bool:
        """Queue a PDU; everything queued in one turn of the event loop goes out in one write."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return False
        self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_out)
        return True

    def _flush_out(self) -> None:
        self._flush_scheduled = False
        writer, out = self._writer, self._out
        if out:
            self._out = []
            if writer is not None and not writer.is_closing():
                writer.write(b"".join(out))

    async def _send_data(self, smpp_message: Any) -> None:
        # The library's own PDUs (bind, enquire_link, unbind) must not overtake ours:
        # AckTracker relies on the SMSC reading our stream in the order we wrote it.
        self._flush_out()
        if isinstance(smpp_message, EnquireLink):
            # The library sends these from a task nobody awaits: a link lost meanwhile must
            # not end as "Task exception was never retrieved" (the read loop reports the loss).
            try:
                await super()._send_data(smpp_message)
            except (ConnectionError, OSError) as error:
                log.info("enquire_link_not_sent", reason=str(error) or type(error).__name__)
            return
        await super()._send_data(smpp_message)

    def next_sequence(self) -> int:
        return self.sequence_generator.next_sequence()

    def peek_sequence(self) -> int:
        """The sequence number the next request will get."""
        return self.sequence_generator.sequence_num + 1

    def probe(self) -> None:
        """An enquire_link now: its response shows the SMSC has read everything we wrote before it."""
        if self.bound:
            self.write_pdu(smpp.enquire_link(self.next_sequence()))

    def _binding(self) -> bool:
        state: SmppSessionState = self._session_state
        return state == SmppSessionState.OPEN

    @property
    def bound(self) -> bool:
        return self._session_state == self.bind_mode.session_state

    # --- connection ---------------------------------------------------------------------

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
            self._emit("bind_refused", error.command_status.name)
            raise
        except (OSError, TimeoutError) as error:
            log.warning(
                "smpp_connect_failed",
                host=self.smsc_host,
                port=self.smsc_port,
                error=str(error) or type(error).__name__,
            )
            raise
        self.binds += 1
        self._unbind_resp.clear()
        log.info("smpp_bound", host=self.smsc_host, port=self.smsc_port, system_id=self.system_id, binds=self.binds)
        self._emit("bound", self.binds)
        self.outbound.notify()

    def _emit(self, event: str, value: Any = None) -> None:
        if self.events is not None:
            self.events(event, value)

    async def _read_frame(self) -> tuple[smpp.Header, bytes]:
        assert self._reader is not None
        header = smpp.parse_header(await self._reader.readexactly(16))
        if not 16 <= header.length <= _MAX_PDU:
            # SMPP 3.4: generic_nack ESME_RINVCMDLEN, then close (the stream cannot be resynchronised).
            self.write_pdu(smpp.generic_nack(header.sequence, smpp.ESME_RINVCMDLEN))
            raise ValueError(f"command_length {header.length} out of range")
        body = await self._reader.readexactly(header.length - 16) if header.length > 16 else b""
        return header, body

    async def _receive_data(self) -> bytes | None:
        """Read PDUs until the link ends; never lets a bad PDU take the session down."""
        link = _Connection(self)
        try:
            while True:
                header, body = await self._read_frame()
                self._data_received.set()
                command = header.command_id
                if command == smpp.DELIVER_SM:
                    await self.inbound.accept(link, header, body)
                elif command == smpp.SUBMIT_SM_RESP or command == smpp.GENERIC_NACK:
                    self.acks.answered(header.sequence)
                    if not self.outbound.on_response(header, body) and command == smpp.GENERIC_NACK:
                        log.warning("generic_nack", status=smpp.status_name(header.status), sequence=header.sequence)
                elif command == smpp.ENQUIRE_LINK:
                    self.write_pdu(smpp.enquire_link_resp(header.sequence))
                elif command == smpp.ENQUIRE_LINK_RESP:
                    self.acks.answered(header.sequence)
                elif command == smpp.UNBIND:
                    log.warning("smpp_unbind_by_smsc", action="reconnect")
                    self.write_pdu(smpp.unbind_resp(header.sequence))
                    self._emit("unbound", "smsc")
                    return None
                elif command == smpp.UNBIND_RESP:
                    self.acks.answered(header.sequence)  # the unbind came after every response we wrote
                    self._unbind_resp.set()
                    return None
                elif command & 0x80000000:
                    log.warning("unexpected_response", command_id=hex(command), sequence=header.sequence)
                else:
                    log.warning("unknown_command", command_id=hex(command), sequence=header.sequence)
                    self.write_pdu(smpp.generic_nack(header.sequence, smpp.ESME_RINVCMDID))
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            log.warning("smpp_link_lost", error=type(error).__name__)
            self._emit("link_lost", None)
            return None
        except ValueError as error:
            log.error("smpp_bad_pdu", error=str(error), action="reconnect")
            self._emit("link_lost", None)
            return None
        finally:
            link.open = False  # MOs of this connection still committing: their responses go nowhere
            self.acks.link_lost()

    async def _dequeue_messages(self) -> dict[str, Any]:
        try:
            await self.outbound.serve(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbound_loop_failed", action="reconnect")
        return {"reason": "sender stopped"}

    # --- lifecycle ------------------------------------------------------------------------

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Stop taking MOs, finish in-flight work, unbind and wait for unbind_resp."""
        await self.inbound.drain(timeout)
        await self.outbound.drain(timeout)
        # A bind under way finishes (or fails) first, so that a session the SMSC
        # counts as bound is never left without an unbind.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while self._binding() and loop.time() < deadline:  # noqa: ASYNC110 - the library keeps no event for it
            await asyncio.sleep(0.05)
        self._is_shutting_down = True
        if self.bound:
            self._unbind_resp.clear()
            if self.write_pdu(smpp.unbind(self.next_sequence())):
                try:
                    await asyncio.wait_for(self._unbind_resp.wait(), timeout=5.0)
                    log.info("smpp_unbound")
                except TimeoutError:
                    log.warning("smpp_unbind_resp_missing", waited=5.0)
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.close()
        self._session_state = SmppSessionState.CLOSED
        self._bound.clear()
        try:
            await asyncio.wait_for(self._shut_down.wait(), timeout=5.0)
        except TimeoutError:
            pass
