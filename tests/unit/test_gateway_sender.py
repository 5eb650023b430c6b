"""The outbox sender driven by the session's events, with explicit times and no sockets.

A part goes on the wire only after a batch recorded it ``submitting``; the
submit window bounds what is recorded and unanswered; throttling backs off,
temporary errors retry a few times, timeouts and lost links resubmit, expiry and
permanent refusals end the reply; parts a dead instance may have sent are counted.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet

from smpp.constants import Status
from smpp.esme_session import EsmeConfig
from smsgw.batch.jobs import Batch, ClaimRequest, ReplyFailed
from smsgw.db.outbox import SMSC_MESSAGE_ID_MAX, PartAccepted, storable_message_id
from smsgw.gateway.sender import Sender
from smsgw.sealing import Sealer
from tests.unit.gateway_support import WALL, Rig, claimed, result

TAKEOVER = 10.0


def _rig(window: int = 4, **sender: Any) -> tuple[Rig, Sender, list[tuple[str, object]]]:
    rig = Rig(esme=EsmeConfig(window=window, submit_timeout=5.0))
    events: list[tuple[str, object]] = []
    rig.sender = Sender(
        rig.link,
        Sealer(Fernet.generate_key()),
        owner="gw-a",
        takeover=TAKEOVER,
        on_event=lambda name, value: events.append((name, value)),
        rng=random.Random(7),
        **sender,
    )
    rig.connect()
    return rig, rig.sender, events


def _pump(rig: Rig) -> None:
    assert rig.sender is not None
    rig.sender.pump(rig.now, rig.wall)
    rig.pump()


def _batch(rig: Rig, **result_fields: Any) -> Batch:
    """One batch of the sender's work, committed."""
    assert rig.sender is not None
    batch = Batch()
    rig.sender.fill(batch, rig.now, rig.wall)
    rig.sender.settle(batch, result(**result_fields))
    _pump(rig)
    return batch


def _recorded_and_sent(rig: Rig) -> tuple[Batch, list[Any]]:
    _pump(rig)
    batch = _batch(rig)
    return batch, rig.submits()


# --- intents and the window ----------------------------------------------------------------------------


async def test_a_part_goes_on_the_wire_only_after_a_batch_recorded_it() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1)])
    _pump(rig)
    assert rig.submits() == [] and sender.busy, "waiting for its intent to be recorded"
    batch = Batch()
    sender.fill(batch, rig.now, rig.wall)
    assert batch.intents == [(1, 1)]
    _pump(rig)
    assert rig.submits() == [], "recorded by a batch that has not committed"
    sender.settle(batch, result())
    _pump(rig)
    [submit] = rig.submits()
    assert (submit.message.source_addr, submit.message.destination_addr) == ("1643", "37120000001")
    assert submit.message.short_message == b"Labdien" and submit.message.registered_delivery == 1


async def test_a_reply_whose_first_part_its_own_batch_recorded_goes_on_the_wire_at_once() -> None:
    rig, sender, _ = _rig(window=4)
    batch = Batch()
    sender.fill(batch, rig.now, rig.wall)
    assert batch.intent_room == 4, "an empty window: every new reply's first part may be recorded"
    sender.take([claimed(1, recorded=frozenset({1}))])
    _pump(rig)
    [submit] = rig.submits()
    assert submit.message.short_message == b"Labdien" and not sender.busy, "no batch needed before the wire"

    sender.take([claimed(i) for i in range(2, 6)])  # four more, not recorded: three fit the window
    _pump(rig)
    later = Batch()
    sender.fill(later, rig.now, rig.wall)
    assert later.intents == [(2, 1), (3, 1), (4, 1)]
    assert later.intent_room == 0, "the window is spoken for: new replies wait their turn"


async def test_the_window_bounds_the_parts_recorded_and_unanswered() -> None:
    rig, sender, _ = _rig(window=4)
    sender.take([claimed(i) for i in range(1, 7)])
    _pump(rig)
    _pump(rig)  # again while the first four wait for their batch: no more room
    batch = Batch()
    sender.fill(batch, rig.now, rig.wall)
    _pump(rig)  # and while their batch runs
    assert batch.intents == [(i, 1) for i in range(1, 5)]
    sender.settle(batch, result())
    _pump(rig)
    submits = rig.submits()
    assert len(submits) == 4
    assert sender.outstanding == 4
    _pump(rig)
    assert _batch(rig).intents == [], "no room: nothing more is recorded"
    rig.answer_submit(submits[0], Status.ESME_ROK, "M1")
    _pump(rig)
    batch = _batch(rig)
    assert batch.intents == [(5, 1)] and batch.accepted == [PartAccepted(1, 1, "M1", 1, True)]
    assert len(rig.submits()) == 1 and sender.outstanding == 4


async def test_a_batch_that_failed_hands_the_senders_work_to_the_next() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1), claimed(2)])
    _pump(rig)
    batch = Batch()
    sender.fill(batch, rig.now, rig.wall)
    assert batch.intents == [(1, 1), (2, 1)] and batch.claim is not None
    sender.failed(batch)
    _pump(rig)
    assert rig.submits() == []
    again = Batch()
    sender.fill(again, rig.now, rig.wall)
    assert again.intents == [(1, 1), (2, 1)], "recorded by the next batch instead"
    assert again.claim is not None, "the claim is asked again at once"


async def test_accepted_parts_and_their_reply_are_reported_once_complete() -> None:
    rig, sender, events = _rig()
    sender.take([claimed(3, "Ā" * 100)])  # UCS-2: two parts
    _, submits = _recorded_and_sent(rig)
    assert len(submits) == 2
    rig.answer_submit(submits[1], Status.ESME_ROK, "P2")
    rig.answer_submit(submits[0], Status.ESME_ROK, "P1")
    batch = _batch(rig)
    assert batch.accepted == [PartAccepted(3, 2, "P2", 2, False), PartAccepted(3, 1, "P1", 2, True)]
    assert sender.held == 0 and [name for name, _ in events] == ["reply_accepted"]


# --- SMSC answers --------------------------------------------------------------------------------------


async def test_throttling_backs_off_doubling_and_pauses_new_submits() -> None:
    rig, sender, _ = _rig(throttle_backoff=1.0, throttle_cap=8.0)
    sender.take([claimed(1)])
    _, [submit] = _recorded_and_sent(rig)
    rig.answer_submit(submit, Status.ESME_RTHROTTLED)
    sender.take([claimed(2)])
    rig.tick(0.49)
    _pump(rig)
    assert rig.submits() == [] and _batch(rig).intents == [], "paused for at least half the step (1 s)"
    rig.tick(0.52)
    _pump(rig)
    [again] = rig.submits()
    assert again.message.short_message == b"Labdien" and sender.stats.throttled == 1
    rig.answer_submit(again, Status.ESME_RTHROTTLED)  # a second one in a row: the step doubles to 2 s
    rig.tick(0.99)
    _pump(rig)
    assert rig.submits() == []
    rig.tick(1.02)
    _pump(rig)
    assert len(rig.submits()) == 1 and sender.stats.resubmitted == 2


async def test_temporary_errors_retry_five_times_then_the_reply_fails() -> None:
    rig, sender, events = _rig()
    sender.take([claimed(1)])
    _, [submit] = _recorded_and_sent(rig)
    for wait in (2, 4, 8, 16, 30):
        rig.answer_submit(submit, Status.ESME_RSYSERR)
        rig.tick(wait - 0.1)
        _pump(rig)
        assert rig.submits() == []
        rig.tick(0.2)
        _pump(rig)
        [submit] = rig.submits()
    rig.answer_submit(submit, Status.ESME_RSYSERR)
    assert _batch(rig).failed == [ReplyFailed(1, "failed", "SMSC refused part 1: ESME_RSYSERR")]
    assert sender.held == 0 and ("reply_failed", claimed(1)) in events


async def test_a_permanent_refusal_fails_the_reply_and_its_other_parts() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1, "Ā" * 100)])
    _, [first, second] = _recorded_and_sent(rig)
    rig.answer_submit(first, Status.ESME_RINVDSTADR)
    rig.answer_submit(second, Status.ESME_ROK, "late")
    batch = _batch(rig)
    assert batch.failed == [ReplyFailed(1, "failed", "SMSC refused part 1: ESME_RINVDSTADR")]
    assert batch.accepted == [], "a part answered after its reply failed is not recorded"


async def test_a_submit_that_times_out_is_written_again() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1)])
    _, [submit] = _recorded_and_sent(rig)
    rig.tick(5.1)  # no submit_sm_resp within submit_timeout
    _pump(rig)
    [again] = rig.submits()
    assert again.sequence != submit.sequence and again.message == submit.message
    assert (sender.stats.timeouts, sender.stats.resubmitted) == (1, 1)
    assert _batch(rig).intents == [], "its intent was recorded before"


async def test_submits_unanswered_when_the_link_is_lost_are_written_again_in_order_on_the_next() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1), claimed(2, "Otrs")])
    _, submits = _recorded_and_sent(rig)
    assert len(submits) == 2
    rig.lose_link()
    _pump(rig)
    assert sender.outstanding == 0
    rig.connect()
    _pump(rig)
    assert [s.message.short_message for s in rig.submits()] == [b"Labdien", b"Otrs"]


async def test_a_reply_not_accepted_before_it_expires_ends_expired() -> None:
    rig, sender, events = _rig()
    sender.take([claimed(1, expires_in=30)])
    rig.wall += timedelta(seconds=31)
    _pump(rig)
    assert _batch(rig).failed == [ReplyFailed(1, "expired", "not accepted before it expired")]
    assert rig.submits() == [] and sender.stats.expired == 1 and events[-1][0] == "reply_expired"


# --- replies taken over --------------------------------------------------------------------------------


async def test_parts_a_dead_instance_may_have_sent_are_counted_and_written_without_a_new_intent() -> None:
    rig, sender, events = _rig()
    sender.take([claimed(1, "Ā" * 100, attempts=2, done_parts=frozenset({1}), maybe_sent=frozenset({2}))])
    assert sender.stats.maybe_duplicates == 1 and events == [("maybe_duplicate", 1)]
    _pump(rig)
    [submit] = rig.submits()
    assert submit.message.short_message[:6] == bytes([5, 0, 3, 1, 2, 2]), "part 2 of 2 only"
    assert _batch(rig).intents == []


async def test_a_reply_whose_parts_were_all_accepted_before_is_only_recorded() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1, attempts=2, done_parts=frozenset({1}))])
    assert sender.held == 0
    assert _batch(rig).accepted == [PartAccepted(1, 1, "", 1, True)]


async def test_a_reply_no_submit_sm_can_carry_fails_when_held() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1, to="+371-2000")])
    assert sender.held == 0
    [failed] = _batch(rig).failed
    assert failed.state == "failed" and failed.error.startswith("cannot encode")


# --- heartbeats and claims -----------------------------------------------------------------------------------


async def test_the_first_batch_beats_and_claims_then_only_when_due() -> None:
    rig, sender, _ = _rig(poll_interval=0.5, max_held=8)
    assert sender.due(rig.now)
    first = Batch()
    sender.fill(first, rig.now, rig.wall)
    assert first.heartbeat is not None and first.heartbeat.name == "gw-a"
    assert first.claim == ClaimRequest("gw-a", 8, WALL - timedelta(seconds=TAKEOVER))
    sender.settle(first, result(claimed=(claimed(1), claimed(2))))
    assert sender.held == 2 and not sender.due(rig.now)
    rig.tick(0.5)
    assert sender.due(rig.now)
    second = Batch()
    sender.fill(second, rig.now, rig.wall)
    assert second.heartbeat is None and second.claim is not None and second.claim.limit == 6
    rig.tick(TAKEOVER / 4)
    third = Batch()
    sender.fill(third, rig.now, rig.wall)
    assert third.heartbeat is not None, "a beat every quarter of the takeover time"


async def test_no_claim_while_unbound_and_replies_given_back_at_shutdown() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1), claimed(2)])
    rig.lose_link()
    batch = Batch()
    sender.fill(batch, rig.now, rig.wall)
    assert batch.claim is None and batch.heartbeat is not None
    assert sorted(sender.release_all()) == [1, 2] and sender.held == 0


async def test_a_message_id_longer_than_the_database_stores_is_recorded_as_its_digest() -> None:
    rig, sender, _ = _rig()
    sender.take([claimed(1), claimed(2)])
    _, [first, second] = _recorded_and_sent(rig)
    long_id = "X" * 100  # SMPP 3.4 allows 64 characters; some SMSC sends more
    rig.answer_submit(first, Status.ESME_ROK, long_id)
    rig.answer_submit(second, Status.ESME_ROK, "X" * 80)
    [digested, kept] = _batch(rig).accepted
    assert digested.message_id == storable_message_id(long_id) and len(digested.message_id) <= SMSC_MESSAGE_ID_MAX
    assert digested.message_id.startswith("sha256:") and kept.message_id == "X" * 80
