"""Latvian mobile numbers: the forms subscribers type, and the forms we store and show.

A Latvian mobile number is 8 digits starting with ``2`` (``29123456``). Subscribers
type it bare, with the country code ``371``, with ``+371`` or with ``00371``; we store
it in the international form without a plus (``37129123456``) and show it in the
national form. Only ASCII digits count: other scripts' digits are not a number here
(the parser applies NFKC first, which turns full-width digits into ASCII ones).

The grammar's ``NUMBER`` terminal (``commands.lark``) accepts exactly the strings
:func:`normalize_msisdn` accepts; the unit tests check that the two agree.
"""

from __future__ import annotations

import re

__all__ = ["COUNTRY_CODE", "national", "normalize_msisdn"]

COUNTRY_CODE = "371"

_LATVIAN_MOBILE = re.compile(r"(?:\+371|00371|371)?(2[0-9]{7})")


def normalize_msisdn(text: str) -> str | None:
    """``29123456``, ``37129123456``, ``+37129123456``, ``0037129123456`` → ``"37129123456"``.

    Anything else (other lengths, other country codes, spaces, letters) → ``None``.
    """
    match = _LATVIAN_MOBILE.fullmatch(text)
    if match is None:
        return None
    return COUNTRY_CODE + match.group(1)


def national(msisdn: str) -> str:
    """The 8-digit form for display: ``"37129123456"`` → ``"29123456"``.

    Accepts every form :func:`normalize_msisdn` accepts; raises :class:`ValueError`
    for anything that is not a Latvian mobile number.
    """
    normalized = normalize_msisdn(msisdn)
    if normalized is None:
        raise ValueError(f"not a Latvian mobile number: {msisdn[:20]!r}")
    return normalized[len(COUNTRY_CODE) :]
