"""The ESME side of one SMPP connection, sans-IO (cf. h11/_connection.py).

The owner pushes received bytes in (`receive`), calls `tick` with the time, pulls
bytes out (`data_to_send`) and reads the returned events. Nothing here touches a
socket or a clock, and whatever the SMSC sends, nothing raises out of `receive`.
Which request is admitted in which state is a table (`esme_states`); the bind
states are the ones both sides share (`states`).

What the session keeps for its owner: sequence numbers (`Sequences`, which a
transport may share for the bind it writes itself); the submits in flight with
their deadlines (`submit_window`; their refs come back when the link is lost);
the deliver_sm it owes a response (`respond` answers only those of this
connection, once); which responses the SMSC has read (`esme_reads`: an
enquire_link after `probe_after` seconds when nothing else can tell); enquire_link
when the link is idle (unless the transport keeps it alive); and the answers a
misbehaving SMSC gets (SMPP 3.4 §4.3): generic_nack ESME_RINVCMDID for an unknown
command, ESME_RINVCMDLEN and close for an impossible command_length,
ESME_RX_P_APPN for a deliver_sm that does not decode.
"""

from __future__ import annotations

import struct

from .bodies import Bind, BindResp, MessageIdResp, Pdu, ShortMessage
from .constants import RESPONSE_BIT, Command, Status
from .errors import FramingError, PduError
from .esme_config import EsmeConfig
from .esme_events import (
    BindRefused,
    Bound,
    DeliverRejected,
    EsmeEvent,
    LinkLost,
    MoReceived,
    ReceiptReceived,
    ResponsesRead,
    SubmitAnswered,
    SubmitTimedOut,
    Unbound,
)
from .esme_reads import ReadTracker
from .esme_states import BIND_RESPONSES, ESME_ADMISSION, ESME_RESPONSES, NO_RESPONSE, PINGS_IN, REQUEST_NAMES
from .framing import Framer
from .pdu import decode, encode
from .receipts import is_receipt, parse_receipt
from .sequences import Sequences
from .states import BIND_TRIGGERS, CAN_SUBMIT, State, Trigger, next_state
from .submit_window import SubmitWindow

__all__ = ["EsmeConfig", "EsmeSession", "Sequences"]

_DELIVER_SM_RESP_HEAD = struct.pack(">II", 17, Command.DELIVER_SM_RESP)  # header and an empty message_id


class EsmeSession:
    def __init__(self, config: EsmeConfig, now: float, sequences: Sequences | None = None) -> None:
        self.config = config
        self.state = State.OPEN
        self.close_reason = ""
        self.sequences = sequences or Sequences()
        self._framer = Framer(config.max_pdu_size)
        self._out: list[bytes] = []
        self._submits = SubmitWindow()
        self._requests: dict[int, tuple[int, float]] = {}  # bind / enquire_link / unbind seq -> (command, deadline)
        self._owed: set[int] = set()  # deliver_sm sequences we have not answered
        self._reads = ReadTracker()  # our deliver_sm_resp not yet known read
        self._last_rx = now
        self._last_ping = now

    # ---- reading -------------------------------------------------------------------

    @property
    def bound(self) -> bool:
        return self.state in PINGS_IN

    @property
    def can_submit(self) -> bool:
        return self.state in CAN_SUBMIT and len(self._submits) < self.config.window

    @property
    def in_flight(self) -> int:
        return len(self._submits)

    @property
    def owed(self) -> int:
        return len(self._owed)

    @property
    def unread(self) -> int:
        return len(self._reads)

    @property
    def wants_close(self) -> bool:
        return self.state in (State.UNBOUND, State.CLOSED)

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    # ---- commands --------------------------------------------------------------------

    def bind(self, now: float) -> None:
        """Send the bind request of ``config.bind_command``."""
        if self.state is not State.OPEN or self._requests:
            raise RuntimeError(f"cannot bind in state {self.state.value}")
        c = self.config
        body = Bind(system_id=c.system_id, password=c.password, system_type=c.system_type)
        self._request(c.bind_command, now, body)

    def adopt_bind(self) -> list[EsmeEvent]:
        """The transport exchanged the bind itself (bind_*_resp ESME_ROK): take the bound state."""
        self.state = next_state(self.state, BIND_TRIGGERS[self.config.bind_command])
        return [Bound("")]

    def submit(self, message: ShortMessage, ref: object, now: float) -> int:
        """Write a submit_sm; ``ref`` comes back in its event. ValueError if it cannot be encoded."""
        if not self.can_submit:
            raise RuntimeError("no room to submit (not bound, or the window is full)")
        sequence = self.sequences.next()
        self._out.append(encode(Pdu(Command.SUBMIT_SM, Status.ESME_ROK, sequence, message)))
        self._submits.add(sequence, ref, now + self.config.submit_timeout)
        return sequence

    def respond(self, sequence: int, now: float, status: int = Status.ESME_ROK, tag: object = None) -> bool:
        """Answer a deliver_sm of this connection (once); with ``tag``, report when the SMSC has read it."""
        if sequence not in self._owed or self.state is State.CLOSED:
            return False
        self._owed.discard(sequence)
        self._out.append(_DELIVER_SM_RESP_HEAD + struct.pack(">II", status, sequence) + b"\0")
        if tag is not None and status == Status.ESME_ROK:
            self._reads.written(self.sequences.peek(), tag, now)
        return True

    def probe(self, now: float) -> None:
        """An enquire_link now (its response shows the SMSC read everything written before it)."""
        if self.bound and not self._pinging():
            self._ping(now)

    def unbind(self, now: float) -> bool:
        """Send unbind; the session closes after unbind_resp (``Unbound``)."""
        if not self.bound:
            return False
        self.state = next_state(self.state, Trigger.UNBIND_SENT)
        self._request(Command.UNBIND, now)
        return True

    def connection_lost(self, reason: str = "connection lost") -> list[EsmeEvent]:
        return self._close(reason)

    # ---- input ---------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> list[EsmeEvent]:
        """Feed received bytes; returns the events they caused."""
        events: list[EsmeEvent] = []
        if self.state is State.CLOSED:
            return events
        self._framer.feed(data)
        while self.state is not State.CLOSED:  # type: ignore[comparison-overlap]  # the handlers below close it
            try:
                frame = self._framer.next_frame()
            except FramingError as error:
                self._send(Command.GENERIC_NACK, Status.ESME_RINVCMDLEN, error.sequence)
                events += self._close(str(error))
                break
            if frame is None:
                break
            self._last_rx = now
            command_id = int.from_bytes(frame[4:8], "big")
            if command_id & RESPONSE_BIT:
                self._on_response(frame, command_id, events)
            else:
                self._on_request(frame, command_id, now, events)
        return events

    def tick(self, now: float) -> list[EsmeEvent]:
        """Timers: response deadlines, submit timeouts, keep-alive and read-confirmation probes."""
        if self.state is State.CLOSED:
            return []
        events: list[EsmeEvent] = []
        for sequence, (command_id, deadline) in list(self._requests.items()):
            if now >= deadline:
                return self._close(f"no response to {REQUEST_NAMES.get(command_id, hex(command_id))} {sequence}")
        events += [SubmitTimedOut(ref) for ref in self._submits.expired(now)]
        if self.bound and not self._pinging():
            interval = self.config.enquire_link_interval
            idle = interval is not None and min(now - self._last_rx, now - self._last_ping) >= interval
            waiting = self._reads.waiting_since(self.sequences.peek())
            if idle or (waiting is not None and now - waiting >= self.config.probe_after):
                self._ping(now)
        return events

    # ---- internals -----------------------------------------------------------------

    def _send(self, command_id: int, status: int, sequence: int, body: object = None) -> None:
        self._out.append(encode(Pdu(command_id, status, sequence, body)))  # type: ignore[arg-type]

    def _request(self, command_id: int, now: float, body: object = None) -> int:
        sequence = self.sequences.next()
        self._send(command_id, Status.ESME_ROK, sequence, body)
        self._requests[sequence] = (command_id, now + self.config.response_timeout)
        return sequence

    def _pinging(self) -> bool:
        return any(command == Command.ENQUIRE_LINK for command, _ in self._requests.values())

    def _ping(self, now: float) -> None:
        self._last_ping = now
        self._request(Command.ENQUIRE_LINK, now)

    def _on_request(self, frame: bytes, command_id: int, now: float, events: list[EsmeEvent]) -> None:
        sequence = int.from_bytes(frame[12:16], "big")
        admission = ESME_ADMISSION.get(command_id)
        if admission is None:
            if command_id not in NO_RESPONSE:
                self._send(Command.GENERIC_NACK, Status.ESME_RINVCMDID, sequence)
            return
        verdict = admission.get(self.state)
        if verdict is not None:
            self._send(command_id | RESPONSE_BIT, verdict, sequence, _empty_body(command_id))
        elif command_id == Command.DELIVER_SM:
            self._on_deliver(frame, sequence, events)
        elif command_id == Command.ENQUIRE_LINK:
            self._send(Command.ENQUIRE_LINK_RESP, Status.ESME_ROK, sequence)
        else:  # unbind
            self._send(Command.UNBIND_RESP, Status.ESME_ROK, sequence)
            self.state = next_state(self.state, Trigger.UNBIND_RECEIVED)
            events.append(Unbound("smsc"))

    def _on_deliver(self, frame: bytes, sequence: int, events: list[EsmeEvent]) -> None:
        try:
            message = decode(frame).body
        except PduError as error:
            self._send(Command.DELIVER_SM_RESP, Status.ESME_RX_P_APPN, sequence, MessageIdResp())
            events.append(DeliverRejected(sequence, str(error)))
            return
        assert isinstance(message, ShortMessage)
        self._owed.add(sequence)
        if is_receipt(message):
            events.append(ReceiptReceived(sequence, parse_receipt(message), message))
        else:
            events.append(MoReceived(sequence, message))

    def _on_response(self, frame: bytes, command_id: int, events: list[EsmeEvent]) -> None:
        status = int.from_bytes(frame[8:12], "big")
        sequence = int.from_bytes(frame[12:16], "big")
        if self.state not in ESME_RESPONSES.get(command_id, ()):
            return
        read = self._reads.confirm(sequence)
        if read:
            events.append(ResponsesRead(read))
        if command_id == Command.SUBMIT_SM_RESP or command_id == Command.GENERIC_NACK:
            in_flight, ref = self._submits.answered(sequence)
            if in_flight:
                message_id = _message_id(frame) if status == Status.ESME_ROK else ""
                if command_id == Command.GENERIC_NACK and status == Status.ESME_ROK:
                    status = Status.ESME_RUNKNOWNERR
                events.append(SubmitAnswered(ref, status, message_id))
                return
        request = self._requests.pop(sequence, None)
        if request is None:
            return  # a response to a request of the transport's (or a late one)
        if command_id in BIND_RESPONSES:
            self._on_bind_resp(frame, status, events)
        elif command_id == Command.UNBIND_RESP:
            self.state = next_state(self.state, Trigger.UNBIND_RESP_RECEIVED)
            events.append(Unbound("esme"))
        elif command_id == Command.GENERIC_NACK and request[0] != Command.ENQUIRE_LINK:
            events += self._close(f"generic_nack 0x{status:08X} to our request")

    def _on_bind_resp(self, frame: bytes, status: int, events: list[EsmeEvent]) -> None:
        if status != Status.ESME_ROK:
            events.append(BindRefused(status))
            events += self._close("bind refused")
            return
        try:
            body = decode(frame).body
        except PduError:
            body = None
        self.state = next_state(self.state, BIND_TRIGGERS[self.config.bind_command])
        events.append(Bound(body.system_id if isinstance(body, BindResp) else ""))

    def _close(self, reason: str) -> list[EsmeEvent]:
        if self.state is State.CLOSED:
            return []
        self.state = next_state(self.state, Trigger.CLOSE)
        self.close_reason = reason
        event = LinkLost(reason, self._submits.forget(), self._reads.forget(), tuple(sorted(self._owed)))
        self._requests.clear()
        self._owed.clear()
        return [event]


def _message_id(frame: bytes) -> str:
    return frame[16:].partition(b"\0")[0].decode("latin-1")


def _empty_body(command_id: int) -> object:
    return MessageIdResp() if command_id == Command.DELIVER_SM else None
