"""A running simulator and gateway per test (or per module where a test says so)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .fake_smsc import FakeSmsc
from .harness import DEMO, Stack, wait_gateway_bound


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


GatewayOnFake = Callable[..., tuple[Stack, FakeSmsc]]


@pytest.fixture
def gateway_on_fake(tmp_path: Path) -> Iterator[GatewayOnFake]:
    """Start ``smsgw run`` (no simulator) bound to a :class:`FakeSmsc`; returns (stack, fake).

    ``make(smpp={...}, subscribers=[...], **fake_options)``: ``smpp`` adds ``[smpp]``
    keys (reconnects are fast by default), the rest goes to ``FakeSmsc``. Both are
    stopped at the end of the test, the gateway first (it unbinds from the fake).
    """
    made: list[tuple[Stack, FakeSmsc]] = []

    def make(
        *, smpp: dict[str, Any] | None = None, subscribers: Iterable[str] = DEMO, **fake_options: Any
    ) -> tuple[Stack, FakeSmsc]:
        stack = Stack(tmp_path, smpp={"reconnect_min": 0.1, "reconnect_max": 0.5, **(smpp or {})})
        stack.import_subscribers(subscribers)
        fake = FakeSmsc(port=stack.smpp_port, **fake_options)
        made.append((stack, fake))
        stack.start_gateway(wait_bound=False)
        fake.wait_bound(1)
        wait_gateway_bound(stack, 1)
        return stack, fake

    try:
        yield make
    finally:
        for stack, fake in made:
            try:
                fake.release()  # nothing withheld keeps the gateway's shutdown waiting
                stack.stop()
            finally:
                fake.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
