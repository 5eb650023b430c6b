"""An SMSC that redelivers like a real one, built on the e2e suite's :class:`FakeSmsc`.

:class:`RedeliveringSmsc` sends MOs as deliver_sm and keeps each until a
deliver_sm_resp with ESME_ROK answers one of its copies. An MO still
unanswered ``timeout`` seconds after its last copy, or whose connection ended,
is sent again on the newest bound connection (same content, new sequence
number), as SMSCs do — there is no MO id in SMPP 3.4, so the gateway sees the
same text again. It is independent of the simulator, and its
:class:`FakeSmscView` lets ``check_invariants`` read what it saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from smpp import UndecodableText, decode_text
from tests.e2e.fake_smsc import DELIVER_SM_RESP, FakeSmsc, gsm

from .invariants import Mt, Sent

__all__ = ["FakeSmscView", "RedeliveringSmsc"]


@dataclass
class _Mo:
    sent: Sent
    copies: list[tuple[int, int, float]] = field(default_factory=list)  # (session, sequence, when)
    acked: bool = False


class RedeliveringSmsc:
    def __init__(self, fake: FakeSmsc, *, timeout: float = 3.0) -> None:
        self.fake = fake
        self.timeout = timeout
        self._mos: dict[str, _Mo] = {}
        self._by_copy: dict[tuple[int, int], _Mo] = {}
        self._lock = threading.Lock()
        self._sequences: dict[int, int] = {}  # session -> last sequence number used
        self.redeliveries = 0  # copies sent again (after the response timeout or a lost connection)
        self.timeouts = 0  # of which: sent again on the same connection, the response timeout having passed

    def mo_for(self, session: int, sequence: int) -> Sent | None:
        """The MO a deliver_sm (session, sequence) carried."""
        with self._lock:
            mo = self._by_copy.get((session, sequence))
        return None if mo is None else mo.sent

    def send(self, mos: Sequence[Sent]) -> None:
        for sent in mos:
            mo = _Mo(sent)
            with self._lock:
                self._mos[sent.key] = mo
            self._send_copy(mo)

    def _send_copy(self, mo: _Mo) -> bool:
        session = self.fake.session
        if session == 0:
            return False
        with self._lock:  # known before it is sent: the response may come at once
            sequence = self._sequences.get(session, 0) + 1
            self._sequences[session] = sequence
            mo.copies.append((session, sequence, time.monotonic()))
            self._by_copy[(session, sequence)] = mo
        try:
            self.fake.deliver(
                mo.sent.source, mo.sent.destination, gsm(mo.sent.text), session=session, sequence=sequence
            )
        except AssertionError:  # the session is gone: due again at once
            return True
        return True

    def _collect_responses(self) -> None:
        for pdu in self.fake.pdus(DELIVER_SM_RESP):
            if pdu.status != 0:
                continue
            with self._lock:
                mo = self._by_copy.get((pdu.session, pdu.sequence))
                if mo is not None:
                    mo.acked = True

    def pump(self) -> int:
        """Redeliver what is due; returns how many MOs are still unacknowledged."""
        self._collect_responses()
        now = time.monotonic()
        current = self.fake.session
        with self._lock:
            waiting = [m for m in self._mos.values() if not m.acked]
        for mo in waiting:
            session, _, when = mo.copies[-1] if mo.copies else (0, 0, 0.0)
            if session != current or now - when > self.timeout:
                timed_out = bool(mo.copies) and session == current
                if current and self._send_copy(mo):
                    self.redeliveries += 1 if mo.copies[:-1] else 0
                    self.timeouts += 1 if timed_out else 0
        return len(waiting)

    def run_until_acked(self, timeout: float) -> None:
        """Pump until every MO was acknowledged (AssertionError after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while self.pump():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.pump()} MOs still unacknowledged after {timeout} s")
            time.sleep(0.05)

    def acked(self, key: str) -> bool:
        self._collect_responses()
        with self._lock:
            return self._mos[key].acked


class FakeSmscView:
    """``SmscView`` over a :class:`RedeliveringSmsc`: MO states and the submit_sm it received."""

    def __init__(self, smsc: RedeliveringSmsc) -> None:
        self.smsc = smsc

    def mo_states(self, mos: Sequence[Sent]) -> dict[str, str]:
        return {m.key: "delivered" if self.smsc.acked(m.key) else "sent" for m in mos}

    def mts(self, cursor: int) -> list[Mt]:
        found = []
        for pdu in self.smsc.fake.submits()[cursor:]:
            f = pdu.fields
            if not f:
                continue
            concatenated = bool(f["esm_class"] & 0x40)
            text = None if concatenated else _text(f["short_message"], f["data_coding"])
            found.append(Mt(f["source"], f["destination"], text))
        return found


def _text(data: bytes, data_coding: int) -> str | None:
    """The text of a one-part MT, None for one in a data_coding with no text."""
    try:
        return decode_text(data, data_coding)
    except UndecodableText:
        return None
