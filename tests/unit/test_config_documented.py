"""The shipped config.toml documents every key the gateway reads (set, or commented out with its default)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from simulator.config import SimulatorConfig
from smsgw.config import Config

CONFIG_TOML = Path(__file__).resolve().parents[2] / "config.toml"


def _documented() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    table = ""
    for line in CONFIG_TOML.read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\s*#?\s*\[([a-z_]+)\]\s*$", line)
        if header:
            table = header.group(1)
            continue
        key = re.match(r"^\s*#?\s*([a-z_]+)\s*=", line)
        if key and table:
            tables.setdefault(table, set()).add(key.group(1))
    return tables


def test_every_gateway_key_is_in_config_toml() -> None:
    documented = _documented()
    missing = []
    for table, field in Config.model_fields.items():
        section = field.annotation
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            continue  # [simulator] is the simulator's; path is not a key
        for key in section.model_fields:
            if key not in documented.get(table, set()):
                missing.append(f"[{table}] {key}")
    assert missing == []


def test_every_simulator_key_is_in_config_toml() -> None:
    documented = _documented().get("simulator", set())
    if "[[simulator.receipts]]" in CONFIG_TOML.read_text(encoding="utf-8"):
        documented.add("receipts")  # an array of tables, shown with its own header
    assert [key for key in SimulatorConfig.model_fields if key not in documented] == []
