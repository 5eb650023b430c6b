"""One SMPP session, sans-IO (cf. h11/_connection.py).

The owner pushes received bytes in (`receive_data`), calls `tick` with the time, pulls
bytes out (`data_to_send`) and reads the returned events. The session never touches a
socket or a clock: time is a parameter. Whatever a peer sends, nothing raises out of
`receive_data`; at worst the session closes itself (`wants_close`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .events import (
    Bound,
    Closed,
    DeliverExpired,
    DeliverResponded,
    Event,
    SubmitReceived,
    Unbound,
)
from .framing import Framer, FramingError
from .pdu import (
    HEADER,
    HEADER_SIZE,
    BindRequest,
    Cmd,
    PduError,
    ShortMessage,
    Status,
    decode_bind,
    decode_message_id,
    decode_sm,
    encode_bind_resp,
    encode_pdu,
    encode_sm,
)
from .states import (
    ADMISSION,
    BIND_TRIGGERS,
    BOUND,
    CAN_RECEIVE,
    RESPONSES,
    State,
    Trigger,
    next_state,
)

__all__ = ["Authenticator", "PduObserver", "Session", "SessionConfig"]

log = logging.getLogger(__name__)

Authenticator = Callable[[str, str], int]
"""(system_id, password) → command_status (0 = accepted)."""

PduObserver = Callable[[str, int, int, int, object], None]
"""(direction "in"/"out", command_id, command_status, sequence, decoded body or None)."""

_DECODERS: dict[int, Callable[[bytes], object]] = {
    Cmd.BIND_TRANSMITTER: decode_bind,
    Cmd.BIND_RECEIVER: decode_bind,
    Cmd.BIND_TRANSCEIVER: decode_bind,
    Cmd.SUBMIT_SM: decode_sm,
    Cmd.DELIVER_SM_RESP: decode_message_id,
}
_RESP = 0x80000000
_MAX_SEQUENCE = 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class SessionConfig:
    smsc_system_id: str = "SMSCSIM"
    max_pdu_size: int = 65536
    mo_window: int = 10  # deliver_sm we may have outstanding
    submit_window: int = 1000  # submit_sm the peer may have awaiting our response
    response_timeout: float = 30.0  # for deliver_sm_resp (then DeliverExpired) and unbind_resp
    enquire_link_interval: float = 30.0  # we ping after this long without a PDU from the peer
    idle_timeout: float = 90.0  # and close after this long
    bind_timeout: float = 30.0  # an open connection must bind within this


class Session:
    """The SMSC side of one SMPP connection."""

    def __init__(
        self,
        config: SessionConfig,
        authenticate: Authenticator,
        now: float,
        observer: PduObserver | None = None,
    ) -> None:
        self.config = config
        self.state = State.OPEN
        self.system_id = ""
        self.close_reason = ""
        self._authenticate = authenticate
        self._observer = observer
        self._framer = Framer(config.max_pdu_size)
        self._out: list[bytes] = []
        self._sequence = 0
        self._delivers: dict[int, tuple[object, float]] = {}  # seq → (ref, deadline)
        self._pings: dict[int, float] = {}  # enquire_link seq → sent at
        self._submits: set[int] = set()  # submit_sm sequences awaiting our response
        self._opened_at = now
        self._last_rx = now
        self._last_ping = now
        self._unbind_deadline = 0.0

    # ---- reading -------------------------------------------------------------------

    @property
    def wants_close(self) -> bool:
        """True once the owner should close the connection (after sending pending bytes)."""
        return self.state in (State.UNBOUND, State.CLOSED)

    @property
    def can_deliver(self) -> bool:
        """Bound as a receiver with room in the deliver_sm window."""
        return self.state in CAN_RECEIVE and len(self._delivers) < self.config.mo_window

    @property
    def has_output(self) -> bool:
        return bool(self._out)

    @property
    def outstanding_delivers(self) -> int:
        return len(self._delivers)

    @property
    def pending_submits(self) -> int:
        return len(self._submits)

    def data_to_send(self) -> bytes:
        """Bytes queued for the peer since the last call."""
        out = b"".join(self._out)
        self._out.clear()
        return out

    # ---- input ---------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed received bytes; returns the events they caused."""
        events: list[Event] = []
        if self.state is State.CLOSED:
            return events
        self._framer.feed(data)
        while self.state is not State.CLOSED:  # type: ignore[comparison-overlap]  # handlers below close it
            try:
                frame = self._framer.next_frame()
            except FramingError as err:
                self._send(Cmd.GENERIC_NACK, Status.ESME_RINVCMDLEN, err.sequence)
                events += self.close(str(err))
                break
            if frame is None:
                break
            self._last_rx = now
            try:
                self._handle(frame, events)
            except Exception:  # a bug must cost one session, never the server
                log.exception("session_internal_error")
                events += self.close("internal error")
        return events

    def connection_lost(self) -> list[Event]:
        """The transport is gone."""
        return self.close("connection lost")

    def close(self, reason: str) -> list[Event]:
        """Close now; unanswered deliver_sm are handed back in the Closed event."""
        if self.state is State.CLOSED:
            return []
        self.state = next_state(self.state, Trigger.CLOSE)
        self.close_reason = reason
        undelivered = tuple(ref for ref, _ in self._delivers.values())
        self._delivers.clear()
        self._submits.clear()
        self._pings.clear()
        return [Closed(reason, undelivered)]

    def tick(self, now: float) -> list[Event]:
        """Timers: bind and idle timeouts, deliver_sm response timeouts, enquire_link."""
        state, config = self.state, self.config
        if state is State.CLOSED:
            return []
        if state is State.OPEN and now - self._opened_at >= config.bind_timeout:
            return self.close("no bind within the bind timeout")
        if now - self._last_rx >= config.idle_timeout:
            return self.close("idle timeout")
        if state is State.UNBINDING and now >= self._unbind_deadline:
            return self.close("no unbind_resp")
        events: list[Event] = []
        for seq, (ref, deadline) in list(self._delivers.items()):
            if deadline > now:
                break  # insertion order = deadline order (one timeout for all)
            del self._delivers[seq]
            events.append(DeliverExpired(ref))
        if (
            state in BOUND
            and not self._pings
            and now - self._last_rx >= config.enquire_link_interval
            and now - self._last_ping >= config.enquire_link_interval
        ):
            seq = self._next_sequence()
            self._pings[seq] = now
            self._last_ping = now
            self._send(Cmd.ENQUIRE_LINK, Status.ESME_ROK, seq)
        return events

    # ---- output commands -----------------------------------------------------------

    def send_deliver(self, message: ShortMessage, ref: object, now: float) -> int:
        """Send a deliver_sm; `ref` comes back in DeliverResponded/Expired or Closed."""
        if not self.can_deliver:
            raise RuntimeError("session cannot deliver now")
        seq = self._next_sequence()
        self._delivers[seq] = (ref, now + self.config.response_timeout)
        self._send(Cmd.DELIVER_SM, Status.ESME_ROK, seq, encode_sm(message), message)
        return seq

    def respond_submit(self, sequence: int, status: int, message_id: str = "") -> bool:
        """Answer an admitted submit_sm; False if it can no longer be answered."""
        if sequence not in self._submits or self.state in (State.UNBOUND, State.CLOSED):
            return False
        self._submits.discard(sequence)
        body = message_id.encode("ascii") + b"\0" if status == Status.ESME_ROK else b""
        self._send(Cmd.SUBMIT_SM_RESP, status, sequence, body, message_id or None)
        return True

    def start_unbind(self, now: float) -> bool:
        """Send unbind (SMSC-initiated); the session closes after unbind_resp."""
        if self.state not in BOUND:
            return False
        self.state = next_state(self.state, Trigger.UNBIND_SENT)
        self._unbind_deadline = now + self.config.response_timeout
        self._send(Cmd.UNBIND, Status.ESME_ROK, self._next_sequence())
        return True

    # ---- internals -----------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _send(self, command_id: int, status: int, seq: int, body: bytes = b"", shown: object = None) -> None:
        self._out.append(encode_pdu(command_id, status, seq, body))
        if self._observer is not None:
            self._observer("out", command_id, status, seq, shown)

    def _handle(self, frame: bytes, events: list[Event]) -> None:
        _, command_id, status, seq = HEADER.unpack_from(frame)
        body = frame[HEADER_SIZE:]
        decoder = _DECODERS.get(command_id)
        decoded: object = None
        malformed = False
        if decoder is not None:
            try:
                decoded = decoder(body)
            except PduError:
                malformed = True
        if self._observer is not None:
            self._observer("in", command_id, status, seq, decoded)
        accepted_in = RESPONSES.get(command_id)
        if accepted_in is not None:
            if self.state in accepted_in:
                self._on_response(command_id, status, seq, decoded, events)
            return
        admission = ADMISSION.get(command_id)
        if admission is None:
            self._send(Cmd.GENERIC_NACK, Status.ESME_RINVCMDID, seq)
            return
        verdict = admission[self.state]
        if verdict is not None:
            self._reject(command_id, verdict, seq)
        elif malformed:
            self._send(Cmd.GENERIC_NACK, Status.ESME_RINVCMDLEN, seq)
        elif command_id in BIND_TRIGGERS:
            assert isinstance(decoded, BindRequest)
            self._on_bind(command_id, seq, decoded, events)
        elif command_id == Cmd.SUBMIT_SM:
            assert isinstance(decoded, ShortMessage)
            self._on_submit(seq, decoded, events)
        elif command_id == Cmd.UNBIND:
            self._send(Cmd.UNBIND_RESP, Status.ESME_ROK, seq)
            self.state = next_state(self.state, Trigger.UNBIND_RECEIVED)
            events.append(Unbound())
        else:  # enquire_link
            self._send(Cmd.ENQUIRE_LINK_RESP, Status.ESME_ROK, seq)

    def _reject(self, command_id: int, status: int, seq: int) -> None:
        body = b""
        if command_id in BIND_TRIGGERS:  # many ESMEs expect the system_id even on errors
            body = encode_bind_resp(self.config.smsc_system_id, None)
        self._send(command_id | _RESP, status, seq, body)

    def _on_bind(self, command_id: int, seq: int, req: BindRequest, events: list[Event]) -> None:
        status = self._authenticate(req.system_id, req.password)
        smsc_id = self.config.smsc_system_id
        if status != Status.ESME_ROK:
            self._send(command_id | _RESP, status, seq, encode_bind_resp(smsc_id, None))
            return
        version = 0x34 if req.interface_version >= 0x34 else None
        self.system_id = req.system_id
        self.state = next_state(self.state, BIND_TRIGGERS[command_id])
        body = encode_bind_resp(smsc_id, version)
        self._send(command_id | _RESP, Status.ESME_ROK, seq, body, smsc_id)
        events.append(Bound(self.state, req.system_id))

    def _on_submit(self, seq: int, sm: ShortMessage, events: list[Event]) -> None:
        if len(sm.source_addr) > 20:
            self._send(Cmd.SUBMIT_SM_RESP, Status.ESME_RINVSRCADR, seq)
        elif not sm.destination_addr or len(sm.destination_addr) > 20:
            self._send(Cmd.SUBMIT_SM_RESP, Status.ESME_RINVDSTADR, seq)
        elif len(self._submits) >= self.config.submit_window:
            self._send(Cmd.SUBMIT_SM_RESP, Status.ESME_RTHROTTLED, seq)
        elif seq in self._submits:  # the same sequence twice while we still owe a response
            self._send(Cmd.SUBMIT_SM_RESP, Status.ESME_RSYSERR, seq)
        else:
            self._submits.add(seq)
            events.append(SubmitReceived(seq, sm))

    def _on_response(self, command_id: int, status: int, seq: int, decoded: object, events: list[Event]) -> None:
        if command_id == Cmd.DELIVER_SM_RESP or command_id == Cmd.GENERIC_NACK:
            entry = self._delivers.pop(seq, None)
            if entry is not None:
                if command_id == Cmd.GENERIC_NACK and status == Status.ESME_ROK:
                    status = Status.ESME_RUNKNOWNERR
                events.append(DeliverResponded(entry[0], status))
            else:
                self._pings.pop(seq, None)
        elif command_id == Cmd.ENQUIRE_LINK_RESP:
            self._pings.pop(seq, None)
        else:  # unbind_resp while unbinding
            self.state = next_state(self.state, Trigger.UNBIND_RESP_RECEIVED)
            events.append(Unbound())
