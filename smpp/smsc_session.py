"""The SMSC side of one SMPP connection, sans-IO (cf. h11/_connection.py).

The owner pushes received bytes in (`receive_data`), calls `tick` with the time, pulls
bytes out (`data_to_send`) and reads the returned events. The session never touches a
socket or a clock: time is a parameter. Whatever a peer sends, nothing raises out of
`receive_data`; at worst the session closes itself (`wants_close`). Which request is
admitted in which state is a table in `states`; this module only looks it up.

Answers to a misbehaving peer (SMPP 3.4 §4.3): an impossible command_length gets
generic_nack ESME_RINVCMDLEN and the connection closes; an unknown command_id gets
generic_nack ESME_RINVCMDID; a body that does not fit its command_length gets
generic_nack ESME_RINVCMDLEN; both keep the session.
"""

from __future__ import annotations

import logging

from . import smsc_events as ev
from .bodies import Bind, BindResp, Body, MessageIdResp, Pdu, ShortMessage
from .constants import RESPONSE_BIT, Command, Status
from .errors import FramingError, PduError
from .framing import HEADER_SIZE, Framer
from .pdu import decode_body, decode_header, encode
from .smsc_config import Authenticator, PduObserver, SmscConfig
from .smsc_events import SmscEvent
from .states import BIND_TRIGGERS, BOUND, CAN_RECEIVE, SMSC_ADMISSION, SMSC_RESPONSES, State, Trigger, next_state

__all__ = ["SmscSession"]

log = logging.getLogger(__name__)

_DECODED = frozenset({*BIND_TRIGGERS, Command.SUBMIT_SM, Command.DELIVER_SM_RESP})
_MAX_SEQUENCE = 0x7FFFFFFF
_MAX_ADDRESS = 20  # submit_sm addresses, SMPP 3.4 §4.4.1 (21 octets with the NUL)


class SmscSession:
    """The SMSC side of one SMPP connection."""

    def __init__(
        self, config: SmscConfig, authenticate: Authenticator, now: float, observer: PduObserver | None = None
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
        """Bytes wait in `data_to_send`."""
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

    def receive_data(self, data: bytes, now: float) -> list[SmscEvent]:
        """Feed received bytes; returns the events they caused."""
        events: list[SmscEvent] = []
        if self.state is State.CLOSED:
            return events
        self._framer.feed(data)
        while self.state is not State.CLOSED:  # type: ignore[comparison-overlap]  # handlers below close it
            try:
                frame = self._framer.next_frame()
            except FramingError as err:
                self._send(Command.GENERIC_NACK, Status.ESME_RINVCMDLEN, err.sequence)
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

    def connection_lost(self) -> list[SmscEvent]:
        """The transport is gone."""
        return self.close("connection lost")

    def close(self, reason: str) -> list[SmscEvent]:
        """Close now; unanswered deliver_sm are handed back in the SessionClosed event."""
        if self.state is State.CLOSED:
            return []
        self.state = next_state(self.state, Trigger.CLOSE)
        self.close_reason = reason
        undelivered = tuple(ref for ref, _ in self._delivers.values())
        self._delivers.clear()
        self._submits.clear()
        self._pings.clear()
        return [ev.SessionClosed(reason, undelivered)]

    def tick(self, now: float) -> list[SmscEvent]:
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
        events: list[SmscEvent] = []
        for seq, (ref, deadline) in list(self._delivers.items()):
            if deadline > now:
                break  # insertion order = deadline order (one timeout for all)
            del self._delivers[seq]
            events.append(ev.DeliverTimedOut(ref))
        if (
            state in BOUND
            and not self._pings
            and now - self._last_rx >= config.enquire_link_interval
            and now - self._last_ping >= config.enquire_link_interval
        ):
            seq = self._next_sequence()
            self._pings[seq] = now
            self._last_ping = now
            self._send(Command.ENQUIRE_LINK, Status.ESME_ROK, seq)
        return events

    # ---- output commands -----------------------------------------------------------

    def send_deliver(self, message: ShortMessage, ref: object, now: float) -> int:
        """Send a deliver_sm; `ref` comes back in DeliverAnswered/TimedOut or SessionClosed.
        ValueError if the message cannot be encoded; RuntimeError if no deliver is possible now."""
        if not self.can_deliver:
            raise RuntimeError("session cannot deliver now")
        seq = self._next_sequence()
        self._send(Command.DELIVER_SM, Status.ESME_ROK, seq, message)
        self._delivers[seq] = (ref, now + self.config.response_timeout)
        return seq

    def respond_submit(self, sequence: int, status: int, message_id: str = "") -> bool:
        """Answer an admitted submit_sm; False if it can no longer be answered."""
        if sequence not in self._submits or self.state in (State.UNBOUND, State.CLOSED):
            return False
        self._submits.discard(sequence)
        body = MessageIdResp(message_id=message_id) if status == Status.ESME_ROK else None
        self._send(Command.SUBMIT_SM_RESP, status, sequence, body)
        return True

    def start_unbind(self, now: float) -> bool:
        """Send unbind (SMSC-initiated); the session closes after unbind_resp."""
        if self.state not in BOUND:
            return False
        self.state = next_state(self.state, Trigger.UNBIND_SENT)
        self._unbind_deadline = now + self.config.response_timeout
        self._send(Command.UNBIND, Status.ESME_ROK, self._next_sequence())
        return True

    # ---- internals -----------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _send(self, command_id: int, status: int, seq: int, body: Body = None) -> None:
        self._out.append(encode(Pdu(command_id, status, seq, body)))
        if self._observer is not None:
            self._observer("out", command_id, status, seq, body)

    def _handle(self, frame: bytes, events: list[SmscEvent]) -> None:
        header = decode_header(frame)
        command_id, status, seq = header.command_id, header.status, header.sequence
        decoded: Body = None
        malformed = False
        if command_id in _DECODED:
            try:
                decoded = decode_body(command_id, frame[HEADER_SIZE:])
            except PduError:
                malformed = True
        if self._observer is not None:
            self._observer("in", command_id, status, seq, decoded)
        accepted_in = SMSC_RESPONSES.get(command_id)
        if accepted_in is not None:
            if self.state in accepted_in:
                self._on_response(command_id, status, seq, events)
            return
        admission = SMSC_ADMISSION.get(command_id)
        if admission is None:
            self._send(Command.GENERIC_NACK, Status.ESME_RINVCMDID, seq)
            return
        verdict = admission[self.state]
        if verdict is not None:
            self._reject(command_id, verdict, seq)
        elif malformed:
            self._send(Command.GENERIC_NACK, Status.ESME_RINVCMDLEN, seq)
        elif isinstance(decoded, Bind):
            self._on_bind(command_id, seq, decoded, events)
        elif isinstance(decoded, ShortMessage):
            self._on_submit(seq, decoded, events)
        elif command_id == Command.UNBIND:
            self._send(Command.UNBIND_RESP, Status.ESME_ROK, seq)
            self.state = next_state(self.state, Trigger.UNBIND_RECEIVED)
            events.append(ev.UnbindComplete())
        else:  # enquire_link
            self._send(Command.ENQUIRE_LINK_RESP, Status.ESME_ROK, seq)

    def _reject(self, command_id: int, status: int, seq: int) -> None:
        body = None
        if command_id in BIND_TRIGGERS:  # many ESMEs expect the system_id even on errors
            body = BindResp(system_id=self.config.smsc_system_id)
        self._send(command_id | RESPONSE_BIT, status, seq, body)

    def _on_bind(self, command_id: int, seq: int, req: Bind, events: list[SmscEvent]) -> None:
        status = self._authenticate(req.system_id, req.password)
        if status != Status.ESME_ROK:
            self._reject(command_id, status, seq)
            return
        self.system_id = req.system_id
        self.state = next_state(self.state, BIND_TRIGGERS[command_id])
        version = 0x34 if req.interface_version >= 0x34 else None  # sc_interface_version for a 3.4 ESME
        body = BindResp(system_id=self.config.smsc_system_id, sc_interface_version=version)
        self._send(command_id | RESPONSE_BIT, Status.ESME_ROK, seq, body)
        events.append(ev.EsmeBound(self.state, req.system_id))

    def _on_submit(self, seq: int, sm: ShortMessage, events: list[SmscEvent]) -> None:
        if len(sm.source_addr) > _MAX_ADDRESS:
            self._send(Command.SUBMIT_SM_RESP, Status.ESME_RINVSRCADR, seq)
        elif not sm.destination_addr or len(sm.destination_addr) > _MAX_ADDRESS:
            self._send(Command.SUBMIT_SM_RESP, Status.ESME_RINVDSTADR, seq)
        elif len(self._submits) >= self.config.submit_window:
            self._send(Command.SUBMIT_SM_RESP, Status.ESME_RTHROTTLED, seq)
        elif seq in self._submits:  # the same sequence twice while we still owe a response
            self._send(Command.SUBMIT_SM_RESP, Status.ESME_RSYSERR, seq)
        else:
            self._submits.add(seq)
            events.append(ev.SubmitReceived(seq, sm))

    def _on_response(self, command_id: int, status: int, seq: int, events: list[SmscEvent]) -> None:
        if command_id in (Command.DELIVER_SM_RESP, Command.GENERIC_NACK):
            entry = self._delivers.pop(seq, None)
            if entry is not None:
                if command_id == Command.GENERIC_NACK and status == Status.ESME_ROK:
                    status = Status.ESME_RUNKNOWNERR
                events.append(ev.DeliverAnswered(entry[0], status))
            else:
                self._pings.pop(seq, None)
        elif command_id == Command.ENQUIRE_LINK_RESP:
            self._pings.pop(seq, None)
        else:  # unbind_resp while unbinding
            self.state = next_state(self.state, Trigger.UNBIND_RESP_RECEIVED)
            events.append(ev.UnbindComplete())
