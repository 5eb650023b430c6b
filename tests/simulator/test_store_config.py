"""The traffic store's bounds and index, and config loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config import ConfigError, load_config
from simulator.store import MoRecord, MtRecord, Store


def mt(source: str, destination: str, text: str) -> MtRecord:
    return MtRecord(text, [text], 1, "smsgw", source, destination, text, 0, 1, True, 0.0, 0)


def test_store_cursor_filters_and_eviction() -> None:
    store = Store(limit=3)
    seen: list[str] = []
    store.listeners.append(lambda m: seen.append(m.text))
    for i in range(5):
        store.add_mt(mt("1643", f"3712000000{i % 2}", f"t{i}"))
    assert seen == ["t0", "t1", "t2", "t3", "t4"]
    found, cursor = store.mts_since(0)
    assert [m.text for m in found] == ["t2", "t3", "t4"] and cursor == 5  # t0, t1 evicted
    found, _ = store.mts_since(3, destination="37120000001")
    assert [m.text for m in found] == ["t3"]
    found, cursor = store.mts_since(2, limit=1)
    assert [m.text for m in found] == ["t2"] and cursor == 3
    assert [r.text for r in store.traffic("37120000000")] == ["t2", "t4"]
    store.add_mo(MoRecord("m1", "37120000000", "1643", "hi", "gsm", "none", ["m1"], 1.0))
    assert [r.text for r in store.traffic("37120000000")][-1] == "hi"
    assert store.get_mo("m1") is not None and store.traffic("nobody") == []


def test_receipts_noted_before_the_mt_completes() -> None:
    store = Store()
    store.note_receipt("p1", "DELIVRD")
    record = mt("1643", "371", "p2")
    record.message_ids = ["p1", "p2"]
    store.add_mt(record)
    store.note_receipt("p2", "UNDELIV")
    assert record.receipts == {"p1": "DELIVRD", "p2": "UNDELIV"}


def test_config_file_handling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, note = load_config(tmp_path / "config.toml", explicit=False)
    assert config.port == 2775 and note and "not found" in note
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "config.toml", explicit=True)
    path = tmp_path / "x.toml"
    path.write_text(
        "[smpp]\nport = 1\n[simulator]\nport = 2776\nmo_message_id_tag = 0x1400\n"
        '[[simulator.receipts]]\npattern = "37129*"\nstatus = "EXPIRED"\n'
    )
    monkeypatch.setenv("SMSC_SIM_PASSWORD", "fromenv")
    config, note = load_config(path, explicit=True)
    assert (config.port, config.mo_message_id_tag, config.password, note) == (2776, 0x1400, "fromenv", None)
    assert config.receipts[0].status == "EXPIRED"
    path.write_text("[simulator]\nreceipts = [{pattern = '*', status = 'LOST'}]\n")
    with pytest.raises(ConfigError, match=r"\[simulator\] receipts.0.status: must be one of"):
        load_config(path, explicit=True)
