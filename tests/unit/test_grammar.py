"""The SMS command grammar: every form of every command, the failures, hostile texts."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grammar import (
    PASSWORD_SHORT_CODE,
    SOS_SHORT_CODE,
    CancelMonthly,
    Command,
    Confirm,
    Help,
    HelpTopic,
    ParseError,
    Problem,
    RequestMonthly,
    ResetPassword,
    Status,
    TopUp,
    national,
    normalize_msisdn,
    parse,
)

P, SOS = PASSWORD_SHORT_CODE, SOS_SHORT_CODE
KARTE = "37129123456"


def top_up(amount: str) -> TopUp:
    return TopUp(karte=KARTE, amount=Decimal(amount))


def monthly(amount: str) -> RequestMonthly:
    return RequestMonthly(karte=KARTE, amount=Decimal(amount))


Expected = Command | tuple[Problem, str | None]

CASES: list[tuple[str, str, Expected]] = [
    # ---- 1640: P ----
    ("P", P, ResetPassword()),
    ("p", P, ResetPassword()),
    ("  P  ", P, ResetPassword()),
    ("\tp\r\n", P, ResetPassword()),
    ("Ｐ", P, ResetPassword()),  # full-width, NFKC
    ("P x", P, (Problem.EXTRA_WORDS, "P")),
    ("P P", P, (Problem.EXTRA_WORDS, "P")),
    ("P?", P, (Problem.EXTRA_WORDS, "P")),
    ("P\x00", P, (Problem.EXTRA_WORDS, "P")),
    ("PP", P, (Problem.UNKNOWN_KEYWORD, None)),
    ("parole", P, (Problem.UNKNOWN_KEYWORD, None)),
    ("Р", P, (Problem.UNKNOWN_KEYWORD, None)),  # Cyrillic Er
    ("V 29123456 5", P, (Problem.UNKNOWN_KEYWORD, None)),
    ("29123456 5", P, (Problem.UNKNOWN_KEYWORD, None)),
    ("", P, (Problem.EMPTY, None)),
    ("   ", P, (Problem.EMPTY, None)),
    # ---- 1643: one-off top-up, every number form ----
    ("V 29123456 5", SOS, top_up("5")),
    ("v 29123456 5", SOS, top_up("5")),
    ("V 37129123456 5", SOS, top_up("5")),
    ("V +37129123456 5", SOS, top_up("5")),
    ("V 0037129123456 5", SOS, top_up("5")),
    ("29123456 5", SOS, top_up("5")),
    ("+37129123456 21.34", SOS, top_up("21.34")),
    ("0037129123456 1,42", SOS, top_up("1.42")),
    # amounts: both separators, one or two decimals, no range check
    ("V 29123456 4.13", SOS, top_up("4.13")),
    ("V 29123456 4,13", SOS, top_up("4.13")),
    ("V 29123456 4.1", SOS, top_up("4.10")),
    ("V 29123456 4,1", SOS, top_up("4.10")),
    ("V 29123456 05", SOS, top_up("5")),
    ("V 29123456 1000", SOS, top_up("1000")),
    ("V 29123456 999999.99", SOS, top_up("999999.99")),
    # euro suffixes
    ("V 29123456 5€", SOS, top_up("5")),
    ("V 29123456 5 €", SOS, top_up("5")),
    ("V 29123456 5 EUR", SOS, top_up("5")),
    ("V 29123456 5eur", SOS, top_up("5")),
    ("V 29123456 4,13EUR", SOS, top_up("4.13")),
    ("V 29123456 5 euro", SOS, top_up("5")),
    ("V 29123456 5 eiro", SOS, top_up("5")),
    # whitespace of every kind
    ("  V   29123456\t5  ", SOS, top_up("5")),
    ("V\n29123456\n5", SOS, top_up("5")),
    ("V\u00a029123456\u20035", SOS, top_up("5")),
    ("V\u202829123456\x855", SOS, top_up("5")),  # not touched by NFKC, still whitespace
    ("Ｖ　２９１２３４５６　５", SOS, top_up("5")),  # full-width
    # ---- monthly ----
    ("M 29123456 4.13", SOS, monthly("4.13")),
    ("m 29123456 4,13", SOS, monthly("4.13")),
    ("M +37129123456 42.69 EUR", SOS, monthly("42.69")),
    # ---- JA ----
    ("JA", SOS, Confirm()),
    ("ja", SOS, Confirm()),
    ("Ja", SOS, Confirm()),
    ("JĀ", SOS, Confirm()),
    ("jā", SOS, Confirm()),
    ("JA\u0304", SOS, Confirm()),  # A + combining macron, composed by NFKC
    ("YES", SOS, Confirm()),
    ("yes", SOS, Confirm()),
    # ---- STOP ----
    ("STOP", SOS, CancelMonthly(None)),
    ("stop", SOS, CancelMonthly(None)),
    ("Stop", SOS, CancelMonthly(None)),
    ("STOP 29123456", SOS, CancelMonthly(KARTE)),
    ("stop 0037129123456", SOS, CancelMonthly(KARTE)),
    # ---- S ----
    ("S", SOS, Status(None)),
    ("s", SOS, Status(None)),
    ("S 29123456", SOS, Status(KARTE)),
    ("s +37129123456", SOS, Status(KARTE)),
    # ---- HELP, ? and the topics ----
    ("HELP", SOS, Help(None)),
    ("help", SOS, Help(None)),
    ("?", SOS, Help(None)),
    (" ? ", SOS, Help(None)),
    ("HELP?", SOS, Help(None)),
    ("V?", SOS, Help(HelpTopic.ONE_OFF)),
    ("v ?", SOS, Help(HelpTopic.ONE_OFF)),
    ("M?", SOS, Help(HelpTopic.MONTHLY)),
    ("m ?", SOS, Help(HelpTopic.MONTHLY)),
    ("S?", SOS, Help(HelpTopic.STATUS)),
    ("s ?", SOS, Help(HelpTopic.STATUS)),
    ("STOP?", SOS, Help(HelpTopic.STOP)),
    ("stop ?", SOS, Help(HelpTopic.STOP)),
    # ---- missing spaces: accepted after a keyword before a number ----
    ("V29123456 5", SOS, top_up("5")),
    ("v+37129123456 5", SOS, top_up("5")),
    ("M29123456 5", SOS, monthly("5")),
    ("S29123456", SOS, Status(KARTE)),
    ("STOP29123456", SOS, CancelMonthly(KARTE)),
    # ... and nowhere else
    ("V 291234565", SOS, (Problem.BAD_NUMBER, "V")),
    ("291234565", SOS, (Problem.BAD_NUMBER, "V")),
    ("M 29123456,5", SOS, (Problem.BAD_NUMBER, "M")),
    ("VX 29123456 5", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("STOPALL", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("JAA", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    # ---- missing parts ----
    ("V", SOS, (Problem.MISSING_NUMBER, "V")),
    ("M", SOS, (Problem.MISSING_NUMBER, "M")),
    ("V 29123456", SOS, (Problem.MISSING_AMOUNT, "V")),
    ("29123456", SOS, (Problem.MISSING_AMOUNT, "V")),
    ("M 29123456", SOS, (Problem.MISSING_AMOUNT, "M")),
    # ---- bad numbers ----
    ("+37229123456 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("V +37229123456 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("V 39123456 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("V 2912345 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("V 291234567 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("V abc 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("V 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("5 29123456", SOS, (Problem.BAD_NUMBER, "V")),
    ("M 2912345x 5", SOS, (Problem.BAD_NUMBER, "M")),
    ("S 2912345", SOS, (Problem.BAD_NUMBER, "S")),
    ("STOP +3712912345", SOS, (Problem.BAD_NUMBER, "STOP")),
    # ---- bad amounts ----
    ("M 29123456 4.134", SOS, (Problem.BAD_AMOUNT, "M")),
    ("V 29123456 4.", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 .5", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 -5", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 5,5,5", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 abc", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 1234567", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 5abc", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 5$", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 29123457", SOS, (Problem.BAD_AMOUNT, "V")),
    ("V 29123456 € 5", SOS, (Problem.BAD_AMOUNT, "V")),
    # ---- extra words: one Karte per message ----
    ("V 29123456 5 5", SOS, (Problem.EXTRA_WORDS, "V")),
    ("V 29123456 5 EUR EUR", SOS, (Problem.EXTRA_WORDS, "V")),
    ("STOP 29123456 29123457", SOS, (Problem.EXTRA_WORDS, "STOP")),
    ("S 29123456 29123457", SOS, (Problem.EXTRA_WORDS, "S")),
    ("STOP please", SOS, (Problem.EXTRA_WORDS, "STOP")),
    ("JA JA", SOS, (Problem.EXTRA_WORDS, "JA")),
    ("yes please", SOS, (Problem.EXTRA_WORDS, "JA")),
    ("HELP me", SOS, (Problem.EXTRA_WORDS, "HELP")),
    ("? ?", SOS, (Problem.EXTRA_WORDS, "HELP")),
    ("V? 29123456", SOS, (Problem.EXTRA_WORDS, "HELP")),
    ("V 29123456 5 " + "x " * 500, SOS, (Problem.EXTRA_WORDS, "V")),
    # ---- empty and unknown ----
    ("", SOS, (Problem.EMPTY, None)),
    ("    ", SOS, (Problem.EMPTY, None)),
    ("\t\n\r \u3000\u2028", SOS, (Problem.EMPTY, None)),
    ("P", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("EUR", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("hello", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("x" * 1000, SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("9" * 1000, SOS, (Problem.BAD_NUMBER, "V")),
    # ---- hostile ----
    ("😀", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("😀" * 1000, SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("V 29123456 5 😀", SOS, (Problem.EXTRA_WORDS, "V")),
    ("V 29123456 5😀", SOS, (Problem.BAD_AMOUNT, "V")),
    ("'; DROP TABLE subscribers; --", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("V 29123456 5; DROP TABLE subscribers", SOS, (Problem.BAD_AMOUNT, "V")),
    ("\x00", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("V\x0029123456 5", SOS, (Problem.BAD_NUMBER, "V")),
    ("М 29123456 5", SOS, (Problem.UNKNOWN_KEYWORD, None)),  # Cyrillic Em
    ("Ѕ 29123456", SOS, (Problem.UNKNOWN_KEYWORD, None)),  # Cyrillic Dze
    ("ЈА", SOS, (Problem.UNKNOWN_KEYWORD, None)),  # Cyrillic Je, A
    ("\u202eV 29123456 5", SOS, (Problem.UNKNOWN_KEYWORD, None)),  # right-to-left override
    ("مرحبا", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    ("٢٩١٢٣٤٥٦ 5", SOS, (Problem.UNKNOWN_KEYWORD, None)),  # Arabic-Indic digits
    ("\ud800", SOS, (Problem.UNKNOWN_KEYWORD, None)),  # lone surrogate
    ("V 29123456 5\udc00", SOS, (Problem.BAD_AMOUNT, "V")),
    ("\x1b[2J", SOS, (Problem.UNKNOWN_KEYWORD, None)),
    # ---- other short codes ----
    ("29123456 5", "9999", (Problem.UNKNOWN_SERVICE, None)),
    ("P", "", (Problem.UNKNOWN_SERVICE, None)),
    ("P", " 1640", (Problem.UNKNOWN_SERVICE, None)),
]


@pytest.mark.parametrize(
    ("text", "short_code", "expected"),
    CASES,
    ids=[f"{code}:{text[:30]!r}" for text, code, _ in CASES],
)
def test_parse(text: str, short_code: str, expected: Expected) -> None:
    if isinstance(expected, tuple):
        problem, keyword = expected
        with pytest.raises(ParseError) as caught:
            parse(text, short_code)
        assert (caught.value.problem, caught.value.keyword) == (problem, keyword)
    else:
        assert parse(text, short_code) == expected


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("VX 29123456 5", "VX"),
        ("V2912345 5", "2912345"),
        ("V 291234565", "291234565"),
        ("+37229123456 5", "+37229123456"),
        ("V 29123456 4.134", "4.134"),
        ("V 29123456 5abc", "5abc"),
        ("V 29123456 5 5", "5"),
        ("V 29123456 5 5€", "5€"),
        ("STOP 29123456 29123457", "29123457"),
        ("JA please", "please"),
        ("'; DROP TABLE subscribers; --", "';"),
        ("x" * 1000, "x" * 20),
        ("V 29123456", None),
        ("", None),
    ],
)
def test_the_error_names_the_wrong_word(text: str, token: str | None) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, SOS)
    assert caught.value.token == token


def test_results_are_plain_python() -> None:
    command = parse("V 29123456 5", SOS)
    assert isinstance(command, TopUp)
    assert type(command.karte) is str
    assert type(command.amount) is Decimal
    with pytest.raises(ParseError) as caught:
        parse("V 29123456 5 5", SOS)
    assert type(caught.value.token) is str
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_the_grammar_is_not_rebuilt_per_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    import lark

    def no_rebuild(*args: object, **kwargs: object) -> None:
        raise AssertionError("grammar rebuilt")

    monkeypatch.setattr(lark.Lark, "__init__", no_rebuild)
    monkeypatch.setattr(lark.Lark, "open", no_rebuild)
    assert parse("S", SOS) == Status(None)
    with pytest.raises(ParseError):
        parse("nonsense", SOS)


def test_long_hostile_texts_are_fast() -> None:
    texts = [
        "9" * 10_000,
        "x" * 10_000,
        "V " + "2" * 10_000,
        "V 29123456 5" + " 5" * 5_000,
        "😀" * 10_000,
        " " * 10_000 + "Q",
        "5,5" * 3_000,
        "V" + "\x00" * 10_000,
    ]
    started = time.perf_counter()
    for text in texts:
        for short_code in (P, SOS):
            with pytest.raises(ParseError):
                parse(text, short_code)
    assert time.perf_counter() - started < 1.0


# ---- properties ----

ANY_CHARACTER = st.characters(exclude_categories=())  # lone surrogates too
FRAGMENTS = st.sampled_from(
    [
        "V",
        "M",
        "S",
        "STOP",
        "JA",
        "JĀ",
        "YES",
        "HELP",
        "P",
        "?",
        "€",
        "EUR",
        "29123456",
        "+37129123456",
        "0037129123456",
        "2912345",
        "5",
        "4,13",
        "4.134",
        "V?",
        " ",
        "\n",
    ]
)
COMMAND_LIKE = st.lists(FRAGMENTS | st.text(ANY_CHARACTER, max_size=3), max_size=8).map(lambda parts: " ".join(parts))


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(ANY_CHARACTER, max_size=1000) | COMMAND_LIKE,
    short_code=st.sampled_from([P, SOS]),
)
def test_parse_raises_nothing_but_parse_error(text: str, short_code: str) -> None:
    try:
        parse(text, short_code)
    except ParseError as error:
        assert error.token is None or (type(error.token) is str and len(error.token) <= 20)


@given(
    amount=st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2)
    | st.decimals(min_value=0, max_value=999999, places=1)
    | st.integers(min_value=0, max_value=999999).map(Decimal),
    separator=st.sampled_from([".", ","]),
)
def test_amounts_round_trip(amount: Decimal, separator: str) -> None:
    typed = str(amount).replace(".", separator)
    command = parse(f"V 29123456 {typed}", SOS)
    assert isinstance(command, TopUp)
    assert command.amount == amount
    assert command.amount.as_tuple().exponent == -2


@given(
    st.from_regex(r"(\+|00)?(371)?[0-9]{6,10}", fullmatch=True)
    | st.from_regex(r"(\+371|00371|371)?2[0-9]{7}", fullmatch=True)
)
def test_the_grammar_and_normalize_msisdn_agree_on_numbers(typed: str) -> None:
    karte = normalize_msisdn(typed)
    if karte is None:
        with pytest.raises(ParseError) as caught:
            parse(f"S {typed}", SOS)
        assert caught.value.problem is Problem.BAD_NUMBER
    else:
        assert parse(f"S {typed}", SOS) == Status(karte)


# ---- numbers ----


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("29123456", "37129123456"),
        ("37129123456", "37129123456"),
        ("+37129123456", "37129123456"),
        ("0037129123456", "37129123456"),
        ("20000000", "37120000000"),
        ("29999999", "37129999999"),
        ("2912345", None),
        ("291234567", None),
        ("39123456", None),
        ("+37229123456", None),
        ("0037229123456", None),
        ("3712912345", None),
        ("+29123456", None),
        ("0029123456", None),
        ("371 29123456", None),
        (" 29123456", None),
        ("29123456\n", None),
        ("2912345a", None),
        ("２９１２３４５６", None),  # full-width: the parser's NFKC handles those
        ("٢٩١٢٣٤٥٦", None),
        ("", None),
    ],
)
def test_normalize_msisdn(typed: str, normalized: str | None) -> None:
    assert normalize_msisdn(typed) == normalized


@pytest.mark.parametrize("typed", ["29123456", "37129123456", "+37129123456", "0037129123456"])
def test_national(typed: str) -> None:
    assert national(typed) == "29123456"


def test_national_refuses_what_is_no_latvian_mobile_number() -> None:
    with pytest.raises(ValueError):
        national("+37229123456")
