"""What every log line about an MO carries, and the pseudonymous subscriber key.

`bind_mo` starts one MO's unit of work: it forgets the previous context and binds
``mo_id``, ``short_code``, ``sender`` (masked: ``371291***56``) and ``subscriber``
as structlog context variables, so every line logged until `clear_mo` (ours, the
stdlib's, aiosmpplib's) carries them.

``subscriber`` is a stable pseudonym: ``sub_`` and 16 letters, the truncated
HMAC-SHA256 of the normalised MSISDN (``37129123456``) under the *log key*. All
lines of one subscriber can be found by it with no number in the logs, and it
cannot be turned back into the number without the key (a plain hash could: there
are only 10⁸ Latvian mobile numbers). The log key is derived from the
``[security]`` key material with a fixed label (`derive_log_key`), from the
current key only: rotating the sealing key starts new pseudonyms
(docs/operations.md, "Subscriber keys"); `smsgw trace` prints the pseudonym under
every configured key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

import structlog

from grammar.numbers import normalize_msisdn

from .config import SecurityConfig
from .log_masking import mask_msisdn, mask_text

__all__ = [
    "LOG_KEY_LABEL",
    "SUBSCRIBER_PREFIX",
    "bind_mo",
    "clear_mo",
    "derive_log_key",
    "key_material",
    "log_keys",
    "set_log_key",
    "subscriber_fields",
    "subscriber_key",
]

#: The fixed label the log key is derived with; changing it changes every pseudonym.
LOG_KEY_LABEL = b"smsgw/log-subscriber-key/v1"
SUBSCRIBER_PREFIX = "sub_"
_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijkmnpqr")  # letters only: never read as a number
_KEY_SEPARATORS = re.compile(r"[\s,]+")

_log_key: bytes | None = None


def derive_log_key(material: bytes) -> bytes:
    """The log key for one piece of ``[security]`` key material: HMAC-SHA256(material, `LOG_KEY_LABEL`)."""
    return hmac.new(material, LOG_KEY_LABEL, hashlib.sha256).digest()


def _normalised(msisdn: str) -> str:
    number = msisdn.strip()
    return normalize_msisdn(number) or number


@functools.lru_cache(maxsize=8192)  # senders recur; one HMAC each
def _pseudonym(number: str, log_key: bytes) -> str:
    digest = hmac.new(log_key, number.encode("utf-8"), hashlib.sha256).hexdigest()
    return SUBSCRIBER_PREFIX + digest[:16].translate(_LETTERS)


def subscriber_key(msisdn: str, log_key: bytes) -> str:
    """``sub_`` + 16 letters: the pseudonym of *msisdn* (any accepted form) under *log_key*."""
    return _pseudonym(_normalised(msisdn), log_key)


def key_material(security: SecurityConfig, config_path: Path) -> list[bytes]:
    """The configured sealing keys as bytes, current first, read as the sealer reads them
    (``SMSGW_SECRET_KEY`` / ``secret_key`` first, then ``key_file`` beside the config); [] when none."""
    from .sealing import KeySource, configured_keys

    return configured_keys(KeySource(security.secret_key, security.key_file, config_path))


def log_keys(security: SecurityConfig, config_path: Path) -> list[bytes]:
    """The log key of every configured sealing key, current first."""
    return [derive_log_key(material) for material in key_material(security, config_path)]


def set_log_key(log_key: bytes | None) -> None:
    """The log key of this process (`bind_mo` omits ``subscriber`` while there is none)."""
    global _log_key
    _log_key = log_key


def subscriber_fields(msisdn: str, role: str = "sender") -> dict[str, str]:
    """``{role: masked number, "subscriber": pseudonym}`` for a line about a subscriber's message."""
    fields = {role: mask_msisdn(msisdn)}
    number = _normalised(msisdn)
    if _log_key is not None and number:
        fields["subscriber"] = _pseudonym(number, _log_key)
    return fields


def bind_mo(mo_id: str, *, short_code: str | None = None, sender: str | None = None, **fields: Any) -> None:
    """Start one MO's unit of work: forget the previous context, then bind its id, short code and sender.

    ``sender`` is bound masked, with its ``subscriber`` pseudonym; other *fields*
    are bound as given (the log processor masks them when rendered).
    """
    structlog.contextvars.clear_contextvars()
    context: dict[str, Any] = {"mo_id": mo_id}
    if short_code is not None:
        context["short_code"] = mask_text(short_code)  # an MO to a phone number is no short code
    if sender is not None:
        context.update(subscriber_fields(sender))
    structlog.contextvars.bind_contextvars(**context, **fields)


def clear_mo() -> None:
    """End the unit of work: later lines carry no ``mo_id``."""
    structlog.contextvars.clear_contextvars()
