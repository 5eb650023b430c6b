"""An MO's log context: short code, masked sender and the pseudonymous subscriber key on every line."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from cryptography.fernet import Fernet

from smsgw.config import SecurityConfig
from smsgw.log_context import (
    LOG_KEY_LABEL,
    derive_log_key,
    key_material,
    log_keys,
    set_log_key,
    subscriber_fields,
    subscriber_key,
)
from smsgw.logs import bind_mo, clear_mo, configure_logging, get_logger, reset_logging

KEY = derive_log_key(b"k" * 44)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    yield
    set_log_key(None)
    reset_logging()
    structlog.contextvars.clear_contextvars()


def _lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_every_line_of_an_mo_carries_short_code_masked_sender_and_subscriber() -> None:
    out = io.StringIO()
    configure_logging("json", "debug", stream=out)
    set_log_key(KEY)
    bind_mo("mo-1", short_code="1643", sender="+37129123456")
    get_logger("smsgw.test").info("mo_recorded")
    logging.getLogger("smsgw.db").warning("retrying")
    get_logger("smsgw.runtime").info("mo_processed", outcome="topup_applied")
    clear_mo()
    get_logger("smsgw.test").info("idle")

    *about_the_mo, idle = _lines(out)
    expected = {
        "mo_id": "mo-1",
        "short_code": "1643",
        "sender": "371291***56",
        "subscriber": subscriber_key("29123456", KEY),
    }
    for line in about_the_mo:
        assert {k: line.get(k) for k in expected} == expected
    assert not set(expected) & set(idle)
    assert "29123456" not in out.getvalue()


def test_the_subscriber_key_is_stable_keyed_and_never_a_number() -> None:
    forms = ["29123456", "37129123456", "+37129123456", "0037129123456", " 29123456 "]
    keys = {subscriber_key(form, KEY) for form in forms}
    (key,) = keys
    assert re.fullmatch(r"sub_[a-r]{16}", key)
    assert subscriber_key("29123457", KEY) != key
    assert subscriber_key("29123456", derive_log_key(b"another key")) != key
    digest = hmac.new(KEY, b"37129123456", hashlib.sha256).hexdigest()[:16]
    assert key == "sub_" + digest.translate(str.maketrans("0123456789abcdef", "abcdefghijkmnpqr"))


def test_the_log_key_is_derived_from_the_key_material_with_a_fixed_label() -> None:
    material = b"u4GqfW0bK8B5JvPzJ3m2vXH8vN6qfQmZp1yq4n2cX0c="
    assert derive_log_key(material) == hmac.new(material, LOG_KEY_LABEL, hashlib.sha256).digest()
    assert derive_log_key(material) != material


def test_no_subscriber_field_without_a_key() -> None:
    assert subscriber_fields("29123456") == {"sender": "371291***56"}
    set_log_key(KEY)
    assert subscriber_fields("29123456", "recipient") == {
        "recipient": "371291***56",
        "subscriber": subscriber_key("29123456", KEY),
    }


def test_key_material_from_the_environment_or_the_key_file(tmp_path: Path) -> None:
    """Read as the sealer reads them: the environment's keys first, then the key file beside the config."""
    config = tmp_path / "config.toml"
    new, old = Fernet.generate_key(), Fernet.generate_key()
    assert key_material(SecurityConfig(secret_key=f"{new.decode()}, {old.decode()}"), config) == [new, old]
    key_file = tmp_path / "smsgw.key"
    assert key_material(SecurityConfig(key_file="smsgw.key"), config) == []
    assert not key_file.exists()  # reading never creates a key
    key_file.write_text(f"# current first\n{new.decode()}\n\n{old.decode()}\n")
    assert key_material(SecurityConfig(key_file="smsgw.key"), config) == [new, old]  # relative to the config
    assert log_keys(SecurityConfig(key_file=str(key_file)), config) == [derive_log_key(new), derive_log_key(old)]
