"""Basics docs/security.md relies on: bound SQL parameters, money in Decimal, loopback by default."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from sqlalchemy import func, select

from smsgw.db import schema

from .conftest import Harness

CONFIG_TOML = Path(__file__).resolve().parents[2] / "config.toml"
HOSTILE = "'; DROP TABLE subscribers; --"


async def test_sql_in_a_message_or_a_number_is_stored_as_text_never_run(harness: Harness) -> None:
    before = await harness.db.read(lambda uow: uow.sql.value(select(func.count()).select_from(schema.subscribers)))
    result = await harness.mo("37120000001", HOSTILE)
    assert result.outcome.startswith("not_understood")
    await harness.mo("1' OR '1'='1", "S", destination="1643")
    assert await harness.service.check_password("37120000001' OR '1'='1", "x' OR '1'='1") is False
    texts = await harness.db.read(
        lambda uow: uow.sql.rows(select(schema.mo_messages.c.source, schema.mo_messages.c.text))
    )
    assert {(row.source, row.text) for row in texts} >= {("37120000001", HOSTILE), ("1' OR '1'='1", "S")}
    after = await harness.db.read(lambda uow: uow.sql.value(select(func.count()).select_from(schema.subscribers)))
    assert after == before


async def test_money_is_decimal_so_amounts_that_float_would_round_up_fit_the_cap_exactly(harness: Harness) -> None:
    # 1.58 + 19.76 == 21.34 (the daily cap); in binary floating point it is 21.340000000000003.
    assert 1.58 + 19.76 > 21.34
    first = await harness.mo("37120000001", "V 29000001 1.58", smsc_ref="a")
    second = await harness.mo("37120000001", "V 29000001 19,76", smsc_ref="b")
    third = await harness.mo("37120000001", "V 29000001 1.42", smsc_ref="c")
    assert [r.outcome for r in (first, second, third)] == ["topup_applied", "topup_applied", "daily_cap"]
    cents = await harness.db.read(lambda uow: uow.sql.rows(select(schema.topups.c.amount_cents)))
    assert sorted(row.amount_cents for row in cents) == [158, 1976]


def test_the_shipped_config_listens_and_connects_on_loopback_only() -> None:
    text = CONFIG_TOML.read_text(encoding="utf-8")
    config = tomllib.loads(text)
    hosts = [config[table]["host"] for table in ("smpp", "http", "simulator") if "host" in config.get(table, {})]
    hosts += re.findall(r'^#\s*(?:http_)?host\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)  # documented defaults
    assert hosts and set(hosts) <= {"127.0.0.1", "localhost", "::1"}, hosts
