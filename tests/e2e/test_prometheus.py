"""A real Prometheus scraping a running gateway, and every metric it alerts or graphs on moving when it should.

Prometheus (Debian's package; scripts/test installs it when missing) runs on
loopback in the test's folder with its own storage, scraping ``smsgw run`` every
second and evaluating the shipped alert rules; the test reads the series back
through Prometheus's HTTP API while it drives the gateway through the simulator:
a top-up, a long MO, an MO to a phone number, a monthly request, throttling, a
database held locked, an SMSC that stops answering, an SMSC that goes away and
comes back refusing the password, then accepting it again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_prometheus_rules import RULES, queried_metrics

from .harness import Stack, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but prometheus is not installed (apt-get install prometheus)")
        pytest.skip("prometheus not installed (apt-get install prometheus); set CI=true to require it")
    return found


class Prometheus:
    """One Prometheus server on 127.0.0.1, its storage and configuration in *folder*."""

    def __init__(self, binary: str, folder: Path, target_port: int) -> None:
        folder.mkdir()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {RULES}\n"
            "scrape_configs:\n  - job_name: smsgw\n    static_configs:\n"
            f'      - targets: ["127.0.0.1:{target_port}"]\n',
            encoding="utf-8",
        )
        self.log = folder / "prometheus.log"
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
        self.wait_until(self._ready, 30, "Prometheus ready")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.base}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def values(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """The instant vector of *expr*: (labels, value) per series."""
        return [(r["metric"], float(r["value"][1])) for r in self.api("query", query=expr)["result"]]

    def value(self, expr: str) -> float | None:
        found = self.values(expr)
        return sum(v for _, v in found) if found else None

    @staticmethod
    def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(0.25)
        raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Moves:
    """Waits for series to reach values and remembers which metric families were seen moving."""

    def __init__(self, prometheus: Prometheus) -> None:
        self.prometheus = prometheus
        self.seen: set[str] = set()

    def until(self, metric: str, expr: str, check: Callable[[float], bool], timeout: float = 20.0) -> float:
        """Wait until *expr* has a value passing *check*; *metric* counts as seen moving."""

        def reached() -> tuple[float] | None:
            value = self.prometheus.value(expr)
            return (value,) if value is not None and check(value) else None

        (value,) = self.prometheus.wait_until(reached, timeout, expr)
        self.seen.add(metric)
        return float(value)


def _family(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(
        tmp_path,
        smpp={"submit_timeout": 6.0, "reply_validity": 20.0, "reconnect_min": 0.2, "reconnect_max": 1.0},
    )
    try:
        s.start_all()
        yield s
    finally:
        s.stop()


def test_prometheus_scrapes_the_gateway_and_every_queried_metric_moves(
    prometheus_binary: str, stack: Stack, tmp_path: Path
) -> None:
    prometheus = Prometheus(prometheus_binary, tmp_path / "prometheus", stack.ops_port)
    try:
        _drive(stack, prometheus)
    finally:
        prometheus.stop()


def _drive(stack: Stack, prometheus: Prometheus) -> None:
    m = Moves(prometheus)
    m.until("up", 'up{job="smsgw"}', lambda v: v == 1)
    m.until("smsgw_bound", "smsgw_bound", lambda v: v == 1)
    m.until("smsgw_binds_total", "smsgw_binds_total", lambda v: v == 1)
    assert m.until("smsgw_mo_window", "smsgw_mo_window", lambda v: v > 0) == 256
    assert m.until("smsgw_submit_window", "smsgw_submit_window", lambda v: v > 0) == 10
    groups = prometheus.api("rules")["groups"]
    alerts = RULES.read_text(encoding="utf-8").count("- alert: ")
    assert [g["name"] for g in groups] == ["smsgw"] and len(groups[0]["rules"]) == alerts
    prometheus.wait_until(
        lambda: all(r["health"] == "ok" for r in prometheus.api("rules")["groups"][0]["rules"]), 10, "rules healthy"
    )

    # A one-off top-up: the MO, its latency, two replies submitted, accepted and delivered.
    stack.converse("37120000001", "V 29000001 5")
    m.until("smsgw_mo_total", 'smsgw_mo_total{short_code="1643",command="TopUp",outcome="topup_applied"}', _one)
    m.until("smsgw_mo_commit_seconds", "smsgw_mo_commit_seconds_count", _some)
    m.until("smsgw_mo_reply_accepted_seconds", "smsgw_mo_reply_accepted_seconds_count", _some)
    m.until("smsgw_mt_total", 'smsgw_mt_total{state="submitted"}', lambda v: v >= 2)
    m.until("smsgw_submits_total", "smsgw_submits_total", lambda v: v >= 2)
    m.until("smsgw_submit_responses_total", 'smsgw_submit_responses_total{status="ESME_ROK"}', lambda v: v >= 2)
    m.until("smsgw_receipts_total", 'smsgw_receipts_total{stat="DELIVRD"}', lambda v: v >= 2)

    # A long MO (two parts), and an MO to a phone number: no series of its own.
    stack.send("37120000001", "HELP " + "lūdzu " * 30)
    m.until("smsgw_mo_parts_total", "smsgw_mo_parts_total", lambda v: v >= 2)
    stack.send("37120000001", "S", destination="37129000009")
    m.until("smsgw_mo_total", 'smsgw_mo_total{short_code="other"}', _one)
    assert prometheus.values('smsgw_mo_total{short_code!~"1640|1643|other"}') == []

    # A monthly request waits for JA, then does not.
    stack.converse("37120000002", "M 29000002 4.13")
    m.until("smsgw_pending_confirmations", "smsgw_pending_confirmations", _one)
    stack.converse("37120000002", "JA")
    m.until("smsgw_pending_confirmations", "smsgw_pending_confirmations", lambda v: v == 0)

    # Throttling: one ESME_RTHROTTLED, then the reply goes.
    stack.fault("throttle", count=1)
    stack.converse("37120000001", "S")
    m.until("smsgw_throttled_total", "smsgw_throttled_total", _one)
    m.until("smsgw_submit_responses_total", 'smsgw_submit_responses_total{status="ESME_RTHROTTLED"}', _one)

    # The database held locked: the MO stays in flight until it is released.
    lock = sqlite3.connect(stack.db_path, timeout=10, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        stack.send("37120000001", "S?")
        m.until("smsgw_mo_in_flight", "smsgw_mo_in_flight", lambda v: v >= 1, timeout=8)
    finally:
        lock.close()
    m.until("smsgw_mo_in_flight", "smsgw_mo_in_flight", lambda v: v == 0)

    # An SMSC that takes submits and never answers: outstanding, resubmitted, expired.
    stack.fault("withhold", seconds=40)
    stack.send("37120000001", "V?")
    m.until("smsgw_submits_outstanding", "smsgw_submits_outstanding", lambda v: v >= 1)
    m.until("smsgw_resubmits_total", "smsgw_resubmits_total", _some)
    m.until("smsgw_mt_total", 'smsgw_mt_total{state="expired"}', _one, timeout=40)
    _wait_alert(prometheus, "SmsgwRepliesExpired")
    stack.clear_faults()
    m.until("smsgw_submits_outstanding", "smsgw_submits_outstanding", lambda v: v == 0)

    # The SMSC goes away and comes back refusing our password; a reply queues meanwhile.
    stack.restart_simulator(env={"SMSC_SIM_PASSWORD": "wrong123"})
    m.until("smsgw_link_lost_total", "smsgw_link_lost_total", _some)
    m.until("smsgw_bind_refused_total", 'smsgw_bind_refused_total{status="ESME_RINVPASWD"}', _some)
    m.until("smsgw_bound", "smsgw_bound", lambda v: v == 0)
    _wait_alert(prometheus, "SmsgwBindRefused")
    stack.smsgw("mo", "37120000001", "1643", "S")
    m.until("smsgw_outbox_depth", 'smsgw_outbox_depth{state="queued"}', lambda v: v >= 1)

    # The password accepted again: bound, and the queue drains.
    stack.restart_simulator()
    m.until("smsgw_binds_total", "smsgw_binds_total", lambda v: v >= 2)
    m.until("smsgw_bound", "smsgw_bound", _one)
    m.until("smsgw_outbox_depth", 'smsgw_outbox_depth{state="queued"}', lambda v: v == 0)

    queried = {_family(name) for name in queried_metrics()}
    assert "smsgw_mo_parts_total" in queried
    assert queried - m.seen == set()


def _one(value: float) -> bool:
    return value == 1


def _some(value: float) -> bool:
    return value >= 1


def _wait_alert(prometheus: Prometheus, name: str) -> None:
    def active() -> bool:
        return any(a["labels"]["alertname"] == name for a in prometheus.api("alerts")["alerts"])

    prometheus.wait_until(active, 10, f"alert {name}")
