"""The batch's own rows: MO records and their copies, queued replies, parts of long MOs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smsgw.batch.journal import Journal
from smsgw.batch.records import CompleteSet, NewPart, NewReply, Records
from smsgw.batch.snapshot import Miss, PartKey, Snapshot, StoredPart
from smsgw.db.messages import MoRecord
from tests.unit.batch_support import empty_snapshot
from tests.unit.fakes import NOW

KEY: PartKey = ("37120000001", "1643", 7, 3)


def _record(mo_id: str, *, smsc_ref: str | None = None, fingerprint: str = "fp", acked: bool = False) -> MoRecord:
    return MoRecord(mo_id, "37120000001", "1643", "S", 0, smsc_ref, fingerprint, NOW, NOW, "Status", "status", acked)


def _records(snap: Snapshot | None = None) -> tuple[Records, Snapshot, Journal]:
    snap = snap or empty_snapshot()
    journal = Journal()
    return Records(snap, journal), snap, journal


def test_an_mo_recorded_earlier_in_the_batch_is_found_by_its_smsc_id_or_its_fingerprint() -> None:
    records, _, _ = _records()
    assert records.find_copy("ref-1", "fp-1") is None
    records.add_mo(_record("mo-a", smsc_ref="ref-1", fingerprint="fp-1"))
    records.add_mo(_record("mo-b", fingerprint="fp-2"))
    assert records.find_copy("ref-1", "anything") == ("mo-a", "status")
    assert records.find_copy(None, "fp-2") == ("mo-b", "status")
    assert records.find_copy("ref-2", "fp-2") is None, "an MO with an SMSC id is matched by that id only"
    assert [m.id for m in records.new_mos] == ["mo-a", "mo-b"]


def test_an_mo_loaded_from_the_database_is_found_too() -> None:
    snap = empty_snapshot()
    snap.by_ref["ref-9"] = ("mo-old", "topup_applied")
    snap.by_fingerprint["fp-9"] = ("mo-older", "help")
    records, _, _ = _records(snap)
    assert records.find_copy("ref-9", "x") == ("mo-old", "topup_applied")
    assert records.find_copy(None, "fp-9") == ("mo-older", "help")


def test_an_mo_recorded_as_acknowledged_is_never_a_fingerprint_original() -> None:
    """``smsgw mo`` records its MOs acknowledged: the same text again is a new message."""
    records, _, _ = _records()
    records.add_mo(_record("mo-a", fingerprint="fp", acked=True))
    assert records.find_copy(None, "fp") is None


def test_rolling_back_an_mo_forgets_it_as_an_original() -> None:
    records, snap, journal = _records()
    snap.by_fingerprint["fp"] = ("mo-old", "help")
    mark = journal.mark()
    records.add_mo(_record("mo-a", smsc_ref="r", fingerprint="fp"))
    reply = NewReply("mo-a", "1643", "37120000001", "hi", None, NOW, NOW + timedelta(days=1), None)
    assert records.queue(reply) == 0
    assert records.queue(reply) == 1
    journal.rollback(mark)
    assert records.new_mos == [] and records.new_replies == []
    assert records.find_copy("r", "x") is None
    assert records.find_copy(None, "fp") == ("mo-old", "help"), "the original from before the batch is back"


def _part(sequence: int, text: str, *, minutes: int = 0, data_coding: int = 0) -> NewPart:
    return NewPart(KEY, sequence, data_coding, text, NOW + timedelta(minutes=minutes))


def test_parts_of_a_message_not_loaded_are_a_miss() -> None:
    records, _, _ = _records()
    with pytest.raises(Miss) as raised:
        records.add_part(_part(1, "a"))
    assert raised.value.kind == "parts of" and raised.value.key == KEY


def test_parts_in_any_order_complete_the_message_in_sequence_order() -> None:
    snap = empty_snapshot()
    snap.parts[KEY] = {2: StoredPart(2, 8, "B", NOW - timedelta(minutes=5), None)}  # stored by an earlier batch
    records, _, _ = _records(snap)
    assert records.add_part(_part(3, "C", data_coding=8)) == (False, None)
    assert records.add_part(_part(3, "C", data_coding=8)) == (False, None), "the same part twice is stored once"
    processed, complete = records.add_part(_part(1, "A", minutes=1, data_coding=8))
    assert not processed
    assert complete == CompleteSet(KEY, 8, "ABC", NOW + timedelta(minutes=1))  # the first part's time and coding
    assert [(p.sequence, p.text) for p in records.new_parts] == [(3, "C"), (1, "A")]


def test_a_completed_message_marked_processed_answers_its_redelivered_parts_as_such() -> None:
    snap = empty_snapshot()
    snap.parts[KEY] = {}
    records, _, _ = _records(snap)
    records.add_part(_part(1, "A"))
    records.add_part(_part(2, "B"))
    _, complete = records.add_part(_part(3, "C"))
    assert complete is not None
    records.mark_processed(KEY, "mo-long")
    assert records.processed_parts == [(KEY, "mo-long")]
    assert all(p.mo_id == "mo-long" for p in snap.parts[KEY].values())
    assert records.add_part(_part(2, "B")) == (True, None), "a part of a processed message: a redelivery"


def test_parts_of_an_earlier_processed_message_never_complete_a_new_one() -> None:
    """Parts recorded for an earlier message (mo_id set) never complete a new one."""
    snap = empty_snapshot()
    snap.parts[KEY] = {1: StoredPart(1, 0, "old", NOW - timedelta(hours=1), "mo-old")}
    records, _, _ = _records(snap)
    assert records.add_part(_part(2, "B")) == (False, None)
    assert records.add_part(_part(3, "C")) == (False, None), "two waiting parts of three: not complete"


def test_rolling_back_a_part_unstores_it() -> None:
    snap = empty_snapshot()
    snap.parts[KEY] = {}
    records, _, journal = _records(snap)
    records.add_part(_part(1, "A"))
    mark = journal.mark()
    records.add_part(_part(2, "B"))
    records.add_part(_part(3, "C"))
    records.mark_processed(KEY, "mo-x")
    journal.rollback(mark)
    assert list(snap.parts[KEY]) == [1] and snap.parts[KEY][1].mo_id is None
    assert [p.sequence for p in records.new_parts] == [1] and records.processed_parts == []
