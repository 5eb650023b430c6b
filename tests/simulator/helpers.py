"""python-smpplib based ESMEs for the server tests: a scripted client and a fake gateway."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp


class Esme:
    """A synchronous SMPP client (python-smpplib) with helpers for tests."""

    def __init__(self, port: int, timeout: float = 3.0) -> None:
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=timeout, allow_unknown_opt_params=True)
        self.client.connect()
        self.inbox: list[Any] = []

    def bind(self, mode: str = "transceiver", system_id: str = "smsgw", password: str = "demo1234") -> Any:
        return getattr(self.client, f"bind_{mode}")(system_id=system_id, password=password)

    def submit(
        self, source: str, destination: str, message: bytes, *, dc: int = 0, esm: int = 0, rd: int = 0, **extra: Any
    ) -> Any:
        """Send a submit_sm and return its response (or generic_nack)."""
        seq = self.send_submit(source, destination, message, dc=dc, esm=esm, rd=rd, **extra)
        return self.wait_for(lambda p: p.command in ("submit_sm_resp", "generic_nack") and p.sequence == seq)

    def send_submit(
        self, source: str, destination: str, message: bytes, *, dc: int = 0, esm: int = 0, rd: int = 0, **extra: Any
    ) -> int:
        p = smpplib.smpp.make_pdu(
            "submit_sm",
            client=self.client,
            source_addr_ton=0,
            source_addr_npi=1,
            source_addr=source,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=destination,
            short_message=message,
            data_coding=dc,
            esm_class=esm,
            registered_delivery=rd,
            **extra,
        )
        self.client.send_pdu(p)
        return int(p.sequence)

    def submit_text(self, source: str, destination: str, text: str, rd: int = 0) -> list[Any]:
        """Submit `text` as UCS-2 (split with smpplib's UDH splitter); the responses."""
        parts, _, esm = smpplib.gsm.make_parts(text, smpplib.consts.SMPP_ENCODING_ISO10646)
        return [self.submit(source, destination, part, dc=8, esm=esm, rd=rd) for part in parts]

    def read(self, ack: bool = True) -> Any:
        p = self.client.read_pdu()
        if p.command == "deliver_sm":
            self.inbox.append(p)
            if ack:
                self.ack(p)
        elif p.command == "enquire_link":
            r = smpplib.smpp.make_pdu("enquire_link_resp", client=self.client)
            r.sequence = p.sequence
            self.client.send_pdu(r)
        return p

    def ack(self, p: Any, status: int = 0) -> None:
        r = smpplib.smpp.make_pdu("deliver_sm_resp", client=self.client, status=status)
        r.sequence = p.sequence
        self.client.send_pdu(r)

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 5.0, ack: bool = True) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                p = self.read(ack=ack)
            except TimeoutError:
                continue
            if predicate(p):
                return p
        raise AssertionError("expected PDU did not arrive")

    def deliveries(self, count: int, timeout: float = 5.0, ack: bool = True) -> list[Any]:
        """The next `count` deliver_sm."""
        got = [self.wait_for(lambda p: p.command == "deliver_sm", timeout, ack) for _ in range(count)]
        return got

    def quiet(self, seconds: float) -> list[Any]:
        """PDUs that arrive within `seconds` (expected: none)."""
        seen = []
        self.client._socket.settimeout(0.1)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                seen.append(self.read())
            except TimeoutError:
                continue
        self.client._socket.settimeout(3.0)
        return seen

    def close(self) -> None:
        try:
            self.client.unbind()
        except Exception:
            pass
        self.client.disconnect()


def text_of(p: Any) -> str:
    """Text of a deliver_sm decoded by the test, UDH stripped."""
    data = bytes(p.short_message or getattr(p, "message_payload", b"") or b"")
    if int(p.esm_class) & 0x40:
        data = data[1 + data[0] :]
    if int(p.data_coding) == 8:
        return data.decode("utf-16-be")
    return data.decode("latin-1")


Reply = Callable[[str, str, str], list[tuple[str, str, str]]]


class FakeGateway:
    """A transceiver that answers every MO with the MTs `reply(source, dest, text)` gives
    as (to, from, text) — a stand-in for smsgw."""

    def __init__(self, port: int, reply: Reply, password: str = "demo1234") -> None:
        self.esme = Esme(port, timeout=0.2)
        self.esme.bind(password=password)
        self.reply = reply
        self.seen: list[tuple[str, str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                p = self.esme.read()
            except TimeoutError:
                continue
            except (smpplib.exceptions.ConnectionError, OSError):
                return
            if p.command != "deliver_sm" or int(p.esm_class) & 0x04:
                continue
            mo = (p.source_addr.decode(), p.destination_addr.decode(), text_of(p))
            self.seen.append(mo)
            for to, source, text in self.reply(*mo):
                parts, _, esm = smpplib.gsm.make_parts(text, smpplib.consts.SMPP_ENCODING_ISO10646)
                for part in parts:
                    self.esme.send_submit(source, to, part, dc=8, esm=esm)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.esme.close()
