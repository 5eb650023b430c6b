"""The operations endpoints and the metrics behind them (no SMSC, no database)."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp

from smsgw.ops.http import OpsServer
from smsgw.ops.metrics import Metrics
from smsgw.ops.observer import Observer


async def test_healthz_follows_the_bind_and_metrics_are_prometheus_text() -> None:
    metrics = Metrics()
    bound = {"now": False}
    server = OpsServer(metrics, bound=lambda: bound["now"], host="127.0.0.1", port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{server.port}"
            async with session.get(base + "/healthz") as response:
                assert response.status == 503
            bound["now"] = True
            async with session.get(base + "/healthz") as response:
                assert response.status == 200 and (await response.json())["status"] == "ok"
            metrics.mo.labels("1643", "TopUp", "topup_applied").inc()
            async with session.get(base + "/metrics") as response:
                assert response.status == 200 and response.content_type == "text/plain"
                body = await response.text()
    finally:
        await server.stop()
    assert 'smsgw_mo_total{command="TopUp",outcome="topup_applied",short_code="1643"} 1.0' in body
    assert "# TYPE smsgw_mo_commit_seconds histogram" in body


def test_observer_turns_events_into_metrics() -> None:
    metrics = Metrics()
    observer = Observer(metrics)
    result = SimpleNamespace(
        source="1643", command="TopUp", outcome="topup_applied", replies=(1, 2), redelivery=False, mo_id="abc"
    )
    observer("bound", 1)
    observer("mo", (result, 0.004))
    observer("reply_accepted", SimpleNamespace(mo_id="abc"))
    observer("reply_accepted", SimpleNamespace(mo_id="abc"))  # the second reply: latency counted once
    observer("link_lost", None)
    registry = metrics.registry
    assert registry.get_sample_value("smsgw_binds_total") == 1
    assert registry.get_sample_value("smsgw_bound") == 0
    assert (
        registry.get_sample_value(
            "smsgw_mo_total", {"short_code": "1643", "command": "TopUp", "outcome": "topup_applied"}
        )
        == 1
    )
    assert registry.get_sample_value("smsgw_mo_reply_accepted_seconds_count") == 1
    assert registry.get_sample_value("smsgw_mt_total", {"state": "submitted"}) == 2


def test_the_short_code_label_takes_only_configured_short_codes() -> None:
    metrics = Metrics()
    observer = Observer(metrics)
    for destination in ("1643", "1640", "37129000009", "", "16430"):
        result = SimpleNamespace(
            source=destination, command=None, outcome="ignored", replies=(), redelivery=False, mo_id="x"
        )
        observer("mo", (result, 0.001))
    labels = {
        sample.labels["short_code"]
        for family in metrics.registry.collect()
        if family.name == "smsgw_mo"
        for sample in family.samples
    }
    assert labels == {"1640", "1643", "other"}
    assert "37129000009" not in metrics.render().decode()


def test_stored_parts_of_long_mos_are_counted() -> None:
    metrics = Metrics()
    observer = Observer(metrics)
    observer("mo_part", 1)
    observer("mo_part", 1)
    assert metrics.registry.get_sample_value("smsgw_mo_parts_total") == 2


def test_startup_warnings_name_the_demo_password_and_smtp_without_tls() -> None:
    from smsgw.config import Config, EmailConfig, SmppConfig
    from smsgw.ops.startup_checks import startup_warnings

    demo = Config(smpp=SmppConfig(system_id="smsgw", password="demo1234"))
    assert [w.event for w in startup_warnings(demo)] == ["demo_credentials_in_use"]
    assert startup_warnings(demo, demo=True) == []  # smsgw demo: its own simulator
    production = Config(smpp=SmppConfig(system_id="lmt", password="Xy7!pq2z"))
    assert startup_warnings(production) == []
    plain = EmailConfig(enabled=True, username="gw", password="pw", starttls=False)
    warned = startup_warnings(Config(smpp=production.smpp, email=plain))
    assert [w.event for w in warned] == ["smtp_credentials_without_starttls"]
    assert all("Xy7!pq2z" not in w.hint and "pw" not in w.hint.split() for w in warned)
