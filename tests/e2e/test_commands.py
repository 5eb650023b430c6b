"""Every command of SPEC §3–§4 over SMPP, through the real simulator and gateway, in Latvian and English.

One stack serves the whole module (start-up costs seconds); each test uses its own
senders so that caps, pending requests and orders of one test never meet another's.
Expected texts are the reply templates rendered with the values the rules imply
(``handlers.templates.render``), so a wrong amount, date, number or language fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.model import Language
from handlers.templates import render

from .harness import DEMO, Stack, running_stack

LV, EN = Language.LV, Language.EN
RIGA = ZoneInfo("Europe/Riga")

# Demo subscribers plus senders of our own, so that tests do not share caps or orders.
EXTRA = [
    "37120000011,postpaid,active,private,false,lv,,,",  # daily cap (lv)
    "37120000012,postpaid,active,private,false,en,,,",  # daily cap (en)
    "37120000013,postpaid,active,private,false,lv,,,",  # monthly (lv)
    "37120000014,postpaid,active,private,false,en,,,",  # monthly (en)
    "37120000015,postpaid,active,private,false,lv,,,",  # STOP (lv)
    "37120000016,postpaid,active,private,false,en,,,",  # STOP (en)
    "37120000017,postpaid,active,private,false,lv,,,",  # S (lv)
    "37120000018,postpaid,active,private,false,en,,,",  # S (en)
]
UNKNOWN = "37120009999"
KARTE_LV, KARTE_EN, KARTE_CANCELLED = "37129000001", "37129000002", "37129000003"


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("commands")), [*DEMO, *EXTRA]) as stack:
        yield stack


def ask(stack: Stack, sender: str, text: str, short_code: str = "1643") -> str:
    """Send one MO; return the one reply to the sender (it must come from the short code texted)."""
    cursor = stack.send(sender, text, short_code)
    [reply] = stack.replies(cursor, expect=1, to=sender)
    assert reply["source"] == short_code, reply
    return str(reply["text"])


def top_up(stack: Stack, sender: str, text: str, karte: str) -> tuple[str, str]:
    """A top-up MO: (reply to the sender, notice to the Karte user)."""
    cursor = stack.send(sender, text)
    [to_sender] = stack.replies(cursor, expect=1, to=sender)
    [to_karte] = stack.replies(cursor, expect=1, to=karte)
    assert to_sender["source"] == to_karte["source"] == "1643"
    return to_sender["text"], to_karte["text"]


def eur(value: str) -> Decimal:
    return Decimal(value)


def riga_today() -> date:
    return datetime.now(RIGA).date()


def last_day_of_month(day: date) -> date:
    first_of_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_of_next - timedelta(days=1)


def next_monthly_run() -> date:
    """The last day of this month, or of the next one once this month's run time (10:00) has passed."""
    now = datetime.now(RIGA)
    last = last_day_of_month(now.date())
    if now.date() < last or now.hour < 10:
        return last
    return last_day_of_month(last + timedelta(days=1))


def charges(stack: Stack, sender: str | None = None) -> list[tuple[Any, ...]]:
    """One-off charges (of ``sender``); on a month's last day the scheduler may also run monthly ones."""
    return [c for c in stack.charges(sender) if c[3] == "one_off"]


# --- one-off top-ups ---------------------------------------------------------------------


def test_one_off_top_up_replies_notice_and_billing_row(gw: Stack) -> None:
    # Latvian sender, keyword V, Latvian Karte user.
    to_sender, to_karte = top_up(gw, "37120000001", "V 29000001 5", KARTE_LV)
    assert to_sender == render("topup_done", LV, karte=KARTE_LV, amount=eur("5.00"))
    assert to_karte == render("topup_received", LV, sender="37120000001", amount=eur("5.00"))
    # English sender, no keyword, comma decimals, international number form, English Karte user.
    to_sender, to_karte = top_up(gw, "37120000002", "+37129000002 4,13", KARTE_EN)
    assert to_sender == render("topup_done", EN, karte=KARTE_EN, amount=eur("4.13"))
    assert to_karte == render("topup_received", EN, sender="37120000002", amount=eur("4.13"))

    rows = [r for r in gw.billing() if r["sender"] in ("37120000001", "37120000002")]
    assert [(r["sender"], r["karte"], r["amount"], r["kind"]) for r in rows] == [
        ("37120000001", KARTE_LV, "5.00", "one_off"),
        ("37120000002", KARTE_EN, "4.13", "one_off"),
    ]
    assert all(r["charged_at"].startswith(riga_today().isoformat()[:7]) for r in rows)


def test_daily_cap_across_several_top_ups(gw: Stack) -> None:
    lv, en = "37120000011", "37120000012"
    # 10 + 10 on two different Kartes: the cap is per sender, not per Karte.
    assert top_up(gw, lv, "V 29000001 10", KARTE_LV)[0] == render("topup_done", LV, karte=KARTE_LV, amount=eur("10"))
    assert top_up(gw, lv, "29000002 10.00", KARTE_EN)[0] == render("topup_done", LV, karte=KARTE_EN, amount=eur("10"))
    # 20 + 2 > 21.34: refused, saying how much is left today.
    assert ask(gw, lv, "V 29000001 2") == render("daily_cap", LV, cap=eur("21.34"), left=eur("1.34"))
    # What is left (1.34) is below the minimum top-up.
    assert ask(gw, lv, "V 29000001 1.34") == render(
        "amount_out_of_range", LV, low=eur("1.42"), high=eur("21.34"), example="29123456 5"
    )
    # Exactly the cap in one go is allowed; then nothing is left.
    assert top_up(gw, en, "V 29000001 21.34", KARTE_LV)[0] == render(
        "topup_done", EN, karte=KARTE_LV, amount=eur("21.34")
    )
    assert ask(gw, en, "V 29000002 1.42") == render("daily_cap", EN, cap=eur("21.34"), left=eur("0.00"))

    assert charges(gw, lv) == [(lv, KARTE_LV, 1000, "one_off"), (lv, KARTE_EN, 1000, "one_off")]
    assert charges(gw, en) == [(en, KARTE_LV, 2134, "one_off")]


def test_amount_out_of_range(gw: Stack) -> None:
    one_off_lv = render("amount_out_of_range", LV, low=eur("1.42"), high=eur("21.34"), example="29123456 5")
    one_off_en = render("amount_out_of_range", EN, low=eur("1.42"), high=eur("21.34"), example="29123456 5")
    monthly_en = render("amount_out_of_range", EN, low=eur("1.42"), high=eur("42.69"), example="M 29123456 4.13")
    monthly_lv = render("amount_out_of_range", LV, low=eur("1.42"), high=eur("42.69"), example="M 29123456 4,13")
    before = charges(gw)
    assert ask(gw, "37120000001", "V 29000001 1.41") == one_off_lv
    assert ask(gw, "37120000001", "29000001 21,35") == one_off_lv
    assert ask(gw, "37120000002", "V 29000001 0.5") == one_off_en
    assert ask(gw, "37120000002", "M 29000001 42.70") == monthly_en
    assert ask(gw, "37120000001", "M 29000001 1,41") == monthly_lv
    assert charges(gw) == before
    assert gw.query("SELECT COUNT(*) FROM pending_requests WHERE sender IN ('37120000001', '37120000002')") == [(0,)]


def test_targets_that_cannot_be_topped_up(gw: Stack) -> None:
    # A postpaid number, an unknown number, a cancelled Karte.
    assert ask(gw, "37120000001", "V 20000002 5") == render("not_a_karte", LV, karte="37120000002")
    assert ask(gw, "37120000002", "29999999 5") == render("not_a_karte", EN, karte="37129999999")
    assert ask(gw, "37120000001", "V 29000003 5") == render("karte_not_active", LV, karte=KARTE_CANCELLED)
    assert ask(gw, "37120000002", "M 29000003 5") == render("karte_not_active", EN, karte=KARTE_CANCELLED)
    assert [c for c in gw.charges() if c[1] in ("37120000002", "37129999999", KARTE_CANCELLED)] == []
    assert gw.query("SELECT COUNT(*) FROM pending_requests WHERE sender = '37120000002'") == [(0,)]


def test_who_may_use_sos_sms(gw: Stack) -> None:
    # A legal entity without permission is refused; with permission it may.
    assert ask(gw, "37120000003", "V 29000001 3") == render("not_eligible_legal", LV)
    to_sender, to_karte = top_up(gw, "37120000004", "V 29000001 3", KARTE_LV)
    assert to_sender == render("topup_done", LV, karte=KARTE_LV, amount=eur("3"))
    assert to_karte == render("topup_received", LV, sender="37120000004", amount=eur("3"))
    # Unknown, cancelled, and a Karte as sender.
    assert ask(gw, UNKNOWN, "V 29000001 3") == render("not_eligible_unknown", LV)
    assert ask(gw, "37120000005", "V 29000001 3") == render("not_eligible_inactive", LV)
    assert ask(gw, KARTE_EN, "V 29000001 3") == render("not_eligible_not_postpaid", EN)
    assert ask(gw, "37120000003", "S") == render("not_eligible_legal", LV)

    refused = ("37120000003", UNKNOWN, "37120000005", KARTE_EN)
    assert [c for c in gw.charges() if c[0] in refused] == []
    assert charges(gw, "37120000004") == [("37120000004", KARTE_LV, 300, "one_off")]


# --- monthly top-ups ---------------------------------------------------------------------


@pytest.mark.parametrize(("sender", "lang", "amount_text"), [("37120000013", LV, "4,13"), ("37120000014", EN, "4.13")])
def test_monthly_request_confirm_and_nothing_pending(gw: Stack, sender: str, lang: Language, amount_text: str) -> None:
    assert ask(gw, sender, "JA") == render("no_pending", lang)
    invite = ask(gw, sender, f"M 29000001 {amount_text}")
    assert invite == render("monthly_invite", lang, karte=KARTE_LV, amount=eur("4.13"), hours=24)
    assert "JA" in invite
    assert gw.query("SELECT karte, amount_cents FROM pending_requests WHERE sender = ?", (sender,)) == [(KARTE_LV, 413)]
    gw.wait_acked()  # the earlier "JA" is known to be acknowledged: this one is new, not its redelivery
    assert ask(gw, sender, "ja") == render(
        "monthly_confirmed", lang, karte=KARTE_LV, amount=eur("4.13"), date=next_monthly_run()
    )
    assert gw.query("SELECT karte, amount_cents FROM monthly_orders WHERE sender = ?", (sender,)) == [(KARTE_LV, 413)]
    assert gw.query("SELECT COUNT(*) FROM pending_requests WHERE sender = ?", (sender,)) == [(0,)]
    # Confirmed once: a second JA has nothing to confirm.
    gw.wait_acked()
    assert ask(gw, sender, "JA") == render("no_pending", lang)
    # S for that Karte shows the monthly amount; nothing was charged yet (it runs on the last day).
    assert ask(gw, sender, "S 29000001") == render(
        "status_karte",
        lang,
        karte=KARTE_LV,
        amount=eur("0"),
        monthly=render("status_karte_monthly", lang, amount=eur("4.13")),
    )
    assert charges(gw, sender) == []


def confirm_monthly(stack: Stack, sender: str, lang: Language, karte: str, amount: str) -> None:
    """M + JA for ``karte`` (8 digits), checking both replies."""
    full = "371" + karte
    invite = ask(stack, sender, f"M {karte} {amount}")
    assert invite == render("monthly_invite", lang, karte=full, amount=eur(amount), hours=24)
    stack.wait_acked()
    confirmed = ask(stack, sender, "JA")
    assert confirmed == render("monthly_confirmed", lang, karte=full, amount=eur(amount), date=next_monthly_run())
    stack.wait_acked()


@pytest.mark.parametrize(("sender", "lang"), [("37120000015", LV), ("37120000016", EN)])
def test_stop_variants(gw: Stack, sender: str, lang: Language) -> None:
    last = last_day_of_month(riga_today())
    # Nothing at all to cancel.
    assert ask(gw, sender, "STOP") == render("nothing_to_cancel", lang)
    assert ask(gw, sender, "STOP 29000002") == render("nothing_to_cancel_karte", lang, karte=KARTE_EN)
    # Only a pending request: STOP says that it was cancelled.
    assert ask(gw, sender, "M 29000001 3") == render("monthly_invite", lang, karte=KARTE_LV, amount=eur("3"), hours=24)
    gw.wait_acked()
    assert ask(gw, sender, "STOP") == render("stop_pending", lang)
    assert gw.query("SELECT COUNT(*) FROM pending_requests WHERE sender = ?", (sender,)) == [(0,)]
    assert ask(gw, sender, "JA") == render("no_pending", lang)
    # Two confirmed monthly orders; STOP one of them: the reply names the last date
    # (this month's run still happens).
    confirm_monthly(gw, sender, lang, "29000001", "2")
    confirm_monthly(gw, sender, lang, "29000002", "2")
    assert ask(gw, sender, "STOP 29000002") == render("stop_one", lang, karte=KARTE_EN, date=last)
    assert gw.query("SELECT karte, last_month FROM monthly_orders WHERE sender = ? ORDER BY karte", (sender,)) == [
        (KARTE_LV, None),
        (KARTE_EN, last.strftime("%Y-%m")),
    ]
    # STOP (all) also drops a pending request; the remaining order ends after this month.
    assert ask(gw, sender, "M 29000002 3") == render("monthly_invite", lang, karte=KARTE_EN, amount=eur("3"), hours=24)
    gw.wait_acked()
    assert ask(gw, sender, "STOP") == render("stop_all", lang, date=last)
    assert gw.query("SELECT COUNT(*) FROM pending_requests WHERE sender = ?", (sender,)) == [(0,)]
    assert gw.query("SELECT karte, last_month FROM monthly_orders WHERE sender = ? ORDER BY karte", (sender,)) == [
        (KARTE_LV, last.strftime("%Y-%m")),
        (KARTE_EN, last.strftime("%Y-%m")),
    ]
    assert charges(gw, sender) == []


# --- status -------------------------------------------------------------------------------


@pytest.mark.parametrize(("sender", "lang"), [("37120000017", LV), ("37120000018", EN)])
def test_status(gw: Stack, sender: str, lang: Language) -> None:
    assert ask(gw, sender, "S") == render("status_none", lang, cap=eur("42.69"))
    top_up(gw, sender, "V 29000001 2.50", KARTE_LV)
    top_up(gw, sender, "V 29000002 5", KARTE_EN)
    top_up(gw, sender, "V 29000001 1.50", KARTE_LV)
    plain = {LV: ("5,00", "4,00"), EN: ("5.00", "4.00")}[lang]
    items = f"29000002 {plain[0]}; 29000001 {plain[1]}"  # largest first
    assert ask(gw, sender, "s") == render("status_list", lang, items=items, total=eur("9"), left=eur("33.69"))
    assert ask(gw, sender, "S 29000001") == render("status_karte", lang, karte=KARTE_LV, amount=eur("4"), monthly="")
    assert ask(gw, sender, "S 29000003") == render(
        "status_karte", lang, karte=KARTE_CANCELLED, amount=eur("0"), monthly=""
    )


# --- help and mistakes ----------------------------------------------------------------------


@pytest.mark.parametrize(("sender", "lang"), [("37120000001", LV), ("37120000002", EN)])
def test_help_texts(gw: Stack, sender: str, lang: Language) -> None:
    for text, key in [
        ("HELP", "help"),
        ("?", "help"),
        ("V?", "help_one_off"),
        ("m?", "help_monthly"),
        ("S?", "help_status"),
        ("STOP?", "help_stop"),
    ]:
        assert ask(gw, sender, text) == render(key, lang), text
    # Anyone may ask for help, also a number we do not know (answered in Latvian).
    assert ask(gw, UNKNOWN, "HELP") == render("help", LV)


@pytest.mark.parametrize(("sender", "lang"), [("37120000001", LV), ("37120000002", EN)])
def test_mistakes_get_a_hint(gw: Stack, sender: str, lang: Language) -> None:
    cases = [
        ("XYZ 29000001 5", "parse_unknown_keyword", {"token": "XYZ", "example": "29123456 5"}),
        ("V 29000001 5.555", "parse_bad_amount", {"token": "5.555", "example": "29123456 5"}),
        ("V 29000001", "parse_missing_amount", {"example": "29123456 5"}),
        ("V 29000001 5 29000002", "parse_extra_words", {"token": "29000002", "example": "29123456 5"}),
        ("S 2900000", "parse_bad_number", {"token": "2900000", "example": "S 29123456"}),
    ]
    before = charges(gw)
    for text, key, params in cases:
        reply = ask(gw, sender, text)
        assert reply == render(key, lang, **params), text
        assert reply.endswith("HELP"), reply
    # None of them changed anything.
    assert charges(gw) == before


# --- 1640: My LMT password --------------------------------------------------------------------

_PASSWORD = re.compile(r"password: (\S+) \(")


def test_password_by_sms_works_once_and_is_rate_limited(gw: Stack) -> None:
    anna = "37120000002"  # English, has an e-mail address
    reply = ask(gw, anna, " P ", "1640")
    match = _PASSWORD.search(reply)
    assert match is not None, reply
    password = match.group(1)
    assert reply == render("password_sent", EN, password=password, hours=24)
    assert len(password) == 10
    assert password not in gw.log_text()
    assert password not in "".join(str(row) for row in gw.query("SELECT * FROM outbox"))

    assert gw.smsgw("password", "check", anna, stdin=password + "\n", check=False).returncode == 0
    assert gw.smsgw("password", "check", anna, stdin=password + "\n", check=False).returncode == 1

    # Any other text to 1640 gets the one-line hint.
    assert ask(gw, anna, "parole", "1640") == render("password_hint", EN)
    # Latvian subscriber, lower case.
    lv_reply = ask(gw, "37120000001", "p", "1640")
    assert re.fullmatch(
        re.escape(render("password_sent", LV, password="@@", hours=24)).replace("@@", r"\S{10}"), lv_reply
    )

    # A cancelled number gets no password (and is told why); an unknown number gets no reply at all.
    assert ask(gw, "37120000005", "P", "1640") == render("password_not_active", LV)
    cursor = gw.send(UNKNOWN, "P", "1640")
    gw.silence(UNKNOWN, cursor, seconds=1.0)

    # Two more passwords (3 in the hour), then "try later" once, then silence.
    for _ in range(2):
        gw.wait_acked()
        assert _PASSWORD.search(ask(gw, anna, "P", "1640"))
    gw.wait_acked()
    assert ask(gw, anna, "P", "1640") == render("password_try_later", EN)
    gw.wait_acked()
    cursor = gw.send(anna, "P", "1640")
    gw.silence(anna, cursor, seconds=1.0)
    outcomes = gw.query("SELECT outcome FROM password_requests WHERE msisdn = ? ORDER BY id", (anna,))
    assert [o for (o,) in outcomes] == ["issued", "issued", "issued", "try_later", "silent"]
