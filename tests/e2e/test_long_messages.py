"""Long and non-GSM messages both ways: concatenated replies, and MOs split every way SMPP allows.

Replies: a Latvian text is UCS-2 and is sent in as many parts as its length needs;
the simulator reassembles them and its MT record must equal the template text.
MOs: the simulator splits a long MO with 8-bit or 16-bit UDH, with SAR TLVs, or
sends it whole in message_payload; the gateway must process each once, as a whole
(exactly one effect and one reply), with the text it recorded equal to the text sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.model import Language
from handlers.templates import render

from .harness import DEMO, Stack, running_stack

LV, EN = Language.LV, Language.EN
KARTE = "37129000001"

SENDERS = {  # one sender per case, so every check can count exactly
    "udh8": "37121000001",
    "udh16": "37121000002",
    "sar": "37121000003",
    "payload": "37121000004",
    "ucs2_long": "37121000005",
    "ucs2_short": "37121000006",
    "many_parts": "37121000007",
    "long_mistake": "37121000008",
}
EXTRA = [f"{n},postpaid,active,private,false,lv,,," for n in SENDERS.values()]

#: GSM 03.38 characters that are plain ASCII (basic table) and the extension ones (two septets).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")


def parts_needed(text: str) -> tuple[int, int]:
    """(data_coding, parts) a text needs: GSM 160/153 septets, else UCS-2 70/67 units."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in text):
        septets = len(text) + sum(ch in _GSM_EXTENSION for ch in text)
        return 0, 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-be")) // 2
    return 8, 1 if units <= 70 else math.ceil(units / 67)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("long")), [*DEMO, *EXTRA]) as stack:
        yield stack


def one_mt(stack: Stack, cursor: int, to: str) -> dict[str, object]:
    [mt] = stack.replies(cursor, expect=1, to=to)
    return mt


def test_long_replies_are_sent_in_the_parts_they_need_and_arrive_intact(gw: Stack) -> None:
    cases = [
        ("37120000001", "HELP", render("help", LV)),  # Latvian letters: UCS-2, more than 70 characters
        ("37120000002", "HELP", render("help", EN)),  # GSM, more than 160 characters
        ("37120000001", "V 29000003 5", render("karte_not_active", LV, karte="37129000003")),  # UCS-2, one part
        ("37120000002", "HEL 5", render("parse_unknown_keyword", EN, token="HEL", example="29123456 5")),
    ]
    seen = []
    for sender, text, expected in cases:
        cursor = gw.send(sender, text)
        mt = one_mt(gw, cursor, sender)
        coding, parts = parts_needed(expected)
        assert mt["text"] == expected
        assert (mt["data_coding"], mt["parts"], mt["complete"]) == (coding, parts, True), mt
        assert len(mt["message_ids"]) == parts  # type: ignore[arg-type]
        seen.append(parts)
    assert seen[0] == 2 and seen[1] == 2 and seen[2] == 1, seen  # the cases cover one and two parts
    assert parts_needed(render("help", LV))[0] == 8

    # Every part of every reply got its receipt, so every reply ends delivered.
    gw.wait_until(
        lambda: (
            {r["state"] for r in gw.outbox() if r["destination"] in ("37120000001", "37120000002")} == {"delivered"}
        ),
        timeout=10,
        what="all replies delivered",
    )


@pytest.mark.parametrize("split", ["udh8", "udh16", "sar", "payload"])
def test_long_mo_is_processed_once_as_a_whole(gw: Stack, split: str) -> None:
    sender = SENDERS[split]
    amount = {"udh8": "5", "udh16": "6", "sar": "7", "payload": "2"}[split]
    text = f"V 29000001 {amount}" + " " * 200  # 212 septets: two parts unless sent as one payload
    reply = gw.post("/api/mo", {"source": sender, "destination": "1643", "text": text, "split": split})
    assert reply["parts"] == (1 if split == "payload" else 2)
    mt = one_mt(gw, int(reply["cursor"]), sender)
    assert mt["text"] == render("topup_done", LV, karte=KARTE, amount=Decimal(amount))

    gw.wait_until(lambda: gw.mo(reply["id"])["state"] == "delivered", timeout=10, what="every part acknowledged")
    assert gw.charges(sender) == [(sender, KARTE, int(amount) * 100, "one_off")]
    assert gw.query("SELECT text, command FROM mo_messages WHERE source = ?", (sender,)) == [(text, "TopUp")]
    # Exactly the two replies (sender and Karte), nothing more, also a moment later.
    time.sleep(0.5)
    batch, _ = gw.mts(int(reply["cursor"]))
    assert sorted(m["destination"] for m in batch) == sorted([sender, KARTE]), batch


def test_ucs2_mo_with_latvian_letters_is_understood(gw: Stack) -> None:
    for case, split_text in [("ucs2_short", "Jā"), ("ucs2_long", "Jā" + " " * 100)]:
        sender = SENDERS[case]
        invite = gw.converse(sender, "M 29000001 4.13")
        assert invite == [render("monthly_invite", LV, karte=KARTE, amount=Decimal("4.13"), hours=24)]
        reply = gw.post("/api/mo", {"source": sender, "destination": "1643", "text": split_text})
        assert reply["encoding"] == "ucs2"
        assert reply["parts"] == (1 if case == "ucs2_short" else 2)
        mt = one_mt(gw, int(reply["cursor"]), sender)
        assert str(mt["text"]).startswith("Apstiprināts: LMT Karte 29000001 tiks papildināta par 4,13 EUR"), mt
        assert gw.query("SELECT karte, amount_cents FROM monthly_orders WHERE sender = ?", (sender,)) == [(KARTE, 413)]
        sql = "SELECT text, data_coding FROM mo_messages WHERE source = ? AND command = 'Confirm'"
        recorded = gw.query(sql, (sender,))
        assert recorded == [(split_text, 8)]


def test_many_part_mos_are_reassembled_in_order(gw: Stack) -> None:
    # 12 GSM parts (parts 10-12 sort before 2 as strings) and a long UCS-2 mistake.
    sender = SENDERS["many_parts"]
    text = "S 29000001" + "".join(f" x{i:04d}" for i in range(300))
    reply = gw.post("/api/mo", {"source": sender, "destination": "1643", "text": text})
    assert reply["parts"] >= 12
    mt = one_mt(gw, int(reply["cursor"]), sender)
    assert mt["text"] == render("parse_extra_words", LV, token="x0000", example="S 29123456")
    assert gw.query("SELECT text FROM mo_messages WHERE source = ?", (sender,)) == [(text,)]

    sender = SENDERS["long_mistake"]
    text = "Sveiki! Lūdzu, papildiniet manu LMT Karti 29000001 par pieciem eiro, paldies. " * 3
    reply = gw.post("/api/mo", {"source": sender, "destination": "1643", "text": text, "split": "udh16"})
    assert reply["encoding"] == "ucs2" and reply["parts"] == math.ceil(len(text) / 66)
    mt = one_mt(gw, int(reply["cursor"]), sender)
    assert mt["text"] == render("parse_unknown_keyword", LV, token="Sveiki!", example="29123456 5")
    assert gw.query("SELECT text FROM mo_messages WHERE source = ?", (sender,)) == [(text,)]
    gw.silence(sender, mt["cursor"] + 1, seconds=0.5)  # type: ignore[operator]
