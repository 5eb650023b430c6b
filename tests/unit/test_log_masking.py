"""Masking phone numbers in every form a subscriber or a library may write them (issue 15, item 5).

A table of the forms named in the issue, then two properties: a Latvian mobile
number rendered in any of those forms inside arbitrary text never survives
masking, and amounts and short codes inside ordinary text always do.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from smsgw.log_masking import mask_msisdn, mask_text

FORMS = [
    # spaced groups, with and without the country code
    ("371 2912 3456", "371 291* **56"),
    ("2912 3456", "29** **56"),
    ("29 123 456", "29 *** *56"),
    ("29 12 34 56", "29 ** ** 56"),
    ("zvani 29 123 456, lūdzu", "zvani 29 *** *56, lūdzu"),
    ("V 29 123 456 5", "V 29 *** *56 5"),
    ("+371 29 123 456", "+371 29 1** *56"),
    ("00371 2912 3456", "00371 2*** **56"),
    # dots, slashes, hyphens, parentheses, a non-breaking space, an invisible one
    ("+371.29123456", "+371.291***56"),
    ("371.29123456", "371.291***56"),
    ("2912.3456", "29**.**56"),
    ("29.12.34.56", "29.**.**.56"),
    ("2912/3456", "29**/**56"),
    ("(+371) 2912-3456", "(+371) 291*-**56"),
    ("29\u00a0123\u00a0456", "29\u00a0***\u00a0*56"),
    ("2912\u200b3456", "29**\u200b**56"),
    # glued to letters
    ("tel29123456lūdzu", "tel29****56lūdzu"),
    ("Zvanit29123456please", "Zvanit29****56please"),
    # full-width, Arabic-Indic and mathematical digits (NFKC reads the first and last as 29123456)
    ("２９１２３４５６", "２９****５６"),
    ("＋３７１２９１２３４５６", "＋３７１２９１***５６"),
    ("٢٩١٢٣٤٥٦", "٢٩****٥٦"),
    ("\U0001d7d0\U0001d7d7\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2\U0001d7d3\U0001d7d4", None),
    # e-mail addresses
    ("to anna.berzina@example.com", "to a***********@example.com"),
    # left alone
    ("4.13 EUR, 21.34 EUR, 1643", "4.13 EUR, 21.34 EUR, 1643"),
    ("21.34 21.34", "21.34 21.34"),
    ("2026-11-22 10:42:07", "2026-11-22 10:42:07"),
    ("2026-11-22T02:31:26.123456Z", "2026-11-22T02:31:26.123456Z"),
    ("derīga līdz 22.11.2026", "derīga līdz 22.11.2026"),
    ("127.0.0.1:8080", "127.0.0.1:8080"),
    ("at 02:31:26.123456", "at 02:31:26.123456"),
    ("291234.56 EUR", "291234.56 EUR"),
    ("1 234 567 parts", "1 234 567 parts"),
]


@pytest.mark.parametrize(("text", "expected"), FORMS, ids=[repr(t) for t, _ in FORMS])
def test_every_form(text: str, expected: str | None) -> None:
    masked = mask_text(text)
    if expected is None:  # only the count of hidden digits is checked
        assert masked.count("*") == 4
    else:
        assert masked == expected
    assert len(masked) == len(text)
    assert mask_text(masked) == masked


def test_mask_msisdn_shows_the_international_form() -> None:
    assert mask_msisdn("29123456") == "371291***56"
    assert mask_msisdn("+37129123456") == "371291***56"
    assert mask_msisdn("0037129123456") == "371291***56"
    assert mask_msisdn("+4915123456789") == "+491512*****89"
    assert mask_msisdn("LMT") == "LMT"


# --- the property: no rendering of a number survives ------------------------------------------

# Digits of other scripts: each maps back to 0-9 by NFKC or by its decimal value.
_SCRIPTS = {
    "ascii": 0x30,
    "full-width": 0xFF10,
    "arabic-indic": 0x0660,
    "devanagari": 0x0966,
    "math-bold": 0x1D7CE,
    "math-monospace": 0x1D7F6,
}
_PLUSES = ["+", "\uff0b", "\ufe62"]
_SEPARATORS = [" ", "-", ".", "/", "\u00a0", "\u2009", "\u2011", "\u200b", "\u3000", "\uff0e"]
# How people group the 8 digits of a Latvian mobile number.
_GROUPINGS = [(8,), (4, 4), (2, 3, 3), (2, 2, 2, 2), (3, 2, 3), (2, 6), (3, 5), (3, 3, 2)]


def _digit_like(ch: str) -> bool:
    folded = unicodedata.normalize("NFKC", ch)
    return (len(folded) == 1 and folded.isdigit()) or unicodedata.decimal(ch, None) is not None


def _value(ch: str) -> str:
    decimal = unicodedata.decimal(ch, None)
    return str(decimal) if decimal is not None else unicodedata.normalize("NFKC", ch)


def _plus_like(ch: str) -> bool:
    return unicodedata.normalize("NFKC", ch) == "+"


@st.composite
def renderings(draw: st.DrawFn) -> tuple[str, str]:
    """(how the number is written, its 8 national digits)."""
    national = "2" + draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    grouping = draw(st.sampled_from(_GROUPINGS))
    separator = draw(st.sampled_from(_SEPARATORS))
    if unicodedata.normalize("NFKC", separator) == "." and grouping == (2, 6):
        grouping = (2, 3, 3)  # "29.123456" reads as seconds and microseconds: a decimal, not masked
    groups, at = [], 0
    for size in grouping:
        groups.append(national[at : at + size])
        at += size
    body = separator.join(groups)
    prefix = draw(st.sampled_from(["", "371", "+371", "00371", "(+371) "]))
    if prefix and not prefix.endswith(" "):
        prefix += draw(st.sampled_from(["", " ", ".", "-"]))
    written = (prefix + body).replace("+", draw(st.sampled_from(_PLUSES)))
    base = _SCRIPTS[draw(st.sampled_from(sorted(_SCRIPTS)))]
    written = "".join(chr(base + int(ch)) if ch.isdigit() else ch for ch in written)
    return written, national


@given(before=st.text(max_size=12), rendering=renderings(), after=st.text(max_size=12))
@example(before="", rendering=("371 2912 3456", "29123456"), after="")
@example(before="V ", rendering=("29 123 456", "29123456"), after=" 5")
@example(before="5.", rendering=("29123456", "29123456"), after="")
@example(before="zvani", rendering=("２９１２３４５６", "29123456"), after="lūdzu")
def test_no_rendering_of_a_number_survives(before: str, rendering: tuple[str, str], after: str) -> None:
    written, national = rendering
    # A digit (or a plus) right beside it makes another, longer number: not this one's rendering.
    assume(not (before and (_digit_like(before[-1]) or _plus_like(before[-1]))))
    assume(not (after and _digit_like(after[0])))
    text = before + written + after
    masked = mask_text(text)

    span = masked[len(before) : len(before) + len(written)]
    assert len(masked) == len(text)
    assert span.count("*") >= 3, (text, masked)  # at least three of its eight digits are hidden
    visible = "".join(_value(ch) for ch in span if _digit_like(ch))
    assert national not in visible


_AMOUNTS = st.from_regex(r"\A[1-9][0-9]?[.,][0-9]{1,2}\Z") | st.sampled_from(["1640", "1643", "5", "42.69"])
_WORDS = st.text(alphabet=st.characters(exclude_categories=("Nd", "No", "Cs")), min_size=1, max_size=8).filter(
    lambda word: any(ch.isalpha() for ch in word) and not any(_digit_like(ch) for ch in word)
)


@given(st.lists(st.tuples(_WORDS, _AMOUNTS), min_size=1, max_size=6), _WORDS)
@example([("summa ", "4.13"), (" un ", "21.34"), (" uz ", "1643")], ".")
def test_amounts_and_short_codes_in_ordinary_text_survive(pieces: list[tuple[str, str]], end: str) -> None:
    text = "".join(f"{word} {number} " for word, number in pieces) + end
    assert mask_text(text) == text
