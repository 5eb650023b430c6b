"""Inbound deliver_sm driven by the session's events, with explicit times and no sockets.

MOs and receipts go into the next batch and are answered only once it settles,
on the connection they came on; what a response confirms depends on when and
where it was written; a full window stops the link reading.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from structlog.testing import capture_logs

from grammar import TopUp
from handlers.credentials import TemporaryPassword
from smpp.constants import EsmClass, Status, Tag
from smpp.receipts import receipt_tlvs
from smpp.smsc_events import DeliverAnswered
from smpp.split import split_text
from smsgw.batch.jobs import Batch, BatchResult, Decision, MoJob, ReceiptJob
from smsgw.db.outbox import storable_message_id
from smsgw.gateway.inbound import Inbound
from tests.unit.gateway_support import Rig, result

SENDER = "37120000001"


class Decided:
    def __init__(self) -> None:
        self.calls: list[tuple[MoJob, Decision, float]] = []

    def __call__(self, job: MoJob, decision: Decision, batch: BatchResult, seconds: float) -> None:
        self.calls.append((job, decision, seconds))


async def _password() -> TemporaryPassword:
    return TemporaryPassword("ABCDEFGHJK", "scrypt$hash")


def _rig(*, window: int = 32, confirm_within: float = 0.5, mo_id_tag: int = 0, **inbound: Any) -> tuple[Rig, Decided]:
    rig = Rig()
    decided = Decided()
    rig.inbound = Inbound(
        rig.link,
        rig.confirmations,
        mo_id_tag=mo_id_tag,
        confirm_within=confirm_within,
        window=window,
        prepare_password=inbound.pop("prepare_password", _password),
        on_decided=decided,
        **inbound,
    )
    rig.connect()
    return rig, decided


def _batch(rig: Rig) -> Batch:
    batch = Batch()
    assert rig.inbound is not None
    rig.inbound.fill(batch)
    return batch


def _ok(job: MoJob, outcome: str = "help", **fields: Any) -> Decision:
    return Decision(job.id, outcome, **fields)


def _settle(rig: Rig, *decisions: Decision, receipts: tuple[Any, ...] = ()) -> None:
    assert rig.inbound is not None
    rig.inbound.settle(result(*decisions, receipts=receipts))
    rig.pump()


def _read_by_smsc(rig: Rig) -> None:
    """Nothing else to write: the session probes with enquire_link, whose answer shows what the SMSC read."""
    rig.tick(rig.esme.probe_after + 0.01)


# --- MOs ---------------------------------------------------------------------------------------------


async def test_mos_are_answered_only_after_their_batch_settles() -> None:
    rig, decided = _rig()
    rig.deliver("V 29000001 5", "mo-a")
    rig.deliver("S", "mo-b")
    assert rig.answers() == [] and rig.link.session is not None and rig.link.session.owed == 2
    batch = _batch(rig)
    first, second = batch.mos
    assert (first.sender, first.destination, first.command) == (SENDER, "1643", TopUp("37129000001", Decimal("5.00")))
    rig.pump()
    assert rig.answers() == [], "filled into a batch is not committed"
    _settle(rig, _ok(first, "topup_applied"), Decision(second.id, "failed", failed=True))
    assert rig.answers() == [DeliverAnswered("mo-a", Status.ESME_ROK), DeliverAnswered("mo-b", Status.ESME_RX_T_APPN)]
    assert [(job.id, d.outcome) for job, d, _ in decided.calls] == [(first.id, "topup_applied")]


async def test_what_arrives_while_a_batch_runs_waits_for_the_next() -> None:
    rig, _ = _rig()
    rig.deliver("S", "mo-a")
    [first] = _batch(rig).mos
    rig.deliver("HELP", "mo-b")
    _settle(rig, _ok(first))
    assert rig.answers() == [DeliverAnswered("mo-a", Status.ESME_ROK)]
    assert rig.inbound is not None and rig.inbound.busy
    [second] = _batch(rig).mos
    assert second.text == "HELP"


async def test_a_response_for_a_lost_connection_is_not_written_on_the_new_one() -> None:
    """Sequence numbers restart per connection: an old MO's number would answer another PDU on the new one."""
    rig, _ = _rig()
    rig.deliver("S", "old")
    [old] = _batch(rig).mos
    rig.lose_link()
    rig.connect()
    rig.deliver("HELP", "new")  # the new SMSC session numbers it as the old one was
    with capture_logs() as logs:
        _settle(rig, _ok(old))
    assert rig.answers() == [], "nothing goes out on the new connection for the old MO"
    assert [e["event"] for e in logs] == ["deliver_sm_resp_not_sent"]
    [new] = _batch(rig).mos
    _settle(rig, _ok(new))
    assert rig.answers() == [DeliverAnswered("new", Status.ESME_ROK)]


async def test_a_failed_batch_answers_its_mos_and_receipts_so_that_the_smsc_delivers_them_again() -> None:
    rig, _ = _rig()
    rig.deliver("S", "mo-a")
    _deliver_receipt(rig, "1A2B", "DELIVRD", "rc-a")
    batch = _batch(rig)
    assert len(batch.mos) == 1 and len(batch.receipts) == 1
    assert rig.inbound is not None
    rig.inbound.failed()
    rig.pump()
    assert rig.answers() == [
        DeliverAnswered("mo-a", Status.ESME_RX_T_APPN),
        DeliverAnswered("rc-a", Status.ESME_RX_T_APPN),
    ]


# --- what a response confirms ------------------------------------------------------------------------


async def test_a_response_read_by_the_smsc_confirms_its_mo() -> None:
    rig, _ = _rig()
    rig.deliver("S", "mo-a")
    [job] = _batch(rig).mos
    _settle(rig, _ok(job))
    _read_by_smsc(rig)
    batch = Batch()
    rig.confirmations.fill(batch)
    assert batch.acks == [job.id]


async def test_a_response_written_too_late_confirms_nothing() -> None:
    rig, _ = _rig(confirm_within=0.5)
    rig.deliver("S", "mo-a")
    [job] = _batch(rig).mos
    rig.tick(0.6)  # the batch took longer than the SMSC may wait
    _settle(rig, _ok(job))
    _read_by_smsc(rig)
    batch = Batch()
    rig.confirmations.fill(batch)
    assert batch.acks == []


async def test_a_copy_of_an_answered_mo_is_answered_at_once_and_the_original_never_confirmed() -> None:
    """The SMSC sent it again before it was seen to read our response: no batch waits for the copy."""
    rig, decided = _rig()
    rig.deliver("S", "mo-a")
    [original] = _batch(rig).mos
    _settle(rig, _ok(original, "status"))
    rig.deliver("S", "mo-a-again")  # the SMSC did not take our response in time
    assert [a.ref for a in rig.answers()] == ["mo-a", "mo-a-again"]
    assert _batch(rig).mos == [], "answered from memory: its record is committed"
    job, decision, _ = decided.calls[-1]
    assert (decision.mo_id, decision.copy_of, decision.outcome, decision.replies) == (
        original.id,
        original.id,
        "status",
        (),
    )
    assert job.id != original.id
    _read_by_smsc(rig)
    batch = Batch()
    rig.confirmations.fill(batch)
    assert batch.acks == [], "it may send it once more: the next copy must still be recognised"
    rig.deliver("S", "mo-a-third")
    assert [a.ref for a in rig.answers()] == ["mo-a-third"] and _batch(rig).mos == []


async def test_an_equal_text_after_the_smsc_read_our_response_is_for_the_database_to_judge() -> None:
    rig, _ = _rig()
    rig.deliver("S", "mo-a")
    [original] = _batch(rig).mos
    _settle(rig, _ok(original, "status"))
    _read_by_smsc(rig)
    rig.deliver("S", "mo-b")  # maybe the subscriber's new message: the database knows if it was confirmed
    [again] = _batch(rig).mos
    assert again.text == "S" and rig.answers() == [DeliverAnswered("mo-a", Status.ESME_ROK)]


@pytest.mark.parametrize("late", [False, True])
async def test_a_copy_read_while_its_original_was_in_its_batch_means_the_original_is_never_confirmed(
    late: bool,
) -> None:
    rig, _ = _rig(confirm_within=0.5)
    rig.deliver("S", "mo-a")
    [original] = _batch(rig).mos
    rig.deliver("S", "mo-a-again")  # sent before the SMSC read our response to the original
    _settle(rig, _ok(original, "status"))
    [copy] = _batch(rig).mos
    if late:
        rig.tick(0.6)  # the copy's own response is late: it must not leave the original confirmable
    _settle(rig, Decision(original.id, "status", copy_of=original.id))
    assert [a.ref for a in rig.answers()] == ["mo-a", "mo-a-again"]
    _read_by_smsc(rig)
    batch = Batch()
    rig.confirmations.fill(batch)
    assert batch.acks == []
    assert copy.id != original.id


async def test_a_copy_after_a_lost_link_confirms_the_original_once_read() -> None:
    rig, _ = _rig()
    rig.deliver("S", "mo-a")
    [original] = _batch(rig).mos
    _settle(rig, _ok(original))
    assert rig.answers() == [DeliverAnswered("mo-a", Status.ESME_ROK)]
    rig.lose_link()  # before the SMSC was seen to read the response
    rig.connect()
    rig.deliver("S", "mo-a-again")  # the SMSC's ordinary redelivery
    _batch(rig)
    _settle(rig, Decision(original.id, "status", copy_of=original.id))
    assert rig.answers() == [DeliverAnswered("mo-a-again", Status.ESME_ROK)]
    _read_by_smsc(rig)
    batch = Batch()
    rig.confirmations.fill(batch)
    assert batch.acks == [original.id]


# --- back-pressure ---------------------------------------------------------------------------------------


async def test_a_full_window_stops_the_link_reading_until_a_batch_answers() -> None:
    rig, _ = _rig(window=2)
    assert rig.inbound is not None
    room = rig.inbound.room
    rig.deliver("S", "mo-a")
    assert room.is_set()
    rig.deliver("HELP", "mo-b")
    assert not room.is_set() and rig.inbound.in_flight == 2
    first, second = _batch(rig).mos
    assert not room.is_set(), "in the batch is still in flight"
    _settle(rig, _ok(first), _ok(second))
    assert room.is_set() and rig.inbound.in_flight == 0


async def test_a_p_waiting_for_its_password_holds_its_place_in_the_window_and_its_response() -> None:
    prepared = asyncio.Event()

    async def slow_password() -> TemporaryPassword:
        await prepared.wait()
        return await _password()

    rig, _ = _rig(window=1, prepare_password=slow_password)
    woken: list[bool] = []
    assert rig.inbound is not None
    rig.inbound.wake = lambda: woken.append(True)
    rig.deliver("P", "mo-p", destination="1640")
    [job] = _batch(rig).mos
    _settle(rig, Decision(job.id, "password_pending", "ResetPassword", needs_password=True))
    assert rig.answers() == [] and not rig.inbound.room.is_set() and rig.inbound.in_flight == 1
    prepared.set()
    await asyncio.sleep(0.01)
    assert woken == [True]
    [again] = _batch(rig).mos
    assert again.id == job.id and again.password is not None and again.password.plain == "ABCDEFGHJK"
    _settle(rig, Decision(job.id, "password_issued", "ResetPassword"))
    assert rig.answers() == [DeliverAnswered("mo-p", Status.ESME_ROK)] and rig.inbound.room.is_set()


async def test_a_password_that_cannot_be_prepared_lets_the_smsc_deliver_the_p_again() -> None:
    async def broken() -> TemporaryPassword:
        raise OSError("no entropy")

    rig, _ = _rig(prepare_password=broken)
    rig.deliver("P", "mo-p", destination="1640")
    [job] = _batch(rig).mos
    with capture_logs() as logs:
        _settle(rig, Decision(job.id, "password_pending", needs_password=True))
        await asyncio.sleep(0.01)
    rig.pump()
    assert rig.answers() == [DeliverAnswered("mo-p", Status.ESME_RX_T_APPN)]
    assert "password_not_prepared" in [e["event"] for e in logs]
    assert rig.inbound is not None and rig.inbound.in_flight == 0


async def test_while_draining_mos_and_receipts_are_left_with_the_smsc() -> None:
    rig, _ = _rig()
    assert rig.inbound is not None
    rig.inbound.draining = True
    rig.deliver("S", "mo-a")
    _deliver_receipt(rig, "1A2B", "DELIVRD", "rc-a")
    assert rig.answers() == [
        DeliverAnswered("mo-a", Status.ESME_RX_T_APPN),
        DeliverAnswered("rc-a", Status.ESME_RX_T_APPN),
    ]
    assert not rig.inbound.busy


# --- receipts ------------------------------------------------------------------------------------------


def _deliver_receipt(rig: Rig, message_id: str, stat: str, ref: str) -> None:
    text = f"id:{message_id} sub:001 dlvrd:001 submit date:2611181200 done date:2611181200 stat:{stat} err:000"
    rig.deliver(text, ref, esm_class=EsmClass.DELIVERY_RECEIPT, tlvs=receipt_tlvs(message_id, stat))


async def test_a_final_receipt_is_recorded_by_a_batch_and_a_copy_of_it_answered_at_once() -> None:
    rig, _ = _rig()
    _deliver_receipt(rig, "1A2B", "DELIVRD", "rc-1")
    [receipt] = _batch(rig).receipts
    assert receipt == ReceiptJob(("1A2B", "1a2b", "6699"), "delivered")
    assert rig.answers() == []
    with capture_logs() as logs:
        _settle(rig, receipts=(None,))
    assert rig.answers() == [DeliverAnswered("rc-1", Status.ESME_ROK)]
    assert [e["event"] for e in logs] == ["receipt_early"]
    _deliver_receipt(rig, "1A2B", "DELIVRD", "rc-1-again")
    assert rig.answers() == [DeliverAnswered("rc-1-again", Status.ESME_ROK)]
    assert _batch(rig).receipts == []


async def test_a_receipt_quoting_an_overlong_message_id_is_matched_by_its_digest() -> None:
    rig, _ = _rig()
    long_id = "Y" * 100
    _deliver_receipt(rig, long_id, "DELIVRD", "rc-1")
    [receipt] = _batch(rig).receipts
    assert receipt == ReceiptJob((storable_message_id(long_id),), "delivered")


async def test_a_receipt_that_is_not_final_is_answered_at_once_and_counted() -> None:
    rig, _ = _rig()
    _deliver_receipt(rig, "77", "ENROUTE", "rc-1")
    assert rig.answers() == [DeliverAnswered("rc-1", Status.ESME_ROK)]
    assert _batch(rig).receipts == []
    assert rig.inbound is not None and rig.inbound.receipts_by_stat == {"ENROUTE": 1}


# --- what the job carries -------------------------------------------------------------------------------


async def test_a_part_of_a_long_mo_waits_for_the_batch_that_completes_it() -> None:
    parts_seen: list[int] = []
    rig, decided = _rig(on_part=lambda: parts_seen.append(1))
    [first, _] = split_text("V 29000001 5 " + "x" * 160, reference=9)
    rig.deliver(first.short_message, "part-1", esm_class=first.esm_class, data_coding=first.data_coding)
    [job] = _batch(rig).mos
    assert job.part is not None and (job.part.reference, job.part.total, job.part.sequence) == (9, 2, 1)
    assert job.command is None and job.problem is None, "a part is parsed only once the batch completes it"
    _settle(rig, Decision(job.id, "part_stored", part_stored=True))
    assert rig.answers() == [DeliverAnswered("part-1", Status.ESME_ROK)]
    assert parts_seen == [1] and decided.calls == []


async def test_the_smscs_own_id_of_an_mo_is_taken_from_its_tlv_an_overlong_one_as_a_digest() -> None:
    rig, _ = _rig(mo_id_tag=Tag.RECEIPTED_MESSAGE_ID)
    rig.deliver("S", "a", tlvs=((Tag.RECEIPTED_MESSAGE_ID, b"smsc-1\0"),))
    rig.deliver("S", "b", tlvs=((Tag.RECEIPTED_MESSAGE_ID, b"x" * 200 + b"\0"),))
    rig.deliver("S", "c")
    short, long, none = _batch(rig).mos
    assert short.smsc_ref == "smsc-1" and none.smsc_ref is None
    assert long.smsc_ref is not None and long.smsc_ref.startswith("sha256:") and len(long.smsc_ref) == 71


@pytest.mark.parametrize(
    ("data", "text", "unreadable"),
    [
        (b"V 29000001 5", "V 29000001 5", None),  # typed, though sent as binary
        (b"\x00\x01\xff\x80", "", "binary"),
    ],
)
async def test_octets_of_a_binary_coding_are_text_only_when_every_one_is_printable(
    data: bytes, text: str, unreadable: str | None
) -> None:
    rig, _ = _rig()
    rig.deliver(data, "bin", data_coding=4)
    [job] = _batch(rig).mos
    assert (job.text, job.unreadable) == (text, unreadable)
    assert (job.command is None) == (unreadable is not None)
