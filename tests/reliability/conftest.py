"""Fixtures of the reliability suite: a simulator + gateway stack tuned for crashes, stopped afterwards.

The crash, SMSC-fault and slow-database tests run real processes over
127.0.0.1 (marked ``e2e`` here). The
simulator redelivers an unacknowledged MO after 3 s, at once on a dropped
connection or a new bind, and never gives up within a test
(``mo_redelivery_attempts``); the gateway reconnects within half a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Stack

from .chaos import SIMULATOR, SMPP, add_database_keys

MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[MakeStack]:
    """``make(rows, smpp={...}, simulator={...}, database={...})``: a started stack on a fresh SQLite file.

    ``start=False``: the subscribers are imported, nothing is started.
    """
    made: list[Stack] = []

    def make(
        rows: Iterable[str],
        *,
        smpp: dict[str, Any] | None = None,
        simulator: dict[str, Any] | None = None,
        database: dict[str, Any] | None = None,
        extra: str = "",
        folder: Path | None = None,
        start: bool = True,
    ) -> Stack:
        where = folder or tmp_path / f"stack{len(made) + 1}"
        where.mkdir(parents=True, exist_ok=True)
        stack = Stack(where, smpp={**SMPP, **(smpp or {})}, simulator={**SIMULATOR, **(simulator or {})}, extra=extra)
        made.append(stack)
        if database:
            add_database_keys(stack, database)
        if start:
            stack.start_all(rows)
        else:
            stack.import_subscribers(rows)
        return stack

    try:
        yield make
    finally:
        for stack in made:
            stack.stop()


_PROCESS_SUITES = ("test_crash_cycles.py", "test_smsc_faults.py", "test_slow_database.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "tests/reliability/" in path and path.endswith(_PROCESS_SUITES):
            item.add_marker(pytest.mark.e2e)
