"""smsgw.gateway.recent.Recent: remembers at least the last ``keep`` keys, never more than twice that."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgw.gateway.recent import Recent


def test_the_last_keys_are_remembered_with_their_latest_value() -> None:
    recent: Recent[str, int] = Recent(3)
    for i, key in enumerate("abcdef"):
        recent[key] = i
    assert all(key in recent for key in "def")
    assert recent.get("f") == 5
    assert "a" not in recent and recent.get("a") is None and recent.get("a", -1) == -1
    recent["d"] = 99  # set again: the newer value wins over the one in the older dict
    assert recent.get("d") == 99


@given(st.integers(1, 20), st.lists(st.integers(0, 50), max_size=300))
def test_never_forgets_the_last_keep_keys_and_holds_at_most_twice_keep(keep: int, keys: list[int]) -> None:
    recent: Recent[int, int] = Recent(keep)
    for position, key in enumerate(keys):
        recent[key] = position
        assert len(recent) <= 2 * keep
    latest = {key: position for position, key in enumerate(keys)}
    for key in dict.fromkeys(reversed(keys[-keep:])):
        assert key in recent
        assert recent.get(key) == latest[key]


def test_a_popped_key_is_gone_from_both_halves() -> None:
    recent: Recent[str, int] = Recent(2)
    recent["a"] = 1
    recent["b"] = 2  # turn: a and b are in the older dict
    recent["a"] = 3  # and a again in the newer one
    assert recent.pop("a") == 3
    assert "a" not in recent and recent.get("a") is None
    assert recent.pop("a", -1) == -1
    assert recent.pop("b") == 2 and len(recent) == 0


def test_keep_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Recent(0)
