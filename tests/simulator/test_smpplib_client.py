"""python-smpplib (an SMPP implementation nobody here wrote) as a client of the real simulator:
long GSM 03.38 texts with extension characters, long UCS-2 texts, and every data_coding, in
both directions. Octets are made and read by smpplib and Python's codecs, never by `smpp`."""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.consts
import smpplib.gsm

from .conftest import RunningSim, wait_until
from .helpers import Esme

GSM_LONG = "Sveiki! {Cena} [5,00 €] ~ |ja| \\ ^ " * 8  # 280 characters, 352 septets
UCS2_LONG = "Glābējīsziņa — Jānis 😀 " * 8  # non-BMP characters as surrogate pairs
_TABLE = smpplib.gsm.GSM_CHARACTER_TABLE  # smpplib's own: an escape adds 0x80 to the index


def smpplib_gsm_decode(data: bytes) -> str:
    """Unpacked GSM 03.38 read with smpplib's table (0x5F is wrong there: avoid '§')."""
    out, escaped = [], False
    for octet in data:
        if escaped:
            out.append(_TABLE[0x80 + octet])
            escaped = False
        elif octet == 0x1B:
            escaped = True
        else:
            out.append(_TABLE[octet])
    return "".join(out)


def submitted(sim: RunningSim, destination: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        mts = sim.api("GET", "/api/mt?cursor=0")["mts"]
        return next((m for m in mts if m["destination"] == destination and m["complete"]), None)

    found: dict[str, Any] = wait_until(find)
    return found


@pytest.mark.parametrize(
    ("text", "encoding", "destination"),
    [
        (GSM_LONG, smpplib.consts.SMPP_ENCODING_DEFAULT, "37120000011"),
        (UCS2_LONG, smpplib.consts.SMPP_ENCODING_ISO10646, "37120000012"),
        ("Très bien, café " * 12, smpplib.consts.SMPP_ENCODING_ISO88591, "37120000013"),
    ],
    ids=["gsm", "ucs2", "latin1"],
)
def test_long_submits_split_by_smpplib_are_joined(
    sim: RunningSim, esme: Esme, text: str, encoding: int, destination: str
) -> None:
    parts, data_coding, esm_class = smpplib.gsm.make_parts(text, encoding)
    assert len(parts) > 1 and esm_class == 0x40
    responses = [esme.submit("1643", destination, part, dc=data_coding, esm=esm_class) for part in parts]
    assert [r.status for r in responses] == [0] * len(parts)
    mt = submitted(sim, destination)
    assert (mt["text"], mt["parts"], mt["data_coding"]) == (text, len(parts), data_coding)


# (data_coding, octets written with Python's codec or by hand, what the simulator records)
EVERY_CODING = [
    (0x00, smpplib.gsm.gsm_encode("Hi {€}"), "Hi {€}"),
    (0x01, b"Hello", "Hello"),
    (0x02, b"\x01\x02", "[binary data_coding 0x02: 0102]"),
    (0x03, "café".encode("latin-1"), "café"),
    (0x04, b"\xca\xfe", "[binary data_coding 0x04: cafe]"),
    (0x05, "日本語".encode("shift_jis"), "日本語"),
    (0x06, "Привет".encode("iso8859-5"), "Привет"),
    (0x07, "שלום".encode("iso8859-8"), "שלום"),
    (0x08, "Jānis 😀".encode("utf-16-be"), "Jānis 😀"),
    (0x09, b"\x01", "[pictogram data_coding 0x09: 01]"),
    (0x0A, "日本語".encode("iso2022_jp"), "日本語"),
    (0x0B, b"\x01", "[reserved data_coding 0x0B: 01]"),
    (0x0D, "丂".encode("euc_jp"), "丂"),
    (0x0E, "한국어".encode("euc_kr"), "한국어"),
    (0x11, b"Class 1", "Class 1"),
    (0x18, "Class 0".encode("utf-16-be"), "Class 0"),
    (0x24, b"\x01", "[compressed data_coding 0x24: 01]"),
    (0xC0, b"MWI", "MWI"),
    (0xE0, "MWI".encode("utf-16-be"), "MWI"),
    (0xF0, b"Flash", "Flash"),
    (0xF6, b"\x02\x70", "[binary data_coding 0xF6: 0270]"),
]


def test_every_data_coding_submitted_by_smpplib(sim: RunningSim, esme: Esme) -> None:
    for n, (data_coding, octets, _) in enumerate(EVERY_CODING):
        assert esme.submit("1643", f"3712000{n:04d}", octets, dc=data_coding).status == 0
    recorded = {m["destination"]: (m["data_coding"], m["text"]) for m in sim.api("GET", "/api/mt?cursor=0")["mts"]}
    assert [recorded[f"3712000{n:04d}"] for n in range(len(EVERY_CODING))] == [(dc, t) for dc, _, t in EVERY_CODING]


@pytest.mark.parametrize("split", ["udh8", "udh16", "sar", "payload"])
def test_long_gsm_mo_read_by_smpplib(sim: RunningSim, esme: Esme, split: str) -> None:
    mo = sim.inject("37120000001", "1643", GSM_LONG, split=split)
    parts = esme.deliveries(mo["parts"] if split != "payload" else 1)
    assert all(int(p.data_coding) == 0 for p in parts)
    texts = []
    for p in parts:
        data = bytes(p.short_message or p.message_payload)
        if int(p.esm_class) & 0x40:
            data = data[1 + data[0] :]
        texts.append(smpplib_gsm_decode(data))
    assert "".join(texts) == GSM_LONG
    if split == "sar":
        assert [int(p.sar_segment_seqnum) for p in parts] == list(range(1, len(parts) + 1))


def test_long_ucs2_mo_read_by_smpplib(sim: RunningSim, esme: Esme) -> None:
    mo = sim.inject("37120000001", "1643", UCS2_LONG)
    parts = esme.deliveries(mo["parts"])
    assert all(int(p.data_coding) == 8 for p in parts)
    datas = [bytes(p.short_message)[1 + bytes(p.short_message)[0] :] for p in parts]
    assert all(len(d) <= 134 for d in datas)
    assert [d.decode("utf-16-be") for d in datas]  # each part decodes alone: no surrogate pair is cut
    assert "".join(d.decode("utf-16-be") for d in datas) == UCS2_LONG
