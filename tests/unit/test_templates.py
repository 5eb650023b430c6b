"""Reply templates: every SMS reply fits two parts, measured with the exact encoder.

SPEC §5: replies are written to fit one or two SMS parts; the gateway picks GSM
03.38 when the text fits it and UCS-2 otherwise. Each template is rendered in
both languages with every worst-case value a reply can carry (8-digit numbers,
the largest amounts the rules allow, a parse error's token of up to 20
characters of any script, a 10-character password …) and measured with
``smpp.split_text`` — the encoder that really splits the replies.
``handlers.templates.fits_two_parts`` (the handlers' own quick check) must never
say "fits" when the exact encoder needs more than two parts.
"""

from __future__ import annotations

import itertools
import re
import string
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from grammar import Problem, Status
from handlers.model import Language, TopUpKind
from handlers.replies import PROBLEMS_WITH_TEMPLATES
from handlers.status import handle as status
from handlers.templates import EXAMPLES, NOT_SMS, TEMPLATES, fits_two_parts, render
from smpp import choose_coding, septet_count, split_text
from tests.unit.fakes import NOW, SENDER, FakeUnitOfWork, ctx, postpaid

D = Decimal
LV, EN = Language.LV, Language.EN
SMS_KEYS = sorted(key for key in TEMPLATES if key not in NOT_SMS)

#: The offending word of a parse error: user text cut to 20 characters.
TOKENS = [
    "W" * 20,
    "{" * 20,  # GSM extension characters: two septets each
    "`" * 20,  # ASCII but not GSM 03.38: forces UCS-2
    "ž" * 20,
    "😀" * 20,  # outside the BMP: two UTF-16 units each
    "ž😀" * 10,
    "€" * 20,
]


def encoding_of(text: str) -> str:
    return "gsm" if choose_coding(text) == 0 else "ucs2"


def parts_needed(text: str) -> int:
    return len(split_text(text))


def worst_values(lang: Language) -> dict[str, list[Any]]:
    """Every value a placeholder can take in a reply, at its widest."""
    plain = "42,69" if lang is LV else "42.69"
    return {
        "karte": ["37129999999"],
        "sender": ["37129999999"],
        "number": ["37129999999"],
        "amount": [D("42.69"), D("21.34"), D("1.42")],
        "cap": [D("42.69"), D("21.34")],
        "left": [D("42.69"), D("21.34"), D("0.00")],
        "total": [D("42.69")],
        "low": [D("1.42")],
        "high": [D("21.34"), D("42.69")],
        "hours": [24],
        "months": [6],
        "date": [date(2026, 11, 30)],
        "plain": [plain],
        "password": ["ABCDEFGHJK", "zzzzzzzzzz"],
        "example": [examples[lang] for examples in EXAMPLES.values()],
        "token": TOKENS,
        "items": [f"29999999 {plain}"],  # the full list is checked through the status handler below
        "monthly": ["", render("status_karte_monthly", lang, amount=D("42.69"))],
    }


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def renderings(key: str, lang: Language) -> list[str]:
    names = sorted(placeholders(TEMPLATES[key][lang]))
    values = worst_values(lang)
    return [
        render(key, lang, **dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*(values[n] for n in names))
    ]


def size(text: str) -> str:
    if encoding_of(text) == "gsm":
        return f"{septet_count(text)} GSM septets"
    return f"{len(text.encode('utf-16-be')) // 2} UCS-2 units"


@pytest.mark.parametrize("lang", [LV, EN])
@pytest.mark.parametrize("key", SMS_KEYS)
def test_every_reply_fits_two_parts_with_worst_case_values(key: str, lang: Language) -> None:
    texts = renderings(key, lang)
    worst = max(texts, key=parts_needed)
    assert parts_needed(worst) <= 2, f"{key}/{lang.value} needs {parts_needed(worst)} parts ({size(worst)}): {worst!r}"


def test_every_template_is_in_both_languages_with_the_same_placeholders() -> None:
    for key, by_lang in TEMPLATES.items():
        assert set(by_lang) == {LV, EN}, key
        assert placeholders(by_lang[LV]) == placeholders(by_lang[EN]), key


def test_worst_values_cover_every_placeholder() -> None:
    used = set().union(*(placeholders(t) for key in SMS_KEYS for t in TEMPLATES[key].values()))
    assert used <= set(worst_values(LV))


@pytest.mark.parametrize("key", SMS_KEYS)
def test_latvian_replies_are_ucs2_and_english_ones_gsm(key: str) -> None:
    plain = {
        "karte": "37129123456",
        "sender": "37129123456",
        "amount": D("5.00"),
        "cap": D("42.69"),
        "left": D("1.00"),
        "total": D("5.00"),
        "low": D("1.42"),
        "high": D("21.34"),
        "hours": 24,
        "months": 6,
        "date": date(2026, 3, 31),
        "password": "ABCDEFGHJK",
        "token": "X",
        "items": "29123456 5",
        "monthly": "",
    }
    lv = render(key, LV, **{**plain, "plain": "5,00", "example": EXAMPLES["M"][LV]})
    en = render(key, EN, **{**plain, "plain": "5.00", "example": EXAMPLES["M"][EN]})
    assert encoding_of(lv) == "ucs2", lv  # Latvian letters are not in GSM 03.38
    assert encoding_of(en) == "gsm", en


def test_amounts_and_dates_are_written_the_way_each_language_writes_them() -> None:
    assert "29123456" in render("topup_done", LV, karte="37129123456", amount=D("5"))
    assert "5,00 EUR" in render("topup_done", LV, karte="37129123456", amount=D("5"))
    assert "5.00 EUR" in render("topup_done", EN, karte="37129123456", amount=D("5"))
    assert "30.11.2026" in render("stop_all", EN, date=date(2026, 11, 30))


def test_every_problem_but_unknown_service_has_a_parse_template() -> None:
    for problem in Problem:
        if problem is Problem.UNKNOWN_SERVICE:
            continue
        assert f"parse_{problem.value}" in TEMPLATES, problem
    assert set(Problem) - PROBLEMS_WITH_TEMPLATES == {Problem.UNKNOWN_SERVICE}


# --- the quick check against the exact encoder ---------------------------------------

CHARS = [
    *string.printable,
    *"`\x7f\x00{}[]~^\\|€éØ£",  # not GSM at all, GSM extension, GSM but not ASCII
    *"āžЖ😀𝄞",  # UCS-2, and two characters outside the BMP
]


@given(st.lists(st.sampled_from(CHARS), max_size=420).map("".join))
@example("`" + "a" * 200)  # ASCII, but "`" is not GSM: the whole text is UCS-2
@example("\t" + "a" * 200)
@example("a" * 152 + "{" + "a" * 152)  # 306 septets, an escape pair across the part boundary
@example("ž" * 66 + "😀" + "ž" * 66)  # 134 units, a surrogate pair across the part boundary
@example("a" * 306)
@example("ž" * 134)
def test_fits_two_parts_never_says_fits_when_the_encoder_needs_more(text: str) -> None:
    if fits_two_parts(text):
        assert parts_needed(text) <= 2, f"{parts_needed(text)} parts ({size(text)})"


@pytest.mark.parametrize(
    ("text", "fits"), [("a" * 306, True), ("a" * 307, False), ("ž" * 134, True), ("ž" * 135, False)]
)
def test_fits_two_parts_at_the_limits(text: str, fits: bool) -> None:
    assert fits_two_parts(text) is fits
    assert (parts_needed(text) <= 2) is fits


# --- the status list: as many Kartes as fit, then +N ------------------------------------


@pytest.mark.parametrize("lang", [LV, EN])
async def test_status_with_30_kartes_fits_two_parts_and_ends_with_the_count_left_out(lang: Language) -> None:
    uow = FakeUnitOfWork.with_subscribers(postpaid(language=lang))
    kartes = [f"3712{n:07d}" for n in range(1_000_001, 1_000_031)]  # 30 numbers 21000001 …
    for karte in kartes:  # 30 × 1.42 = 42.60: the most Kartes the monthly cap allows
        await uow.ledger.add(sender=SENDER, karte=karte, amount=D("1.42"), kind=TopUpKind.ONE_OFF, at=NOW)
    reply = await status(Status(), ctx(uow, now=datetime(2026, 3, 20, tzinfo=UTC)))
    [message] = reply.messages
    text = message.text
    assert parts_needed(text) <= 2, size(text)

    match = re.search(r"(?:; )?\+(\d+)\. ", text)
    assert match is not None, text
    items_before = text[: match.start()]
    shown = re.findall(r"\b2\d{7}\b", items_before)
    assert len(set(shown)) == len(shown) >= 1
    assert len(shown) + int(match.group(1)) == 30
    assert re.search(r"42[.,]60 EUR", text)  # the total is of all 30


@pytest.mark.parametrize("lang", [LV, EN])
async def test_status_with_few_kartes_lists_them_all(lang: Language) -> None:
    uow = FakeUnitOfWork.with_subscribers(postpaid(language=lang))
    for karte in ("37121000001", "37121000002", "37121000003"):
        await uow.ledger.add(sender=SENDER, karte=karte, amount=D("10.00"), kind=TopUpKind.ONE_OFF, at=NOW)
    [message] = (await status(Status(), ctx(uow))).messages
    assert "+" not in message.text
    assert all(number in message.text for number in ("21000001", "21000002", "21000003"))


@pytest.mark.parametrize("lang", list(Language))
def test_the_one_off_top_up_replies_fit_one_part(lang: Language) -> None:
    """The bulk of the traffic: one SMS each to the sender and to the Karte user, never two."""
    done = render("topup_done", lang, karte="37129999999", amount=Decimal("21.34"))
    received = render("topup_received", lang, sender="37129999999", amount=Decimal("21.34"))
    assert parts_needed(done) == 1, done
    assert parts_needed(received) == 1, received
