"""A tiny scriptable SMSC for end-to-end tests that need what the real simulator will not do.

``FakeSmsc`` is an SMPP 3.4 server on 127.0.0.1 (threads and blocking sockets,
no asyncio, so a test drives it from plain synchronous code). It accepts
bind_transceiver, and then does exactly what the test says:

- send deliver_sm built from raw fields (:func:`deliver_sm_body`) or any raw bytes;
- answer submit_sm with a status chosen per PDU (``submit_status``: an int, or a
  callable returning the status or ``None`` to withhold the response; a withheld
  submit can be answered later with :meth:`FakeSmsc.respond`), at once or after
  ``submit_delay`` seconds;
- answer enquire_link or not (``answer_enquire_link``), delay bind_transceiver_resp
  (``bind_resp_delay``) or unbind_resp (``unbind_resp_delay``);
- close the connection on demand (:meth:`FakeSmsc.drop`);
- record every PDU in both directions with a timestamp (``received``, ``sent``)
  and call ``on_pdu`` in the reader thread the moment a PDU from the gateway is
  read, before anything else happens (tests use it to look at the database at that
  instant).

Every session is numbered from 1 in accept order; ``binds`` counts successful binds.

The shared codec (``smpp``) reads what the gateway writes (headers, submit_sm) and names
the commands. What this SMSC *sends* is written here, independently of ``smpp``, on purpose:
:func:`deliver_sm_body`, :func:`pdu_bytes`, :func:`udh8`, :func:`udh16` and :func:`gsm` lay
out octets from the SMPP 3.4 and TS 23.040 field tables, so that the gateway's decoder is
checked against an encoder it does not share (and can be fed malformed or odd fields that
``smpp.encode`` refuses to write).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from smpp import Command, PduError, ShortMessage, Status, decode, decode_header

__all__ = [
    "BIND_TRANSCEIVER",
    "DELIVER_SM",
    "DELIVER_SM_RESP",
    "ENQUIRE_LINK",
    "ENQUIRE_LINK_RESP",
    "GENERIC_NACK",
    "SUBMIT_SM",
    "SUBMIT_SM_RESP",
    "UNBIND",
    "UNBIND_RESP",
    "FakeSmsc",
    "Pdu",
    "deliver_sm_body",
    "gsm",
    "pdu_bytes",
    "udh8",
    "udh16",
]

GENERIC_NACK = Command.GENERIC_NACK
SUBMIT_SM = Command.SUBMIT_SM
SUBMIT_SM_RESP = Command.SUBMIT_SM_RESP
DELIVER_SM = Command.DELIVER_SM
DELIVER_SM_RESP = Command.DELIVER_SM_RESP
UNBIND = Command.UNBIND
UNBIND_RESP = Command.UNBIND_RESP
BIND_TRANSCEIVER = Command.BIND_TRANSCEIVER
BIND_TRANSCEIVER_RESP = Command.BIND_TRANSCEIVER_RESP
ENQUIRE_LINK = Command.ENQUIRE_LINK
ENQUIRE_LINK_RESP = Command.ENQUIRE_LINK_RESP

_HEADER = struct.Struct(">IIII")


# ---- building PDUs by hand: the independent encoder (a cross-check of the gateway's decoder) --


def pdu_bytes(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    """A whole PDU: the header (with a command_length that matches ``body``) and the body."""
    return _HEADER.pack(16 + len(body), command_id, status, sequence) + body


def gsm(text: str) -> bytes:
    """Unpacked GSM 03.38 septets for plain ASCII letters, digits, space and ``.,?``."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,?")
    if not allowed.issuperset(text):
        raise ValueError(f"gsm() takes plain ASCII only: {text!r}")
    return text.encode("ascii")  # these characters have the same code in GSM 03.38 and ASCII


def udh8(reference: int, total: int, sequence: int) -> bytes:
    """A UDH with the 8-bit concatenation IE (IEI 0x00)."""
    return bytes((5, 0x00, 3, reference, total, sequence))


def udh16(reference: int, total: int, sequence: int) -> bytes:
    """A UDH with the 16-bit concatenation IE (IEI 0x08)."""
    return bytes((6, 0x08, 4, reference >> 8, reference & 0xFF, total, sequence))


def deliver_sm_body(
    source: str,
    destination: str,
    short_message: bytes,
    *,
    data_coding: int = 0,
    esm_class: int = 0,
    tlvs: Iterable[tuple[int, bytes]] = (),
    source_ton: int = 1,
    source_npi: int = 1,
    dest_ton: int = 0,
    dest_npi: int = 0,
) -> bytes:
    """A deliver_sm body, fields in SMPP 3.4 4.6.1 order, written out octet by octet."""
    body = b"".join(
        (
            b"\0",  # service_type
            bytes((source_ton, source_npi)),
            source.encode("ascii") + b"\0",
            bytes((dest_ton, dest_npi)),
            destination.encode("ascii") + b"\0",
            bytes((esm_class, 0, 0)),  # esm_class, protocol_id, priority_flag
            b"\0",  # schedule_delivery_time
            b"\0",  # validity_period
            bytes((0, 0, data_coding, 0, len(short_message))),  # registered_delivery .. sm_length
            short_message,
        )
    )
    for tag, value in tlvs:
        body += struct.pack(">HH", tag, len(value)) + value
    return body


# ---- what was exchanged --------------------------------------------------------------------


@dataclass
class Pdu:
    """One PDU as it crossed the wire, with the fields of a submit_sm decoded (by ``smpp``)."""

    at: float  # time.time() when read or written
    session: int
    direction: str  # "in" (from the gateway) or "out"
    command_id: int
    status: int
    sequence: int
    body: bytes
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def destination(self) -> str | None:
        return self.fields.get("destination")

    @property
    def source(self) -> str | None:
        return self.fields.get("source")


def _submit_sm_fields(frame: bytes) -> dict[str, Any]:
    """The addresses and message of a submit_sm, read by the shared codec; PduError if malformed."""
    message = decode(frame).body
    if not isinstance(message, ShortMessage):
        raise PduError("a submit_sm without its body")
    return {
        "source": message.source_addr,
        "destination": message.destination_addr,
        "esm_class": message.esm_class,
        "data_coding": message.data_coding,
        "short_message": message.short_message,
        "message": message,
    }


# ---- the server ----------------------------------------------------------------------------


class _Session:
    def __init__(self, number: int, sock: socket.socket) -> None:
        self.number = number
        self.sock = sock
        self.lock = threading.Lock()
        self.sequences = itertools.count(1)
        self.bound = False
        self.closed = False
        self.thread: threading.Thread | None = None


SubmitPolicy = int | Callable[[Pdu], "int | None"]


class FakeSmsc:
    """A scriptable SMSC; use as a context manager (or call :meth:`close`)."""

    def __init__(
        self,
        *,
        port: int = 0,
        submit_status: SubmitPolicy = 0,
        answer_enquire_link: bool | Callable[[Pdu], bool] = True,
        unbind_resp_delay: float = 0.0,
        bind_resp_delay: float = 0.0,
        submit_delay: float = 0.0,
        on_pdu: Callable[[Pdu], None] | None = None,
    ) -> None:
        self.submit_status: SubmitPolicy = submit_status
        self.answer_enquire_link = answer_enquire_link
        self.unbind_resp_delay = unbind_resp_delay
        self.bind_resp_delay = bind_resp_delay
        self.submit_delay = submit_delay
        self.on_pdu = on_pdu
        self.received: list[Pdu] = []
        self.sent: list[Pdu] = []
        self.withheld: list[Pdu] = []
        self.binds = 0
        self.connections = 0
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._sessions: list[_Session] = []
        self._message_ids = itertools.count(1)
        self._timers: list[threading.Timer] = []
        self._closing = False
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept_loop, name="fake-smsc-accept", daemon=True)
        self._acceptor.start()

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeSmsc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing = True
        for timer in list(self._timers):
            timer.cancel()
        self._acceptor.join(timeout=5)
        self._listener.close()
        with self._cond:
            sessions = list(self._sessions)
        for session in sessions:
            self._close_session(session)
        for session in sessions:
            if session.thread is not None:
                session.thread.join(timeout=5)

    # --- what tests call ------------------------------------------------------------------

    @property
    def session(self) -> int:
        """The number of the newest bound session (0 before the first bind)."""
        with self._cond:
            bound = [s.number for s in self._sessions if s.bound and not s.closed]
        return bound[-1] if bound else 0

    def wait_bound(self, binds: int = 1, timeout: float = 20.0) -> int:
        """Wait until ``binds`` binds happened in total; returns the newest session's number."""
        self.wait_for(lambda: self.binds >= binds, timeout, f"{binds} bind(s)")
        return self.session

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake SMSC: no {what} within {timeout} s; errors: {self.errors}")
                self._cond.wait(min(left, 0.1))

    def deliver(
        self,
        source: str,
        destination: str,
        short_message: bytes,
        *,
        session: int | None = None,
        sequence: int | None = None,
        **fields: Any,
    ) -> int:
        """Send one deliver_sm (see :func:`deliver_sm_body`); returns its sequence number."""
        body = deliver_sm_body(source, destination, short_message, **fields)
        return self.send_request(DELIVER_SM, body, session, sequence=sequence)

    def send_request(
        self, command_id: int, body: bytes, session: int | None = None, *, sequence: int | None = None
    ) -> int:
        """Send a request with the given or else the session's next sequence number; returns that number."""
        target = self._session(session)
        if sequence is None:
            sequence = next(target.sequences)
        self._write(target, command_id, sequence, body)
        return sequence

    def release(self, status: int = 0) -> None:
        """Answer every withheld submit_sm with ``status``, and answer the next ones at once."""
        self.submit_status = status
        with self._cond:
            withheld = list(self.withheld)
        for pdu in withheld:
            self.respond(pdu, status)

    def send_raw(self, data: bytes, session: int | None = None) -> None:
        """Write ``data`` as it is (recorded as one PDU if it has a header)."""
        target = self._session(session)
        with target.lock:
            target.sock.sendall(data)
        if len(data) >= 16:
            header = decode_header(data)
            pdu = Pdu(time.time(), target.number, "out", header.command_id, header.status, header.sequence, data[16:])
            self._record(pdu, self.sent)

    def respond(self, request: Pdu, status: int = 0) -> None:
        """Answer a (withheld) submit_sm now."""
        body = b"" if status else f"F{next(self._message_ids):08d}".encode() + b"\0"
        target = self._session(request.session)
        with self._cond:
            if request in self.withheld:
                self.withheld.remove(request)
        self._write(target, request.command_id | 0x80000000, request.sequence, body, status)

    def drop(self, session: int | None = None) -> None:
        """Close a session's TCP connection at once (no unbind)."""
        self._close_session(self._session(session))

    def pdus(self, command_id: int, *, session: int | None = None, direction: str = "in") -> list[Pdu]:
        with self._cond:
            found = self.received if direction == "in" else self.sent
            return [p for p in found if p.command_id == command_id and (session is None or p.session == session)]

    def response_to(self, sequence: int, *, session: int, command_id: int = DELIVER_SM_RESP) -> Pdu | None:
        with self._cond:
            for p in self.received:
                if p.session == session and p.sequence == sequence and p.command_id in (command_id, GENERIC_NACK):
                    return p
        return None

    def wait_response(
        self, sequence: int, *, session: int, command_id: int = DELIVER_SM_RESP, timeout: float = 10.0
    ) -> Pdu:
        """The gateway's response (or generic_nack) to our request ``sequence`` of ``session``."""
        found: list[Pdu] = []

        def arrived() -> bool:
            pdu = self.response_to(sequence, session=session, command_id=command_id)
            if pdu is not None:
                found.append(pdu)
            return bool(found)

        self.wait_for(arrived, timeout, f"response to sequence {sequence} of session {session}")
        return found[0]

    def submits(self, *, session: int | None = None, to: str | None = None) -> list[Pdu]:
        return [p for p in self.pdus(SUBMIT_SM, session=session) if to is None or p.destination == to]

    # --- internals ------------------------------------------------------------------------

    def _session(self, number: int | None) -> _Session:
        with self._cond:
            if number is None:
                number = self.session
            for s in self._sessions:
                if s.number == number:
                    return s
        raise AssertionError(f"fake SMSC: no session {number}")

    def _record(self, pdu: Pdu, into: list[Pdu]) -> None:
        with self._cond:
            into.append(pdu)
            self._cond.notify_all()

    def _write(self, session: _Session, command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> None:
        data = pdu_bytes(command_id, sequence, body, status)
        with session.lock:
            if session.closed:
                return
            at = time.time()  # before the peer can possibly have read it
            try:
                session.sock.sendall(data)
            except OSError as error:
                self.errors.append(f"write to session {session.number}: {error}")
                return
        self._record(Pdu(at, session.number, "out", command_id, status, sequence, body), self.sent)

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(delay, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _close_session(self, session: _Session) -> None:
        with session.lock:
            if session.closed:
                return
            session.closed = True
        with contextlib.suppress(OSError):
            session.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            session.sock.close()
        with self._cond:
            self._cond.notify_all()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._cond:
                self.connections += 1
                session = _Session(self.connections, sock)
                self._sessions.append(session)
                self._cond.notify_all()
            session.thread = threading.Thread(
                target=self._read_loop, args=(session,), name=f"fake-smsc-{session.number}", daemon=True
            )
            session.thread.start()

    def _read_exactly(self, session: _Session, size: int) -> bytes | None:
        chunks = b""
        while len(chunks) < size:
            try:
                chunk = session.sock.recv(size - len(chunks))
            except OSError:
                return None
            if not chunk:
                return None
            chunks += chunk
        return chunks

    def _read_loop(self, session: _Session) -> None:
        try:
            while not session.closed:
                header = self._read_exactly(session, 16)
                if header is None:
                    return
                head = decode_header(header)
                command_id = head.command_id
                body = self._read_exactly(session, head.length - 16) if head.length > 16 else b""
                if body is None:
                    return
                pdu = Pdu(time.time(), session.number, "in", command_id, head.status, head.sequence, body)
                if command_id == SUBMIT_SM:
                    try:
                        pdu.fields = _submit_sm_fields(header + body)
                    except PduError as error:
                        self.errors.append(f"undecodable submit_sm: {error}")
                if self.on_pdu is not None:
                    try:
                        self.on_pdu(pdu)
                    except Exception as error:  # recorded; the test looks at errors
                        self.errors.append(f"on_pdu: {error!r}")
                self._record(pdu, self.received)
                self._handle(session, pdu)
        except Exception as error:  # a bug of the fake itself: recorded, the test sees it
            self.errors.append(f"session {session.number}: {error!r}")
        finally:
            self._close_session(session)

    def _handle(self, session: _Session, pdu: Pdu) -> None:
        command_id = pdu.command_id
        if command_id == BIND_TRANSCEIVER:
            if self.bind_resp_delay > 0:
                time.sleep(self.bind_resp_delay)  # this session reads nothing else meanwhile
            with self._cond:
                session.bound = True
                self.binds += 1
            self._write(session, BIND_TRANSCEIVER_RESP, pdu.sequence, b"FAKESMSC\0")
        elif command_id == SUBMIT_SM:
            policy = self.submit_status
            status = policy(pdu) if callable(policy) else policy
            if status is None:
                with self._cond:
                    self.withheld.append(pdu)
            elif self.submit_delay > 0:
                self._later(self.submit_delay, lambda: self.respond(pdu, status))
            else:
                self.respond(pdu, status)
        elif command_id == ENQUIRE_LINK:
            answer = self.answer_enquire_link
            if answer(pdu) if callable(answer) else answer:
                self._write(session, ENQUIRE_LINK_RESP, pdu.sequence)
        elif command_id == UNBIND:
            if self.unbind_resp_delay > 0:
                self._later(self.unbind_resp_delay, lambda: self._write(session, UNBIND_RESP, pdu.sequence))
            else:
                self._write(session, UNBIND_RESP, pdu.sequence)
        elif not command_id & 0x80000000:
            self._write(session, GENERIC_NACK, pdu.sequence, status=Status.ESME_RINVCMDID)
