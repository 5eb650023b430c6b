"""The batch's undo log: a rollback to a mark leaves the containers as they were at the mark."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from smsgw.batch.journal import Journal


def test_rollback_restores_a_changed_value_removes_a_new_key_and_truncates_a_list() -> None:
    table: dict[str, int | None] = {"a": 1, "none": None}
    items = ["x"]
    journal = Journal()
    mark = journal.mark()
    journal.set(table, "a", 2)
    journal.set(table, "b", 3)
    journal.set(table, "none", 4)
    journal.append(items, "y")
    journal.append(items, "z")
    assert table == {"a": 2, "b": 3, "none": 4} and items == ["x", "y", "z"]
    journal.rollback(mark)
    assert table == {"a": 1, "none": None}, "a key that held None keeps it; a new key goes"
    assert items == ["x"]


def test_rollback_to_a_later_mark_keeps_what_came_before_it() -> None:
    table: dict[str, int] = {}
    items: list[int] = []
    journal = Journal()
    journal.set(table, "kept", 1)
    journal.append(items, 1)
    middle = journal.mark()
    journal.set(table, "kept", 2)
    journal.set(table, "dropped", 1)
    journal.append(items, 2)
    journal.rollback(middle)
    assert table == {"kept": 1} and items == [1]
    journal.rollback(middle)  # nothing more to undo
    assert table == {"kept": 1} and items == [1]
    journal.rollback(0)
    assert table == {} and items == []


def test_a_key_set_twice_after_the_mark_gets_its_value_from_before_the_mark() -> None:
    table = {"k": "first"}
    journal = Journal()
    mark = journal.mark()
    journal.set(table, "k", "second")
    journal.set(table, "k", "third")
    journal.rollback(mark)
    assert table == {"k": "first"}


_KEYS = st.sampled_from(["a", "b", "c"])
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 1), _KEYS, st.one_of(st.none(), st.integers())),
        st.tuples(st.just("append"), st.integers(0, 1), st.none(), st.integers()),
    ),
    max_size=20,
)


@given(before=_OPS, after=_OPS)
def test_any_changes_after_a_mark_are_undone_exactly(
    before: list[tuple[str, int, str | None, int | None]], after: list[tuple[str, int, str | None, int | None]]
) -> None:
    tables: list[dict[str, int | None]] = [{}, {"a": 0}]
    lists: list[list[int | None]] = [[], [7]]
    journal = Journal()

    def apply(ops: list[tuple[str, int, str | None, int | None]]) -> None:
        for op, which, key, value in ops:
            if op == "set":
                assert key is not None
                journal.set(tables[which], key, value)
            else:
                journal.append(lists[which], value)

    apply(before)
    at_mark = copy.deepcopy((tables, lists))
    mark = journal.mark()
    apply(after)
    journal.rollback(mark)
    assert (tables, lists) == at_mark
