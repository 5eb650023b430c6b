"""Masking phone numbers and e-mail addresses in text bound for the logs.

`mask_text` hides the middle digits of every phone number in whatever form it
is written, and keeps everything else, character for character (the masked text
has the length of the original):

- runs of 8-15 digits, after an optional ``+`` or ``00``, glued to letters or not
  (``V29123456``, ``tel29123456lūdzu``): ``37129123456`` → ``371291***56``,
  ``29123456`` → ``29****56``;
- digits in groups joined by spaces, dots, hyphens, slashes, parentheses or
  invisible characters (``371 2912 3456``, ``29 123 456``, ``+371.29123456``,
  ``(+371) 29-12-34-56``) when the digits make a Latvian mobile number (with or
  without its country code) or follow a ``+``;
- digits of any script: full-width ``２９１２３４５６`` (which NFKC, and so the
  grammar, reads as ``29123456``), Arabic-Indic, mathematical, superscript;
- e-mail addresses keep their first letter and their domain: ``a***@example.com``.

Left alone: amounts (``4.13``, ``21.34 EUR``), short codes, counts, ports, dates
(``2026-11-22``, ``22.11.2026``), times and the fraction of a decimal
(``47.123456789``), UUIDs, and digit runs longer than 15 (an ICCID). Groups
joined by different separators are not read as one number (``21.34 21.34`` is two
amounts), except after a country code (``+371 2912-3456``); two groups joined by a
dot are a decimal number when either has fewer than three digits (``26.123456``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator

from grammar.numbers import normalize_msisdn

__all__ = ["mask_msisdn", "mask_text"]

_CACHED_LEN, _CACHE_SIZE = 64, 4096
_masked_cache: dict[str, str] = {}

# The masker reads a normalised copy of the text, as long as the original: every
# character that reads as a digit becomes that ASCII digit, a plus sign "+", a
# space " ", a dash "-", an invisible character _INVISIBLE, anything else "?"
# (non-ASCII) or itself (ASCII). Positions map one to one back to the original.
_INVISIBLE = "\ue000"
_SPAN = re.compile(r"\+?[0-9]+(?:[ \t\-./()\ue000]{1,3}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_LATVIAN = re.compile(r"(?:00371|371)?2[0-9]{7}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_COUNTRY_PREFIXES = frozenset({"371", "00371"})
_MAX_GROUPS = 7  # groups one number may be written in: "+371 29 12 34 56" has 5
_DOT = "."


@functools.lru_cache(maxsize=4096)
def _normal_char(ch: str) -> str:
    """What a non-ASCII character is to the masker (see ``_INVISIBLE``)."""
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) == 1 and folded in "0123456789+ -./()":
        return folded
    value = unicodedata.decimal(ch, None)  # Arabic-Indic, Devanagari … digits (NFKC keeps them)
    if value is not None:
        return str(value)
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    if category == "Pd" or ch == "\u2212":
        return "-"
    if category == "Cf":  # zero-width space, soft hyphen, word joiner …
        return _INVISIBLE
    return "?"


class _NormalTable(dict[int, int | str]):
    """``str.translate`` table for `_normalise`: ASCII maps to itself, the rest is looked up once."""

    def __missing__(self, code: int) -> int | str:
        normal = _normal_char(chr(code))
        if len(self) < 65_536:
            self[code] = normal
        return normal


_NORMAL = _NormalTable({code: code for code in range(128)})
_NOT_DIGITS = str.maketrans("", "", "0123456789")


def _normalise(s: str) -> str:
    return s if s.isascii() else s.translate(_NORMAL)


def _kind(separator: str) -> str:
    """What joins two groups: "" (only parentheses or invisible characters) or its visible characters."""
    core = {" " if ch == "\t" else ch for ch in separator if ch not in "()" + _INVISIBLE}
    return "".join(sorted(core))


def _head(digits: str, plus: bool) -> int | None:
    """How many leading digits a phone number keeps visible (the last two always are); None: no phone number."""
    n = len(digits)
    if not plus and digits.startswith("00") and n >= 10:
        n -= 2  # "00" is the international prefix; it counts among the six digits shown
    if n == 8 and not plus and len(digits) == 8:
        return 2
    if not 8 <= n <= 15:
        return None
    return min(6, len(digits) - 5)  # always hide at least three digits


def _is_date(lengths: list[int], parts: list[str]) -> bool:
    """``2026-11-22``, ``22.11.2026``, ``1/2/2026``: three groups that make a calendar date."""
    if lengths[0] == 4 and lengths[1] <= 2 and lengths[2] <= 2:
        year, month, day = parts
    elif lengths[2] == 4 and lengths[0] <= 2 and lengths[1] <= 2:
        day, month, year = parts
    else:
        return False
    return 1900 <= int(year) <= 2099 and 1 <= int(month) <= 12 and 1 <= int(day) <= 31


class _Span:
    """One run of digit groups (joined by separators) in the normalised text, and the phone numbers in it."""

    __slots__ = ("groups", "kinds", "normal", "parts", "plus")

    def __init__(self, normal: str, match: re.Match[str]) -> None:
        base = match.start()
        self.normal = normal
        self.plus = match.group().startswith("+")
        self.groups = [(g.start() + base, g.end() + base) for g in _GROUP.finditer(match.group())]
        self.parts = [normal[a:b] for a, b in self.groups]
        self.kinds = [_kind(normal[a[1] : b[0]]) for a, b in zip(self.groups, self.groups[1:], strict=False)]

    def numbers(self) -> Iterator[tuple[int, int, int]]:
        """(start, end, head) of each phone number, left to right; the longest reading wins."""
        i, count, parts = 0, len(self.groups), self.parts
        while i < count:
            sizes, total = [], 0
            for part in parts[i : min(count, i + _MAX_GROUPS)]:
                total += len(part)
                if total > 18:  # "00" + 15 digits + one: no phone number is longer
                    break
                sizes.append(total)
            for j in range(i + len(sizes) - 1, i - 1, -1):
                head = self._phone(i, j) if sizes[j - i] >= 8 else None
                if head is not None:
                    yield self.groups[i][0], self.groups[j][1], head
                    i = j
                    break
            i += 1

    def _phone(self, i: int, j: int) -> int | None:
        parts = self.parts[i : j + 1]
        digits = "".join(parts)
        plus = self.plus and i == 0
        if i == j:
            if i > 0 and self.kinds[i - 1] == _DOT and not plus and _LATVIAN.fullmatch(digits) is None:
                return None  # the fraction of a decimal: 47.123456789
            return _head(digits, plus)
        kinds = self.kinds[i:j]
        prefixed = plus or parts[0] in _COUNTRY_PREFIXES
        if prefixed:
            kinds = kinds[1:]  # "+371 2912-3456": the country code may stand apart
        if len({kind for kind in kinds if kind}) > 1:
            return None  # "21.34 21.34": two amounts, not one number
        if j == i + 1 and self.kinds[i] == _DOT and not prefixed and min(len(parts[0]), len(parts[1])) < 3:
            return None  # a decimal number: 26.123456 (seconds), 291234.56 (euros)
        if j == i + 2 and _is_date([len(p) for p in parts], parts):
            return None
        if _LATVIAN.fullmatch(digits) or plus or digits.startswith("00"):
            return _head(digits, plus)
        return None


def _single_group(normal: str, match: re.Match[str]) -> tuple[int, int, int] | None:
    """A span of one group (the common case): a run of 8-15 digits, after an optional plus."""
    start, end = match.span()
    plus = normal[start] == "+"
    head = _head(normal[start + 1 : end] if plus else normal[start:end], plus)
    return None if head is None else (start, end, head)


def _masked_numbers(s: str) -> str:
    normal = _normalise(s)
    if len(normal) - len(normal.translate(_NOT_DIGITS)) < 8:
        return s
    regions: list[tuple[int, int, int]] = []
    for match in _SPAN.finditer(normal):
        text = match.group()
        if len(text) < 8:
            continue
        if text.isdigit() or (text[0] == "+" and text[1:].isdigit()):
            found = _single_group(normal, match)
            if found is not None:
                regions.append(found)
        else:
            regions.extend(_Span(normal, match).numbers())
    if not regions:
        return s
    uuids = [(u.start(), u.end()) for u in _UUID.finditer(normal)] if "-" in normal else []
    out = list(s)
    for start, end, head in regions:
        if any(u_start < end and start < u_end for u_start, u_end in uuids):
            continue
        positions = [k for k in range(start, end) if "0" <= normal[k] <= "9"]
        for k in positions[head : len(positions) - 2]:
            out[k] = "*"
    return "".join(out)


def _mask_email(match: re.Match[str]) -> str:
    address = match.group()
    local, _, domain = address.partition("@")
    return f"{local[0]}{'*' * (len(local) - 1)}@{domain}"


def mask_text(s: str) -> str:
    """Mask every phone number and e-mail address in *s* (see the module docstring)."""
    if len(s) < 8:
        return s
    known = _masked_cache.get(s)
    if known is not None:
        return known
    masked = _EMAIL.sub(_mask_email, s) if "@" in s else s
    masked = _masked_numbers(masked)
    if len(s) <= _CACHED_LEN:  # event names, ids and numbers recur line after line
        if len(_masked_cache) >= _CACHE_SIZE:
            _masked_cache.clear()
        _masked_cache[s] = masked
    return masked


def mask_msisdn(msisdn: str) -> str:
    """A sender or recipient as logged: the international form, masked (``371291***56``).

    A Latvian mobile number in any accepted form (``29123456``, ``+37129123456`` …)
    is shown as its international form; anything else is masked as text.
    """
    normal = normalize_msisdn(_normalise(msisdn).strip())
    if normal is None:
        return mask_text(msisdn)
    return f"{normal[:6]}***{normal[-2:]}"  # what mask_text makes of 371 and 8 digits
