"""Deciding a batch: every MO in order against the in-memory view, each undone alone if it fails.

The handlers are the real ones; the snapshot is loaded from the handler fakes
(``batch_support.snapshot_from``), the clock is ``NOW``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from structlog.testing import capture_logs

from grammar import PASSWORD_SHORT_CODE
from handlers import HANDLERS, Context, Reply
from handlers.credentials import TemporaryPassword, hash_password
from handlers.model import Language, PendingRequest, SubscriberStatus, TopUpKind
from smsgw.batch.decide import Decider
from smsgw.batch.jobs import Decision, MoJob, PartOf
from smsgw.batch.records import Records
from smsgw.batch.snapshot import Keys, Miss, Snapshot
from smsgw.batch.view import BatchView
from smsgw.mo import InboundMo, mo_job
from smsgw.sealing import SEALED_PLACEHOLDER, Sealer, SealingError
from tests.unit.batch_support import KEY, VALIDITY, decider, job, snapshot_from
from tests.unit.fakes import FAST_SCRYPT_N, KARTE, KARTE_2, NOW, FakeUnitOfWork, LedgerRow, karte, postpaid

SENDER = "37120000001"
OTHER = "37120000002"


def _directory(**changes: Any) -> FakeUnitOfWork:
    return FakeUnitOfWork.with_subscribers(
        postpaid(SENDER, **changes),
        postpaid(OTHER, language=Language.EN, email="ann@example.com"),
        karte(KARTE),
        karte(KARTE_2),
    )


def _snapshot(uow: FakeUnitOfWork, keys: Keys, *, pending_kartes: bool = True) -> Snapshot:
    """Load what ``keys`` name; like ``batch_load``, the Karte of a pending request too (unless told not to)."""
    numbers = set(keys.numbers)
    if pending_kartes:
        numbers |= {r.karte for s, r in uow.pending.by_sender.items() if s in keys.senders}
    return snapshot_from(uow, numbers=numbers, senders=keys.senders, password_senders=keys.password_senders)


def _decide(
    uow: FakeUnitOfWork, jobs: list[MoJob], d: Decider | None = None
) -> tuple[BatchView, Records, list[Decision]]:
    keys = Decider.keys(jobs)
    return (d or decider()).decide(_snapshot(uow, keys), jobs, keys)


def _balance(view: BatchView, msisdn: str) -> Decimal | None:
    subscriber = view.snapshot.subscribers[msisdn]
    assert subscriber is not None
    return subscriber.balance


# --- the keys of a batch ---------------------------------------------------------------------------


def test_the_keys_of_a_batch_name_everything_its_mos_can_read() -> None:
    jobs = [
        job("+37120000001", "V 29123456 5"),
        job(OTHER, "P", PASSWORD_SHORT_CODE, smsc_ref="ref-1"),
        replace(job("37120000003", "V 2912"), part=PartOf(9, 2, 1), command=None),
    ]
    keys = Decider.keys(jobs)
    assert keys.numbers == {SENDER, KARTE, OTHER, "37120000003"}, "senders in international form, and the Karte"
    assert keys.senders == {SENDER, OTHER, "37120000003"}
    assert keys.password_senders == {OTHER}
    assert keys.sources == {"+37120000001", OTHER, "37120000003"}, "the raw source orders copies of one MO"
    assert keys.smsc_refs == {"ref-1"}
    assert keys.fingerprints == {jobs[0].fingerprint}, "an MO with an SMSC id is matched by that id only"
    assert keys.parts == {("37120000003", "1643", 9, 2)}
    assert keys.lock_keys() == sorted(keys.numbers | keys.sources)


# --- MOs of one batch see each other ------------------------------------------------------------------


def test_two_top_ups_of_one_sender_in_one_batch_see_each_other_and_the_third_hits_the_daily_cap() -> None:
    jobs = [job(SENDER, "V 29123456 10"), job(SENDER, "V 29000002 10"), job(SENDER, "V 29123456 5")]
    view, records, decisions = _decide(_directory(), jobs)
    assert [d.outcome for d in decisions] == ["topup_applied", "topup_applied", "daily_cap"]
    assert [(t.karte, t.amount_cents, t.kind) for t in view.new_topups] == [
        (KARTE, 1000, TopUpKind.ONE_OFF),
        (KARTE_2, 1000, TopUpKind.ONE_OFF),
    ]
    assert _balance(view, KARTE) == Decimal("10.00") and view.dirty_subscribers[KARTE].balance == Decimal("10.00")
    assert [d.reply_positions for d in decisions] == [(0, 1), (2, 3), (4,)]
    assert [r.destination for r in records.new_replies] == [SENDER, KARTE, SENDER, KARTE_2, SENDER]
    assert [m.id for m in records.new_mos] == [j.id for j in jobs]


def test_the_daily_cap_counts_what_was_loaded_from_before_the_batch() -> None:
    uow = _directory()
    uow.ledger.rows.append(
        LedgerRow(1, SENDER, KARTE, Decimal("20.00"), TopUpKind.ONE_OFF, NOW - timedelta(hours=1), None, None, None)
    )
    _, _, decisions = _decide(uow, [job(SENDER, "V 29123456 1.42")])
    assert decisions[0].outcome == "daily_cap"


def test_a_monthly_request_and_its_confirmation_in_one_batch() -> None:
    jobs = [job(SENDER, "M 29123456 7"), job(SENDER, "JA"), job(SENDER, "S 29123456")]
    view, _, decisions = _decide(_directory(), jobs)
    assert [d.outcome for d in decisions] == ["monthly_requested", "monthly_confirmed", "status_karte"]
    assert view.dirty_pending == {SENDER: None}, "asked, then confirmed: nothing pending is written"
    [row] = view.dirty_orders.values()
    assert (row.order.karte, row.order.amount, row.order.id < 0) == (KARTE, Decimal("7.00"), True)


def test_the_same_mo_twice_in_one_batch_is_a_copy_and_applies_once() -> None:
    first, again = job(SENDER, "V 29123456 5"), job(SENDER, "V 29123456 5")
    by_ref = [job(SENDER, "V 29000002 5", smsc_ref="r1"), job(SENDER, "V 29000002 6", smsc_ref="r1")]
    view, records, decisions = _decide(_directory(), [first, again, *by_ref])
    assert decisions[1] == Decision(first.id, "topup_applied", copy_of=first.id, text="V 29123456 5")
    assert decisions[3].copy_of == by_ref[0].id and decisions[3].replies == ()
    assert len(view.new_topups) == 2 and len(records.new_mos) == 2 and len(records.new_replies) == 4


def test_the_same_text_twice_from_smsgw_mo_is_two_messages() -> None:
    jobs = [
        mo_job(InboundMo(SENDER, "1643", "V 29123456 5", NOW), recognise_redelivery=False),
        mo_job(InboundMo(SENDER, "1643", "V 29123456 5", NOW), recognise_redelivery=False),
    ]
    view, records, decisions = _decide(_directory(), jobs)
    assert [d.outcome for d in decisions] == ["topup_applied", "topup_applied"]
    assert all(m.acked for m in records.new_mos) and len(view.new_topups) == 2


# --- one MO fails, the others stand --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Explode:
    """A command whose handler changes state and then fails."""


async def _explode(cmd: _Explode, ctx: Context) -> Reply:
    uow = ctx.uow
    await uow.ledger.add(sender=ctx.sender, karte=KARTE, amount=Decimal("3"), kind=TopUpKind.ONE_OFF, at=ctx.now)
    await uow.subscribers.credit_karte(KARTE, Decimal("3"), None)
    await uow.pending.put(PendingRequest(ctx.sender, KARTE, Decimal("3"), ctx.now))
    raise RuntimeError("boom")


def test_a_failing_mo_is_undone_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(HANDLERS, _Explode, _explode)
    failing = replace(job(SENDER, "X"), command=_Explode(), problem=None)
    jobs = [job(SENDER, "V 29123456 5"), failing, job(SENDER, "V 29123456 6")]
    with capture_logs() as logs:
        view, records, decisions = _decide(_directory(), jobs)
    assert [d.outcome for d in decisions] == ["topup_applied", "failed", "topup_applied"]
    assert decisions[1] == Decision(failing.id, "failed", failed=True)
    assert [t.amount_cents for t in view.new_topups] == [500, 600]
    assert _balance(view, KARTE) == Decimal("11.00")
    assert view.dirty_pending == {} and view.snapshot.pending[SENDER] is None
    assert [m.id for m in records.new_mos] == [jobs[0].id, jobs[2].id]
    assert decisions[2].reply_positions == (2, 3), "positions count only the replies that stand"
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["mo_failed"]


# --- a key that was not loaded -----------------------------------------------------------------------


def test_a_miss_propagates_once_then_fails_only_its_mo_then_succeeds_once_loaded() -> None:
    uow = _directory()
    uow.pending.by_sender[OTHER] = PendingRequest(OTHER, KARTE_2, Decimal("5.00"), NOW - timedelta(hours=1))
    jobs = [job(SENDER, "V 29123456 5"), job(OTHER, "JA")]  # JA reads the Karte of the pending request
    keys = Decider.keys(jobs)
    assert KARTE_2 not in keys.numbers
    d = decider()
    with pytest.raises(Miss) as raised:
        d.decide(_snapshot(uow, keys, pending_kartes=False), jobs, keys)
    assert (raised.value.kind, raised.value.key) == ("subscriber", KARTE_2)
    assert KARTE_2 in keys.numbers, "the key was added: the batch runs again with it loaded"

    # Asked for and still not there (a load that did not return it): only that MO fails.
    unloaded = Keys(keys.numbers - {KARTE_2}, keys.senders, keys.password_senders)
    _, _, decisions = d.decide(_snapshot(uow, unloaded, pending_kartes=False), jobs, keys)
    assert [(d.outcome, d.failed) for d in decisions] == [("topup_applied", False), ("failed", True)]

    _, _, decisions = d.decide(_snapshot(uow, keys), jobs, keys)
    assert [d.outcome for d in decisions] == ["topup_applied", "monthly_confirmed"]


# --- P: held back until a password is prepared ------------------------------------------------------------


def _p(sender: str = OTHER, password: TemporaryPassword | None = None) -> MoJob:
    return replace(job(sender, "P", PASSWORD_SHORT_CODE), password=password)


def test_an_eligible_p_is_held_back_without_a_trace_then_issued_with_its_prepared_password() -> None:
    uow = _directory()
    held = _p()
    _, _, [decision] = _decide(uow, [held])
    assert decision == Decision(held.id, "password_pending", "ResetPassword", needs_password=True)
    view, records, decisions = _decide(uow, [job(SENDER, "HELP"), held])
    assert decisions[1].needs_password and decisions[0].outcome == "help"
    assert view.new_password_requests == [] and view.dirty_temporary == {} and view.new_emails == []
    assert [m.id for m in records.new_mos] == [decisions[0].mo_id], "nothing of the held P is recorded"

    password = TemporaryPassword("ABCDEFGHJK", hash_password("ABCDEFGHJK", n=FAST_SCRYPT_N))
    view, records, [issued] = _decide(uow, [replace(held, password=password)])
    assert issued.outcome == "password_issued" and not issued.needs_password
    assert view.dirty_temporary[OTHER][0] == password.hash
    assert view.new_password_requests == [(OTHER, NOW, "issued")]
    assert [e[0] for e in view.new_emails] == ["ann@example.com"]
    [reply] = records.new_replies
    assert reply.text == SEALED_PLACEHOLDER and reply.sealed is not None
    assert "ABCDEFGHJK" in Sealer(KEY).unseal(reply.sealed)
    assert "ABCDEFGHJK" not in repr(records.new_mos), "the MO record never holds the password"


@pytest.mark.parametrize(
    ("sender", "changes", "history", "outcome", "replies"),
    [
        ("37120009999", {}, 0, "password_unknown_number", 0),
        (SENDER, {"status": SubscriberStatus.CANCELLED}, 0, "password_not_active", 1),
        (SENDER, {}, 3, "password_rate_limited", 1),
    ],
)
def test_a_p_that_gets_no_password_is_decided_at_once(
    sender: str, changes: dict[str, Any], history: int, outcome: str, replies: int
) -> None:
    """No scrypt for an unknown, inactive or rate-limited number: it is never held for a password."""
    uow = _directory(**changes)
    uow.passwords.requests += [(sender, NOW - timedelta(minutes=10 + i), "issued") for i in range(history)]
    _, records, [decision] = _decide(uow, [_p(sender)])
    assert (decision.outcome, decision.needs_password, len(records.new_replies)) == (outcome, False, replies)


def test_a_password_sms_without_a_sealing_key_fails_the_whole_batch() -> None:
    """No key is the configuration's error, not the MO's: it is not swallowed as a failed MO."""
    password = TemporaryPassword("ABCDEFGHJK", hash_password("ABCDEFGHJK", n=FAST_SCRYPT_N))
    d = decider(sealer=Sealer.missing("no key configured"))
    with pytest.raises(SealingError):
        _decide(_directory(), [job(SENDER, "S"), _p(password=password)], d)


# --- what no one typed, what cannot be answered -------------------------------------------------------------


def test_octets_that_are_no_text_are_recorded_and_run_no_command() -> None:
    unreadable = mo_job(InboundMo(SENDER, "1643", "V 29123456 5", NOW, data_coding=4), unreadable="binary")
    view, records, [decision] = _decide(_directory(), [unreadable])
    assert (decision.outcome, decision.command, decision.replies) == ("unreadable_binary", None, ())
    assert view.new_topups == [] and records.new_replies == []
    assert records.new_mos[0].outcome == "unreadable_binary"


def test_a_sender_no_submit_sm_can_answer_gets_its_mo_recorded_without_replies() -> None:
    _, records, [decision] = _decide(_directory(), [job("LMT-INFO", "HELP")])
    assert decision.outcome == "help" and decision.replies == () and records.new_replies == []
    assert records.new_mos[0].source == "LMT-INFO"


def test_a_parse_error_is_answered_in_the_senders_language() -> None:
    _, records, [decision] = _decide(_directory(), [job(OTHER, "V 29123456 5.555")])
    assert decision.outcome == "not_understood_bad_amount" and decision.command is None
    [reply] = records.new_replies
    assert reply.destination == OTHER and reply.source == "1643" and "HELP" in reply.text


def test_replies_are_born_claimed_by_the_live_sender_and_expire_after_the_validity() -> None:
    _, records, _ = _decide(_directory(), [job(SENDER, "HELP")], decider(claimed_by="gw-1"))
    [reply] = records.new_replies
    assert (reply.claimed_by, reply.at, reply.expires_at) == ("gw-1", NOW, NOW + VALIDITY)


# --- long MOs --------------------------------------------------------------------------------------------


def _part(text: str, sequence: int, total: int = 3, reference: int = 42) -> MoJob:
    return mo_job(InboundMo(SENDER, "1643", text, NOW), part=PartOf(reference, total, sequence))


def test_a_long_mo_completed_in_the_batch_runs_its_joined_text_once() -> None:
    parts = [_part("5", 3), _part("V 2912", 1), _part("3456 ", 2)]
    keys = Decider.keys(parts)

    def load() -> Snapshot:
        snap = _snapshot(_directory(), keys)
        snap.parts[(SENDER, "1643", 42, 3)] = {}
        return snap

    with pytest.raises(Miss) as raised:  # the Karte is named only by the joined text
        decider().decide(load(), parts, keys)
    assert raised.value.key == KARTE and KARTE in keys.numbers
    snap = load()
    view, records, decisions = decider().decide(snap, parts, keys)
    assert [(d.outcome, d.part_stored) for d in decisions] == [
        ("part_stored", True),
        ("part_stored", True),
        ("topup_applied", False),
    ]
    assert decisions[2].text == "V 29123456 5" and decisions[2].mo_id == parts[2].id
    assert records.processed_parts == [((SENDER, "1643", 42, 3), parts[2].id)]
    assert len(view.new_topups) == 1

    # The SMSC delivers every part again: each is only acknowledged.
    again = [_part("V 2912", 1), _part("3456 ", 2), _part("5", 3)]
    view, _, decisions = decider().decide(snap, again, Decider.keys(again))
    assert {d.outcome for d in decisions} == {"redelivered_part"} and view.new_topups == []


def test_a_batch_completing_several_long_mos_finds_every_missing_karte_in_one_pass() -> None:
    # Found by tests/scaleout: with the parts of many long MOs spread over instances, one batch
    # completed a dozen of them and missed their Kartes one retry at a time until it gave up.
    def part(sender: str, text: str, sequence: int, reference: int) -> MoJob:
        return mo_job(InboundMo(sender, "1643", text, NOW), part=PartOf(reference, 2, sequence))

    parts = [part(SENDER, "V 29123456 ", 1, 7), part(OTHER, f"V {KARTE_2[3:]} ", 1, 8)]
    parts += [part(SENDER, "5", 2, 7), part(OTHER, "4", 2, 8)]
    keys = Decider.keys(parts)

    def load() -> Snapshot:
        snap = _snapshot(_directory(), keys)
        snap.parts.update({(SENDER, "1643", 7, 2): {}, (OTHER, "1643", 8, 2): {}})
        return snap

    with pytest.raises(Miss):
        decider().decide(load(), parts, keys)
    assert {KARTE, KARTE_2} <= keys.numbers, "both Kartes added by the one pass"
    _, _, decisions = decider().decide(load(), parts, keys)
    assert [d.outcome for d in decisions] == ["part_stored", "part_stored", "topup_applied", "topup_applied"]
