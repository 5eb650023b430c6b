"""Redelivered MOs take effect once; repeated ones twice; deliver_sm_resp follows the commit.

The gateway runs as ``smsgw run`` against :class:`FakeSmsc`, which lets each test
decide exactly what the SMSC answers, and so what the gateway can know about
whether the SMSC received its deliver_sm_resp (SPEC §6, ``smsgw.gateway.acks``):

- an MO whose deliver_sm_resp was never confirmed (the SMSC answered nothing we
  wrote after it before the link dropped) and that comes again is a redelivery:
  acknowledged with ESME_ROK, nothing applied or queued again;
- the same text after the SMSC answered a later request of ours (a submit_sm or
  the enquire_link probe) is the subscriber's new message: applied again;
- with ``[smpp] mo_message_id_tag`` the SMSC's id decides, confirmed or not;
- when the SMSC reads our deliver_sm_resp, the MO and its effect are already
  committed (checked in the SQLite file at that instant, for 50 MOs in a burst),
  and so is each part of a long MO.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from tests.reliability.stalls import WriteLock, unread_bytes

from .conftest import GatewayOnFake
from .fake_smsc import DELIVER_SM_RESP, ENQUIRE_LINK_RESP, SUBMIT_SM_RESP, Pdu, gsm, udh8
from .harness import Stack, db_query, numbered_subscribers, wait_until

SENDER = "37120000001"
KARTE = "37129000001"
TOPUP = "V 29000001 5"
MO_ID_TAG = 0x1400


def charges(stack: Stack) -> list[tuple[str, str, int]]:
    return [tuple(r) for r in db_query(stack.db_path, "SELECT sender, karte, amount_cents FROM charges ORDER BY id")]


def acked(stack: Stack, source: str, text: str) -> list[int]:
    rows = db_query(stack.db_path, "SELECT acked FROM mo_messages WHERE source = ? AND text = ?", source, text)
    return [int(r[0]) for r in rows]


def outbox_states(stack: Stack) -> list[tuple[str, str]]:
    return [tuple(r) for r in db_query(stack.db_path, "SELECT destination, state FROM outbox ORDER BY id")]


def submitted_outbox(stack: Stack) -> tuple[int, int]:
    """(replies in the outbox, parts of them all) once every reply is submitted, else (-1, -1)."""
    rows = db_query(stack.db_path, "SELECT state, parts FROM outbox")
    if any(state != "submitted" for state, _ in rows):
        return -1, -1
    return len(rows), sum(parts for _, parts in rows)


def distinct_parts(submits: list[Pdu]) -> set[tuple[str, bytes]]:
    return {(p.destination or "", p.fields["short_message"]) for p in submits}


def redelivery_events(stack: Stack) -> list[dict[str, Any]]:
    return [e for e in stack.log_events() if e.get("event") == "mo_processed" and e.get("redelivery")]


def test_redelivery_after_an_unconfirmed_ack_is_answered_but_not_applied(gateway_on_fake: GatewayOnFake) -> None:
    # Session 1 answers nothing the gateway sends (no submit_sm_resp, no enquire_link_resp).
    stack, fake = gateway_on_fake(
        submit_status=lambda p: None if p.session == 1 else 0,
        answer_enquire_link=lambda p: p.session != 1,
    )
    first = fake.session
    sequence = fake.deliver(SENDER, "1643", gsm(TOPUP))
    response = fake.wait_response(sequence, session=first)
    fake.drop(first)  # at once: the gateway cannot know we read its deliver_sm_resp
    assert response.status == 0
    assert [p for p in fake.sent if p.session == first and p.at > response.at] == []

    second = fake.wait_bound(2)
    assert second != first
    again = fake.deliver(SENDER, "1643", gsm(TOPUP), session=second)  # the SMSC's redelivery, new sequence
    assert fake.wait_response(again, session=second).status == 0

    wait_until(lambda: len(redelivery_events(stack)) == 1, 10, "the redelivery is logged as one")
    # The first MO's two replies, unanswered in session 1, are submitted again in session 2; the
    # redelivery must add nothing to that: give a wrong second pair the time to show up.
    wait_until(lambda: submitted_outbox(stack)[0] == 2, 10, "the first MO's two replies submitted")
    threading.Event().wait(1.5)
    replies, parts = submitted_outbox(stack)
    assert replies == 2
    resent = fake.submits(session=second)
    assert {p.destination for p in resent} == {SENDER, KARTE}
    assert len(resent) == parts == len(distinct_parts(resent))  # each part of the two replies once
    assert acked(stack, SENDER, TOPUP) == [1]  # one MO record; session 2 confirmed its ack
    assert charges(stack) == [(SENDER, KARTE, 500)]
    assert [(r["sender"], r["karte"], r["amount"]) for r in stack.billing()] == [(SENDER, KARTE, "5.00")]
    assert fake.binds == 2


def test_same_text_after_the_smsc_answered_a_later_submit_is_a_new_top_up(gateway_on_fake: GatewayOnFake) -> None:
    stack, fake = gateway_on_fake()  # answers every submit_sm at once
    session = fake.session
    assert fake.wait_response(fake.deliver(SENDER, "1643", gsm(TOPUP)), session=session).status == 0
    wait_until(lambda: submitted_outbox(stack)[0] == 2, 10, "the two replies of the first top-up")
    wait_until(lambda: acked(stack, SENDER, TOPUP) == [1], 10, "the ack confirmed by the submit_sm_resp")

    assert fake.wait_response(fake.deliver(SENDER, "1643", gsm(TOPUP)), session=session).status == 0
    wait_until(lambda: len(charges(stack)) == 2, 10, "the repeated text applied as a second top-up")
    wait_until(lambda: submitted_outbox(stack)[0] == 4, 10, "the second top-up's replies")
    assert charges(stack) == [(SENDER, KARTE, 500), (SENDER, KARTE, 500)]
    assert len(fake.submits()) == submitted_outbox(stack)[1]
    assert sorted(d for d, _ in outbox_states(stack)) == [SENDER, SENDER, KARTE, KARTE]
    assert redelivery_events(stack) == []
    assert fake.binds == 1


def test_same_text_after_the_smsc_answered_the_enquire_link_probe_is_a_new_top_up(
    gateway_on_fake: GatewayOnFake,
) -> None:
    # No submit_sm is ever answered: only the enquire_link the gateway sends after its
    # deliver_sm_resp can prove that the SMSC read it.
    stack, fake = gateway_on_fake(submit_status=lambda p: None, smpp={"submit_timeout": 30.0})
    session = fake.session
    assert fake.wait_response(fake.deliver(SENDER, "1643", gsm(TOPUP)), session=session).status == 0
    wait_until(lambda: acked(stack, SENDER, TOPUP) == [1], 10, "the ack confirmed by an enquire_link_resp")
    assert fake.pdus(ENQUIRE_LINK_RESP, direction="out") != []
    assert fake.pdus(SUBMIT_SM_RESP, direction="out") == []  # no submit_sm_resp was involved

    assert fake.wait_response(fake.deliver(SENDER, "1643", gsm(TOPUP)), session=session).status == 0
    wait_until(lambda: len(charges(stack)) == 2, 10, "the repeated text applied as a second top-up")
    assert acked(stack, SENDER, TOPUP) in ([1, 0], [1, 1])
    fake.release()
    wait_until(lambda: len(outbox_states(stack)) == 4, 10, "four replies queued")
    assert redelivery_events(stack) == []


def test_smsc_message_id_decides_redelivery(gateway_on_fake: GatewayOnFake) -> None:
    stack, fake = gateway_on_fake(smpp={"mo_message_id_tag": MO_ID_TAG})
    session = fake.session

    def mo(smsc_id: bytes) -> Pdu:
        sequence = fake.deliver(SENDER, "1643", gsm(TOPUP), tlvs=[(MO_ID_TAG, smsc_id + b"\0")])
        return fake.wait_response(sequence, session=session)

    assert mo(b"SIM0000042").status == 0
    wait_until(lambda: acked(stack, SENDER, TOPUP) == [1], 10, "the first ack confirmed")
    wait_until(lambda: submitted_outbox(stack)[0] == 2, 10, "the first top-up's replies")

    # The SMSC delivers id 42 again although our ack was confirmed: it is still the same MO.
    assert mo(b"SIM0000042").status == 0
    wait_until(lambda: len(redelivery_events(stack)) == 1, 10, "id 42 recognised as a redelivery")
    # The same text under a new id is a new MO.
    assert mo(b"SIM0000043").status == 0
    wait_until(lambda: len(charges(stack)) >= 2, 10, "id 43 applied")
    wait_until(lambda: submitted_outbox(stack)[0] == 4, 10, "id 43's replies")
    threading.Event().wait(1.0)
    assert charges(stack) == [(SENDER, KARTE, 500), (SENDER, KARTE, 500)]
    refs = db_query(stack.db_path, "SELECT smsc_ref FROM mo_messages ORDER BY received_at")
    assert [r[0] for r in refs] == ["SIM0000042", "SIM0000043"]
    assert submitted_outbox(stack)[0] == 4
    assert len(fake.submits()) == submitted_outbox(stack)[1]


def test_deliver_sm_resp_is_written_only_after_the_commit(gateway_on_fake: GatewayOnFake) -> None:
    """Each response follows the commit that carried its MO, counted commit by commit.

    The gateway logs, for every MO, the number of the commit that carried it
    (``mo_processed`` ``commit=``). At the instant the SMSC reads each
    deliver_sm_resp, its reader thread notes which MOs of the burst are
    committed (visible to another connection). Then: the MO's own row and charge
    were there; every batch is seen whole or not at all, and only after every
    earlier batch (one transaction each, in order); the responses come in commit
    order; and the burst did go through batches of several MOs.

    The first half of the burst arrives while another connection holds the
    SQLite write lock: the gateway reads it and waits, on its event loop, for
    the lock; nothing it might write meanwhile may be a response.
    """
    count = 50
    senders, kartes, rows = numbered_subscribers(count)
    texts = [f"V {k[3:]} 5" for k in kartes]
    by_sequence = {i + 1: (senders[i], texts[i]) for i in range(count)}
    seen: dict[int, tuple[int, frozenset[str], int]] = {}  # sequence -> (status, senders committed, own charges)
    arrival: list[int] = []  # sequences of the responses, in the order the SMSC read them
    holder: dict[str, Any] = {}

    def at_response(pdu: Pdu) -> None:
        con = holder.get("con")
        if pdu.command_id != DELIVER_SM_RESP or con is None:
            return
        source, _ = by_sequence[pdu.sequence]
        committed = frozenset(r[0] for r in con.execute("SELECT source FROM mo_messages"))
        found = con.execute("SELECT count(*) FROM charges WHERE sender = ?", (source,))
        seen[pdu.sequence] = (pdu.status, committed, found.fetchone()[0])
        arrival.append(pdu.sequence)

    stack, fake = gateway_on_fake(subscribers=rows, on_pdu=at_response)
    holder["con"] = sqlite3.connect(stack.db_path, timeout=10, check_same_thread=False)
    try:
        session = fake.session
        with WriteLock(stack.db_path):
            for sequence in range(1, count // 2 + 1):
                source, text = by_sequence[sequence]
                fake.deliver(source, "1643", gsm(text), session=session, sequence=sequence)
            wait_until(lambda: unread_bytes(stack.smpp_port) == 0, 10, "the gateway read the first half")
            threading.Event().wait(0.3)  # what it would write while it waits for the lock is read by now
            assert seen == {}, "a deliver_sm_resp while its batch waited for the lock"
        for sequence in range(count // 2 + 1, count + 1):  # the second half, written back to back
            source, text = by_sequence[sequence]
            fake.deliver(source, "1643", gsm(text), session=session, sequence=sequence)
        fake.wait_for(lambda: len(seen) == count, 30, f"{count} deliver_sm_resp")
    finally:
        holder.pop("con").close()
    assert fake.errors == []
    late = {
        seq: (status, by_sequence[seq][0] in committed, charges)
        for seq, (status, committed, charges) in seen.items()
        if (status, by_sequence[seq][0] in committed, charges) != (0, True, 1)
    }
    assert late == {}, f"deliver_sm_resp before its MO and charge were committed: {late}"
    assert len(charges(stack)) == count

    # The commit that carried each MO, from the gateway's log (mo_id) and the database (mo_id -> sender).
    wait_until(lambda: len(stack.events("mo_processed")) >= count, 10, "every MO logged")
    commit_of_id = {e["mo_id"]: int(e["commit"]) for e in stack.events("mo_processed")}
    sender_of_id = dict(db_query(stack.db_path, "SELECT id, source FROM mo_messages"))
    commit_of = {sender_of_id[mo_id]: commit for mo_id, commit in commit_of_id.items()}
    batches: dict[int, set[str]] = {}
    for sender, commit in commit_of.items():
        batches.setdefault(commit, set()).add(sender)
    for sequence in arrival:
        own = commit_of[by_sequence[sequence][0]]
        committed = seen[sequence][1]
        for commit, batch in batches.items():
            if commit <= own:  # its own batch, and every earlier one, committed whole
                assert batch <= committed, f"response {sequence} (commit {own}) before commit {commit}"
            else:  # a later batch: all of it or none of it
                assert batch <= committed or not batch & committed, f"commit {commit} seen in part"
    order = [commit_of[by_sequence[sequence][0]] for sequence in arrival]
    assert order == sorted(order), f"responses out of commit order: {order}"
    assert len(batches) < count, "every MO had a commit of its own: the burst was never batched"


def test_each_part_of_a_long_mo_is_acknowledged_only_after_it_is_stored(gateway_on_fake: GatewayOnFake) -> None:
    senders, kartes, rows = numbered_subscribers(5)
    plan: dict[int, tuple[str, int, bool]] = {}  # sequence -> (source, part number, completes the MO)
    seen: dict[int, tuple[int, int, int]] = {}  # sequence -> (status, part rows, MO rows) when the resp arrived
    holder: dict[str, Any] = {}

    def at_response(pdu: Pdu) -> None:
        con = holder.get("con")
        if pdu.command_id != DELIVER_SM_RESP or con is None:
            return
        source, number, last = plan[pdu.sequence]
        stored = con.execute("SELECT count(*) FROM mo_parts WHERE source = ? AND sequence = ?", (source, number))
        mos = con.execute("SELECT count(*) FROM mo_messages WHERE source = ?", (source,))
        seen[pdu.sequence] = (pdu.status, stored.fetchone()[0], mos.fetchone()[0] if last else 1)

    stack, fake = gateway_on_fake(subscribers=rows, on_pdu=at_response)
    holder["con"] = sqlite3.connect(stack.db_path, timeout=10, check_same_thread=False)
    try:
        session, sequence = fake.session, 0
        pieces = {s: [t[:4], t[4:8], t[8:]] for s, t in zip(senders, (f"V {k[3:]} 5" for k in kartes), strict=True)}
        for number in (1, 2, 3):  # every sender's part 1, then every part 2, ...: all interleaved
            for index, sender in enumerate(senders):
                sequence += 1
                plan[sequence] = (sender, number, number == 3)
                short_message = udh8(index, 3, number) + gsm(pieces[sender][number - 1])
                fake.deliver(sender, "1643", short_message, esm_class=0x40, session=session, sequence=sequence)
        fake.wait_for(lambda: len(seen) == len(plan), 20, "every part acknowledged")
    finally:
        holder.pop("con").close()
    assert fake.errors == []
    early = {seq: got for seq, got in seen.items() if got != (0, 1, 1)}
    assert early == {}, f"parts acknowledged before they (or their MO) were committed: {early}"
    assert len(charges(stack)) == len(senders)
