"""Delivery receipts at the inbound edge: they never hold up the read loop, and a copy needs no commit.

Found by the slow-database reliability test: receipts waited for MO slots, the
read loop stopped behind them, submit_sm_resp PDUs queued behind the receipts
timed out, and the resubmits' receipts fed the jam.
"""

from __future__ import annotations

import asyncio
from typing import Any

from smpp import Command, Pdu, ShortMessage, encode
from smsgw.gateway.inbound import Inbound
from smsgw.gateway.receipts import Receipts
from smsgw.smpp import pdu as smpp


class _Link:
    def __init__(self) -> None:
        self.written: list[smpp.Header] = []

    def write_pdu(self, data: bytes) -> bool:
        self.written.append(smpp.parse_header(data[:16]))
        return True

    def peek_sequence(self) -> int:
        return 1

    def probe(self) -> None:
        pass


class _Acks:
    def responded(self, mo_id: str, next_request: int, probe: Any) -> None:
        pass


class _SlowSender:
    """``record_receipt`` as the outbound batch does it: returns after a commit that takes its time."""

    def __init__(self) -> None:
        self.commit = asyncio.Event()
        self.recorded: list[tuple[tuple[str, ...], str]] = []

    async def record_receipt(self, variants: tuple[str, ...], state: str) -> tuple[int, str | None] | None:
        self.recorded.append((variants, state))
        await self.commit.wait()
        return (1, "mo")


def _receipt(message_id: str, sequence: int, stat: str = "DELIVRD") -> tuple[smpp.Header, bytes]:
    text = f"id:{message_id} sub:001 dlvrd:001 submit date:2611220600 done date:2611220600 stat:{stat} err:000 text:"
    message = ShortMessage(
        source_addr="37120000001", destination_addr="1643", esm_class=0x04, short_message=text.encode()
    )
    raw = encode(Pdu(Command.DELIVER_SM, 0, sequence, message))
    return smpp.parse_header(raw[:16]), raw[16:]


async def test_receipts_take_no_mo_slot_and_never_block_the_read_loop() -> None:
    sender = _SlowSender()
    inbound = Inbound(None, Receipts(sender), _Acks(), window=1)  # type: ignore[arg-type]
    link = _Link()
    for sequence in range(1, 41):  # forty receipts, far more than the MO window of one
        header, body = _receipt(f"{sequence:x}", sequence)
        await asyncio.wait_for(inbound.accept(link, header, body), 0.5)  # returns at once: nothing waits
    await asyncio.sleep(0)
    assert len(sender.recorded) == 40
    assert link.written == []  # and none is answered before its commit
    sender.commit.set()
    await inbound.drain(5.0)
    assert sorted(h.sequence for h in link.written) == list(range(1, 41))
    assert {h.status for h in link.written} == {smpp.ESME_ROK}


async def test_a_copy_of_a_recorded_receipt_is_answered_without_a_commit() -> None:
    sender = _SlowSender()
    sender.commit.set()
    receipts = Receipts(sender)  # type: ignore[arg-type]
    header, body = _receipt("1a2b", 1)
    pdu = smpp.decode_deliver_sm(header, body)
    await receipts.handle(pdu)
    await receipts.handle(pdu)  # the SMSC sent it again: our response was late for it
    assert len(sender.recorded) == 1 and receipts.repeated == 1
    header, body = _receipt("1a2b", 2, stat="UNDELIV")  # another state of the same message is news
    await receipts.handle(smpp.decode_deliver_sm(header, body))
    assert len(sender.recorded) == 2


async def test_past_their_bound_receipts_are_left_with_the_smsc() -> None:
    sender = _SlowSender()
    inbound = Inbound(None, Receipts(sender), _Acks(), window=1)  # type: ignore[arg-type]
    link = _Link()
    limit = 256  # max(256, 16 × window)
    for sequence in range(1, limit + 3):
        header, body = _receipt(f"{sequence:x}", sequence)
        await asyncio.wait_for(inbound.accept(link, header, body), 0.5)
    refused = [h for h in link.written if h.status == smpp.ESME_RX_T_APPN]
    assert [h.sequence for h in refused] == [limit + 1, limit + 2]  # the SMSC keeps them and tries later
    sender.commit.set()
    await inbound.drain(5.0)
    assert sum(1 for h in link.written if h.status == smpp.ESME_ROK) == limit
