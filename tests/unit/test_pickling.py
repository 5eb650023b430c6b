"""What crosses into the database worker process pickles back to an equal value, every field kept.

The hot dataclasses pickle through a hand-written ``__reduce__`` (much faster than
the slotted-dataclass default); a field added to a class but not to its
``__reduce__`` would be silently dropped. This catches that.
"""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from grammar import CancelMonthly, Help, HelpTopic, ParseError, Problem, RequestMonthly, Status, TopUp
from handlers.credentials import TemporaryPassword
from handlers.model import Outgoing
from smsgw.db.outbox import ClaimedReply, PartAccepted
from smsgw.mo_unit import InboundMo, MoResult, Prepared

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MO = InboundMo("37120000001", "1643", "V 29000001 5", NOW, "ref", 8, "abc")
SAMPLES = [
    TopUp("37129000001", Decimal("5.00")),
    RequestMonthly("37129000001", Decimal("4.13")),
    CancelMonthly("37129000001"),
    Status("37129000001"),
    Help(HelpTopic.STOP),
    Outgoing("37120000001", "text", True),
    MO,
    MoResult("abc", "topup_applied", "TopUp", (Outgoing("1", "a"),), "1643", True, ()),
    Prepared(
        MO,
        "37120000001",
        TopUp("37129000001", Decimal("5.00")),
        None,
        TemporaryPassword("p", "h"),
        "f" * 64,
        NOW,
        False,
        None,
        ("owner", NOW),
    ),
    ClaimedReply(7, "abc", "1643", "371", "text", "sealed", 2, NOW, frozenset({1})),
    PartAccepted(7, 2, "mid", 3, True),
]


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: type(v).__name__)
def test_round_trip_keeps_every_field(value: object) -> None:
    copy = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == value
    assert dataclasses.is_dataclass(value)
    reduce = type(value).__dict__.get("__reduce__")
    if reduce is not None:
        _, args = reduce(value)
        assert len(args) == len(dataclasses.fields(value))  # type: ignore[arg-type]


def test_parse_errors_pickle_with_their_fields() -> None:
    error = ParseError(Problem.BAD_AMOUNT, keyword="M", token="5.555")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.problem, copy.keyword, copy.token) == (Problem.BAD_AMOUNT, "M", "5.555")
