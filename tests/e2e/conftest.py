"""A running simulator and gateway per test (or per module where a test says so)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import DEMO, Stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Simulator + gateway on a fresh SQLite database with the demo subscribers."""
    s = Stack(tmp_path)
    s.import_subscribers(DEMO)
    s.start_simulator()
    s.start_gateway()
    try:
        yield s
    finally:
        s.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
