"""The aiosmpplib internals the transport relies on: pinned, installed, and checked with a clear message."""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from aiosmpplib import ESME

from smsgw.gateway import transport
from smsgw.gateway.transport import REQUIRED_INTERNALS, AiosmpplibTransport, check_internals

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _pinned() -> str:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    [requirement] = [d for d in dependencies if d.replace(" ", "").lower().startswith("aiosmpplib")]
    name, _, pinned = requirement.replace(" ", "").partition("==")
    assert name.lower() == "aiosmpplib" and pinned, f"aiosmpplib must be pinned exactly (==), not {requirement!r}"
    return pinned


def test_the_pinned_version_is_the_installed_one_and_the_one_the_transport_names() -> None:
    pinned = _pinned()
    assert version("aiosmpplib") == pinned
    assert f"aiosmpplib ({pinned}" in (transport.__doc__ or "")


def test_the_installed_aiosmpplib_has_every_internal_the_transport_relies_on() -> None:
    check_internals()  # also run at import: this names the test that fails


def test_the_list_of_internals_names_everything_of_the_library_the_transport_overrides_or_reads() -> None:
    overridden = {name for name in vars(AiosmpplibTransport) if not name.startswith("__") and hasattr(ESME, name)}
    probe = ESME("127.0.0.1", 1, "x", "x")
    source = inspect.getsource(transport)
    read = {name for name in re.findall(r"self\.(_\w+)", source) if hasattr(probe, name)}
    assert overridden and read
    assert overridden | read <= set(REQUIRED_INTERNALS), "REQUIRED_INTERNALS misses what the transport uses"


async def _coroutine(self: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("name", "replacement", "message"),
    [
        ("_receive_data", None, r"aiosmpplib\.ESME\._receive_data is not a coroutine any more"),
        ("_dequeue_messages", lambda self: None, r"_dequeue_messages is not a coroutine any more"),
        ("_connection_keeper", lambda: _coroutine(None), r"not a coroutine"),
        ("_send_data", _coroutine, r"_send_data\('self',\) changed \(expected \('self', 'smpp_message'\)\)"),
        ("connect", _coroutine, None),  # the same signature: accepted
    ],
)
def test_a_changed_method_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, name: str, replacement: Any, message: str | None
) -> None:
    if replacement is None:
        monkeypatch.delattr(ESME, name)
    else:
        monkeypatch.setattr(ESME, name, replacement)
    if message is None:
        check_internals()
        return
    with pytest.raises(RuntimeError, match=message) as raised:
        check_internals()
    assert "0.7.4" in str(raised.value), "the message says which version the transport needs"


@pytest.mark.parametrize("attribute", ["_session_state", "_writer", "_is_shutting_down"])
def test_a_missing_attribute_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch, attribute: str) -> None:
    original = ESME.__init__

    def without(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        delattr(self, attribute)

    monkeypatch.setattr(ESME, "__init__", without)
    with pytest.raises(RuntimeError, match=f"aiosmpplib.ESME has no attribute {attribute!r}"):
        check_internals()
